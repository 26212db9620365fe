"""Deadline SearchJobs filter and sort expressions, evaluated over job search summaries.

Field names may be given as the API documents them (``TASK_RUN_STATUS``) or as the summary's member
names (``taskRunStatus``). Strings compare as text, date-times as instants.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from watcher.simulator.errors import SimError

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "EQUAL": operator.eq,
    "NOT_EQUAL": operator.ne,
    "GREATER_THAN_EQUAL_TO": operator.ge,
    "GREATER_THAN": operator.gt,
    "LESS_THAN_EQUAL_TO": operator.le,
    "LESS_THAN": operator.lt,
}


def field_name(name: str) -> str:
    """``TASK_RUN_STATUS`` -> ``taskRunStatus``; names already in camel case are kept."""
    if not name.isupper():
        return name
    head, *rest = name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


def _instant(value: Any) -> datetime | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "ANY_EQUALS":
        return left in right
    if op == "ALL_NOT_EQUALS":
        return left not in right
    if left is None:
        return op == "NOT_EQUAL"
    try:
        return _COMPARE[op](left, right)
    except KeyError:
        raise SimError("validation", f"Unsupported operator {op!r}", field="operator") from None
    except TypeError:
        return False


def _one(summary: Mapping[str, Any], expression: Mapping[str, Any]) -> bool:
    if "groupFilter" in expression:
        return matches(summary, expression["groupFilter"])
    if "searchTermFilter" in expression:
        term = str(expression["searchTermFilter"].get("searchTerm", "")).lower()
        return term in str(summary.get("name", "")).lower()
    if "stringFilter" in expression:
        f = expression["stringFilter"]
        return _compare(f["operator"], summary.get(field_name(f["name"])), f["value"])
    if "stringListFilter" in expression:
        f = expression["stringListFilter"]
        value = summary.get(field_name(f["name"]))
        if f["operator"] in ("EQUAL", "ANY_EQUALS"):
            return value in f["values"]
        return value not in f["values"]
    if "dateTimeFilter" in expression:
        f = expression["dateTimeFilter"]
        left, right = _instant(summary.get(field_name(f["name"]))), _instant(f["dateTime"])
        return _compare(f["operator"], left, right)
    if "parameterFilter" in expression:
        f = expression["parameterFilter"]
        parameter = (summary.get("jobParameters") or {}).get(f["name"]) or {}
        values = [v for v in parameter.values() if isinstance(v, str)] if isinstance(parameter, dict) else []
        return _compare(f["operator"], values[0] if values else None, f["value"])
    raise SimError("validation", "Each filter must set exactly one filter type", field="filters")


def check(expressions: Mapping[str, Any] | None) -> None:
    """Refuse operators the API does not have, before (and whether or not) any job is compared."""
    for expression in (expressions or {}).get("filters", []):
        if "groupFilter" in expression:
            check(expression["groupFilter"])
            continue
        for spec in expression.values():
            op = spec.get("operator") if isinstance(spec, Mapping) else None
            if op is not None and op not in _COMPARE and op not in ("ANY_EQUALS", "ALL_NOT_EQUALS"):
                raise SimError("validation", f"Unsupported operator {op!r}", field="operator")


def matches(summary: Mapping[str, Any], expressions: Mapping[str, Any] | None) -> bool:
    """Whether a summary passes a ``filterExpressions`` group (AND/OR over its filters)."""
    if not expressions:
        return True
    results = (_one(summary, e) for e in expressions.get("filters", []))
    return all(results) if expressions.get("operator") == "AND" else any(results)


def sort(summaries: list[dict[str, Any]], expressions: list[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Apply ``fieldSort`` expressions (last one least significant); others keep creation order."""
    ordered = list(summaries)
    for expression in reversed(expressions or []):
        spec = expression.get("fieldSort")
        if not spec:
            continue
        name = field_name(spec["name"])
        ordered.sort(
            key=lambda s: (s.get(name) is None, str(s.get(name, ""))), reverse=spec.get("sortOrder") == "DESCENDING"
        )
    return ordered
