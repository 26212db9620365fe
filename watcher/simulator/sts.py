"""STS ``AssumeRole`` (query protocol, XML answers): enough for jobwatch's ``aws.role_arn`` to be tested.

Every call hands out fresh temporary keys (``ASIA...``) that expire after ``DurationSeconds``; the
other simulated services accept any keys, and the stats record which keys signed what.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from aiohttp import web

_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
_ROLE = "arn:aws:iam::"


def error(code: str, message: str, status: int = 400) -> web.Response:
    body = (
        f'<ErrorResponse xmlns="{_NS}"><Error><Type>Sender</Type><Code>{escape(code)}</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>{secrets.token_hex(16)}</RequestId>"
        "</ErrorResponse>"
    )
    return web.Response(status=status, body=body.encode(), content_type="text/xml")


def assume_role(body: bytes, now: float) -> web.Response:
    """Answer one AssumeRole call (any other STS action is refused as botocore would see it)."""
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    if form.get("Action") != "AssumeRole":
        return error("InvalidAction", f"Could not find operation {form.get('Action')!r} for version 2011-06-15")
    role, session = form.get("RoleArn", ""), form.get("RoleSessionName", "")
    if not role.startswith(_ROLE) or ":role/" not in role:
        return error("ValidationError", "1 validation error detected: Value at 'roleArn' failed to satisfy constraint")
    if not session:
        return error("ValidationError", "1 validation error detected: Value at 'roleSessionName' must not be null")
    try:
        duration = int(form.get("DurationSeconds", "3600"))
    except ValueError:
        return error("ValidationError", "DurationSeconds must be a number")
    if not 900 <= duration <= 43200:
        return error("ValidationError", "DurationSeconds must be between 900 and 43200")
    expires = datetime.fromtimestamp(now, UTC) + timedelta(seconds=duration)
    account = role[len(_ROLE) :].split(":", 1)[0]
    role_name = role.rsplit("/", 1)[-1]
    key = "ASIA" + secrets.token_hex(8).upper()
    body_xml = (
        f'<AssumeRoleResponse xmlns="{_NS}"><AssumeRoleResult>'
        f"<Credentials><AccessKeyId>{key}</AccessKeyId><SecretAccessKey>{secrets.token_urlsafe(30)}"
        f"</SecretAccessKey><SessionToken>{secrets.token_urlsafe(60)}</SessionToken>"
        f"<Expiration>{expires.strftime('%Y-%m-%dT%H:%M:%SZ')}</Expiration></Credentials>"
        f"<AssumedRoleUser><AssumedRoleId>AROA{secrets.token_hex(8).upper()}:{escape(session)}</AssumedRoleId>"
        f"<Arn>arn:aws:sts::{escape(account)}:assumed-role/{escape(role_name)}/{escape(session)}</Arn>"
        "</AssumedRoleUser></AssumeRoleResult>"
        f"<ResponseMetadata><RequestId>{secrets.token_hex(16)}</RequestId></ResponseMetadata></AssumeRoleResponse>"
    )
    return web.Response(body=body_xml.encode(), content_type="text/xml")
