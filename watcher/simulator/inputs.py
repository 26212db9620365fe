"""Read and check a request's input the way the service would, driven by botocore's input shapes.

Each member is taken from where the model says it travels (URI label, query string, JSON body), then
checked with botocore's own ParamValidator (required members, types, minimums) plus the maximums and
patterns of top-level members, which botocore does not check. Any problem is the service's validation error.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any
from urllib.parse import unquote

from botocore.model import OperationModel, Shape
from botocore.validate import ParamValidator
from multidict import MultiMapping

from watcher.simulator.errors import SimError

_validator = ParamValidator()


def _bad(message: str, field: str | None = None, cannot_parse: bool = False) -> SimError:
    return SimError("validation", message, field=field, cannot_parse=cannot_parse)


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise _bad(f"Request body is not valid JSON: {exc}", cannot_parse=True) from None
    if not isinstance(data, dict):
        raise _bad("Request body must be a JSON object", cannot_parse=True)
    return data


def _from_query(name: str, shape: Shape, raw: str) -> Any:
    if shape.type_name in ("integer", "long"):
        try:
            return int(raw)
        except ValueError:
            raise _bad(f"{name} must be an integer, got {raw!r}", field=name) from None
    if shape.type_name == "boolean":
        if raw not in ("true", "false"):
            raise _bad(f"{name} must be true or false, got {raw!r}", field=name)
        return raw == "true"
    return raw


def parse_rest(op: OperationModel, labels: dict[str, str], query: MultiMapping[str], body: bytes) -> dict[str, Any]:
    """The input of a rest-json call: URI labels (raw, still percent-encoded), query string and body."""
    params: dict[str, Any] = {}
    body_members = False
    for name, shape in op.input_shape.members.items():
        location = shape.serialization.get("location")
        wire_name = shape.serialization.get("name", name)
        if location == "uri":
            if wire_name in labels:
                params[name] = unquote(labels[wire_name])
        elif location == "querystring":
            if shape.type_name == "list":
                values = query.getall(wire_name, [])
                if values:
                    params[name] = [_from_query(name, shape.member, v) for v in values]
            elif wire_name in query:
                params[name] = _from_query(name, shape, query[wire_name])
        elif location is None:
            body_members = True
    if body_members:
        data = _json_object(body)
        for name, shape in op.input_shape.members.items():
            if shape.serialization.get("location") is None and name in data:
                params[name] = data[name]
    check(op, params)
    return params


def parse_json(op: OperationModel, body: bytes) -> dict[str, Any]:
    """The input of a json-protocol call: the known members of the JSON body."""
    data = _json_object(body)
    params = {name: data[name] for name in op.input_shape.members if name in data}
    check(op, params)
    return params


@cache
def _pattern(text: str) -> re.Pattern[str] | None:
    try:
        return re.compile(text)
    except re.error:  # Java-only syntax such as \p{Upper}: leave it to the service
        return None


def check(op: OperationModel, params: dict[str, Any]) -> None:
    """Raise the validation error when ``params`` break the operation's input shape."""
    report = _validator.validate(params, op.input_shape)
    if report.has_errors():
        raise _bad(report.generate_report().replace("\n", "; "))
    for name, shape in op.input_shape.members.items():
        value = params.get(name)
        if value is None:
            continue
        limit = shape.metadata.get("max")
        if isinstance(value, str):
            if limit is not None and len(value) > limit:
                raise _bad(f"{name} must be at most {limit} characters long", field=name)
            pattern = shape.metadata.get("pattern")
            compiled = _pattern(pattern) if pattern else None
            if compiled is not None and not compiled.fullmatch(value):
                raise _bad(f"{name} {value!r} does not match the pattern {pattern}", field=name)
        elif isinstance(value, int) and limit is not None and value > limit:
            raise _bad(f"{name} must be at most {limit}, got {value}", field=name)
