"""Errors as each service sends them: code, HTTP status and body shape per protocol.

The codes and statuses come from botocore's models (tests check each one against the operation's
modelled errors). Device Farm models no status codes; the json protocol answers client errors with 400.
A 5xx without a JSON body (empty or an HTML page, as a load balancer sends) reaches botocore as code "503".
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from watcher.simulator import wire

# kind -> (code, HTTP status), per service.
ERROR_CODES: dict[str, dict[str, tuple[str, int]]] = {
    "devicefarm": {
        "validation": ("ArgumentException", 400),
        "not_found": ("NotFoundException", 400),
        "throttle": ("LimitExceededException", 400),
        "server": ("InternalServiceException", 500),
        "unknown_operation": ("UnknownOperationException", 400),
    },
    "deadline": {
        "validation": ("ValidationException", 400),
        "not_found": ("ResourceNotFoundException", 404),
        "throttle": ("ThrottlingException", 429),
        "server": ("InternalServerErrorException", 500),
        "unknown_operation": ("UnknownOperationException", 404),
    },
    "amplify": {
        "validation": ("BadRequestException", 400),
        "not_found": ("NotFoundException", 404),
        "throttle": ("LimitExceededException", 429),
        "server": ("InternalFailureException", 500),
        "unknown_operation": ("UnknownOperationException", 404),
    },
    "iot": {
        "validation": ("InvalidRequestException", 400),
        "not_found": ("ResourceNotFoundException", 404),
        "throttle": ("ThrottlingException", 400),
        "server": ("ServiceUnavailableException", 503),
        "unknown_operation": ("UnknownOperationException", 404),
    },
    "braket": {
        "validation": ("ValidationException", 400),
        "not_found": ("ResourceNotFoundException", 404),
        "throttle": ("ThrottlingException", 429),
        "server": ("InternalServiceException", 500),
        "unknown_operation": ("UnknownOperationException", 404),
    },
}

_PROTOCOLS = {"devicefarm": "json"}
_JSON_NAMESPACE = "com.amazonaws.devicefarm"
_HTML_503 = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
)


class SimError(Exception):
    """A service error to send: ``kind`` is a key of :data:`ERROR_CODES`; ``extra`` joins the body.

    For validation errors ``field`` names the bad member and ``cannot_parse`` says the body was not
    JSON; Deadline reports both (``reason``, ``fieldList``), the other services only the message.
    """

    def __init__(
        self, kind: str, message: str, *, field: str | None = None, cannot_parse: bool = False, **extra: Any
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field
        self.cannot_parse = cannot_parse
        self.extra = extra


def protocol_of(service: str) -> str:
    """The wire protocol of a simulated service: "json" (Device Farm) or "rest-json"."""
    return _PROTOCOLS.get(service, "rest-json")


def error_response(service: str, error: SimError) -> web.Response:
    """The service's answer for ``error``, shaped for its protocol."""
    kind = error.kind
    code, status = ERROR_CODES[service][kind]
    headers = {"x-amzn-RequestId": wire.request_id()}
    body: dict[str, Any] = dict(error.extra)
    body["message"] = error.message
    if kind == "validation" and service == "deadline":
        # Deadline's ValidationException requires a reason (an enum in its model).
        body["reason"] = "CANNOT_PARSE" if error.cannot_parse else "FIELD_VALIDATION_FAILED"
        if error.field:
            body["fieldList"] = [{"name": error.field, "message": error.message}]
    if protocol_of(service) == "json":
        body["__type"] = f"{_JSON_NAMESPACE}#{code}"
        headers["Content-Type"] = wire.JSON_11
    else:
        # botocore reads the rest-json code from this header, up to the first colon.
        headers["x-amzn-ErrorType"] = f"{code}:http://internal.amazon.com/coral/com.amazon.coral.service/"
        headers["Content-Type"] = wire.REST_JSON
        if kind == "throttle" and service == "deadline":
            headers["Retry-After"] = "1"
    return web.Response(body=wire.dumps(body), status=status, headers=headers)


def unavailable_response(html: bool) -> web.Response:
    """A bare 503 as a front end sends it: an HTML page or an empty body, no error code."""
    if html:
        return web.Response(body=_HTML_503, status=503, headers={"Content-Type": "text/html"})
    return web.Response(body=b"", status=503)
