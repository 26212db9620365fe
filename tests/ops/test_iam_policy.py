"""config/iam-policy.json: exactly the read and discovery calls the adapters make, nothing broader.

The actions are derived from the adapters (their read operation and discovery operation) and botocore's
service models (the API name of each Python method and the service's signing name, which is the IAM prefix).
"""

from __future__ import annotations

import json
from pathlib import Path

import botocore.session
from botocore import xform_name

from watcher.model import SERVICES
from watcher.services import adapter_for

POLICY = Path(__file__).resolve().parents[2] / "config" / "iam-policy.json"


def needed_actions() -> set[str]:
    """``prefix:Operation`` for every call jobwatch makes to AWS."""
    session = botocore.session.get_session()
    actions = set()
    for service in SERVICES:
        adapter = adapter_for(service)
        model = session.get_service_model(service)
        api_names = {xform_name(name): name for name in model.operation_names}
        operations = [adapter.operation]
        if adapter.discovery is not None:
            operations.append(adapter.discovery.operation)
        for operation in operations:
            assert operation in api_names, f"{service} has no operation {operation}"
            actions.add(f"{model.signing_name}:{api_names[operation]}")
    return actions


def _statements() -> list[dict[str, object]]:
    policy = json.loads(POLICY.read_text())
    assert policy["Version"] == "2012-10-17"
    statements = policy["Statement"]
    assert isinstance(statements, list) and statements
    return statements


def _actions(statement: dict[str, object]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)  # type: ignore[arg-type]


def test_the_derivation_knows_the_five_services_calls() -> None:
    # a sanity anchor for the derivation itself: the DESIGN's table of calls
    assert needed_actions() == {
        "devicefarm:GetJob",
        "devicefarm:ListJobs",
        "deadline:GetJob",
        "deadline:ListJobs",
        "amplify:GetJob",
        "amplify:ListJobs",
        "iot:DescribeJob",
        "iot:ListJobs",
        "braket:GetJob",
        "braket:SearchJobs",
    }


def test_policy_allows_every_call_jobwatch_makes_and_no_other() -> None:
    granted = {action for statement in _statements() for action in _actions(statement)}
    assert granted == needed_actions(), (
        f"missing: {sorted(needed_actions() - granted)}; not needed: {sorted(granted - needed_actions())}"
    )


def test_policy_has_no_wildcard_action_deny_tricks_or_write_access() -> None:
    for statement in _statements():
        assert statement["Effect"] == "Allow"
        assert not {"NotAction", "NotResource", "NotPrincipal", "Principal"} & set(statement)
        for action in _actions(statement):
            assert "*" not in action and "?" not in action, f"wildcard action {action}"
            verb = action.split(":", 1)[1]
            assert verb.startswith(("Get", "List", "Describe", "Search")), f"{action} is not read-only"
    sids = [statement.get("Sid") for statement in _statements()]
    assert len(sids) == len(set(sids))
