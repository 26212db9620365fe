"""Wire formats shared by the services: timestamps and successful responses per protocol.

botocore's models say how each timestamp travels: Deadline and Braket mark theirs ``iso8601``; Device
Farm (json), Amplify and IoT (rest-json) use the protocol default, epoch seconds as a number.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

JSON_11 = "application/x-amz-json-1.1"
REST_JSON = "application/json"


def epoch(at: float) -> float:
    """A timestamp in epoch seconds with millisecond precision (json / rest-json default)."""
    return round(at, 3)


def iso(at: float) -> str:
    """A timestamp in ISO 8601 UTC with milliseconds, as services marked ``iso8601`` send it."""
    moment = datetime.fromtimestamp(at, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def request_id() -> str:
    """A fresh request id (botocore reports it in ResponseMetadata)."""
    return str(uuid.uuid4())


def dumps(payload: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(payload, separators=(",", ":")).encode()


def ok(protocol: str, payload: Any) -> web.Response:
    """A 200 answer with the content type of ``protocol`` ("json" or "rest-json")."""
    content_type = JSON_11 if protocol == "json" else REST_JSON
    return web.Response(
        body=dumps(payload), status=200, headers={"Content-Type": content_type, "x-amzn-RequestId": request_id()}
    )
