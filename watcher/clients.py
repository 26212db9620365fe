"""AWS clients: one aiobotocore client per (service, region, profile, endpoint), made once, closed at exit.

Making a client costs tens of milliseconds and blocks the loop, so clients are made at start-up (or
the first time a new combination is needed) and shared by every poll. Errors are sorted here into
the few kinds the engine treats differently.
"""

from __future__ import annotations

import enum
import os
import platform
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import aiobotocore
import anyio
from aiobotocore.config import AioConfig
from aiobotocore.credentials import AioAssumeRoleCredentialFetcher, AioDeferredRefreshableCredentials
from aiobotocore.session import AioSession
from botocore.credentials import CredentialProvider
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from watcher import __version__

# botocore builds its structured User-Agent (SDK, OS, config and feature metadata) twice per request:
# 15 % of a poll's CPU in bench/floor.py. A fixed User-Agent is used as given, so it is built once here
# and still names jobwatch, the SDK and Python for AWS-side diagnostics (the session appends botocore/x.y).
USER_AGENT = f"jobwatch/{__version__} aiobotocore/{aiobotocore.__version__} Python/{platform.python_version()}"


@dataclass(frozen=True, slots=True)
class ClientKey:
    """What makes two jobs share a client."""

    service: str
    region: str | None
    profile: str | None
    endpoint_url: str | None


class Failure(enum.Enum):
    """How a failed call is handled."""

    THROTTLED = "throttled"  # slow the whole service down, retry this job later
    NOT_FOUND = "not_found"  # confirm once more, then report the job vanished
    DENIED = "denied"  # credentials or permissions: retry slowly, report an error
    INVALID = "invalid"  # the job's identity is wrong: retry slowly, report an error
    TRANSIENT = "transient"  # network, 5xx, timeouts: back off and retry


_THROTTLE = {
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "LimitExceededException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "ProvisionedThroughputExceededException",
}
_NOT_FOUND = {"ResourceNotFoundException", "NotFoundException", "NotFound", "NoSuchEntity"}
_DENIED = {
    "AccessDeniedException",
    "AccessDenied",
    "UnauthorizedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "ExpiredToken",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "UnauthorizedOperation",
    "IncompleteSignature",
    "MissingAuthenticationToken",
}
_INVALID = {
    "ValidationException",
    "BadRequestException",
    "InvalidRequestException",
    "ArgumentException",
    "InvalidParameterException",
    "InvalidParameterValueException",
}


def classify(exc: BaseException) -> tuple[Failure, str, str]:
    """(kind, code, message) of a failed call; the message is safe to log (no secrets)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        message = str(error.get("Message") or "")[:500]
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _THROTTLE or status == 429:
            return Failure.THROTTLED, code, message
        if code in _NOT_FOUND:
            return Failure.NOT_FOUND, code, message
        if code in _DENIED or status in (401, 403):
            return Failure.DENIED, code, message
        if code in _INVALID:
            return Failure.INVALID, code, message
        return Failure.TRANSIENT, code, message
    if isinstance(exc, ParamValidationError):
        return Failure.INVALID, "ParamValidationError", str(exc)[:500]
    if isinstance(exc, NoCredentialsError | NoRegionError):
        return Failure.DENIED, type(exc).__name__, str(exc)[:500]
    if isinstance(exc, TimeoutError):
        return Failure.TRANSIENT, "Timeout", "no answer within the request timeout"
    if isinstance(exc, BotoConnectionError | BotoCoreError | OSError):
        return Failure.TRANSIENT, type(exc).__name__, str(exc)[:500]
    return Failure.TRANSIENT, type(exc).__name__, str(exc)[:500]


class ClientPool:
    """Owns every aiobotocore client of the process. Use ``async with ClientPool(...) as pool``."""

    def __init__(
        self,
        *,
        region: str | None,
        profile: str | None,
        endpoint_url: str | None,
        max_attempts: int = 1,
        max_pool_connections: int = 32,
        timeout: float = 20.0,
        role_arn: str | None = None,
        external_id: str | None = None,
    ) -> None:
        self.region = region
        self.role_arn = role_arn
        self.external_id = external_id
        self.profile = profile
        self.endpoint_url = endpoint_url
        self.max_attempts = max_attempts
        self.max_pool_connections = max_pool_connections
        self.timeout = timeout
        self._stack = AsyncExitStack()
        self._clients: dict[ClientKey, Any] = {}
        self._sessions: dict[str | None, AioSession] = {}
        self._lock = anyio.Lock()

    async def __aenter__(self) -> ClientPool:
        await self._stack.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._clients.clear()
        await self._stack.aclose()

    async def client(self, key: ClientKey) -> Any:
        """The shared client for ``key``, made on first use."""
        client = self._clients.get(key)
        if client is not None:
            return client
        async with self._lock:
            client = self._clients.get(key)
            if client is None:
                session = await self._session(key)
                client = await self._stack.enter_async_context(self._create(session, key))
                self._clients[key] = client
        return client

    async def _session(self, key: ClientKey) -> AioSession:
        """One session per profile; with ``role_arn`` its credentials are the role's, refreshed before expiry."""
        session = self._sessions.get(key.profile)
        if session is None:
            session = AioSession(profile=key.profile)
            if self.role_arn:
                session.get_component("credential_provider").insert_before("env", self._role_provider(key))
            self._sessions[key.profile] = session
        return session

    def _role_provider(self, key: ClientKey) -> _AssumeRoleProvider:
        """Credentials of ``role_arn``, assumed with the profile's (or the default chain's) own credentials."""
        assert self.role_arn is not None
        source = AioSession(profile=key.profile)
        sts_endpoint = os.environ.get("AWS_ENDPOINT_URL_STS") or self.endpoint_url

        def sts_client(service: str, **kwargs: Any) -> Any:
            return source.create_client(service, region_name=key.region, endpoint_url=sts_endpoint, **kwargs)

        extra: dict[str, Any] = {"RoleSessionName": "jobwatch"}
        if self.external_id:
            extra["ExternalId"] = self.external_id
        return _AssumeRoleProvider(source, sts_client, self.role_arn, extra)

    def _create(self, session: AioSession, key: ClientKey) -> Any:
        env_endpoint = os.environ.get("AWS_ENDPOINT_URL") or os.environ.get(f"AWS_ENDPOINT_URL_{key.service.upper()}")
        config = AioConfig(
            retries={"mode": "standard", "total_max_attempts": self.max_attempts},
            max_pool_connections=self.max_pool_connections,
            connect_timeout=min(10.0, self.timeout),
            read_timeout=self.timeout,
            # With a custom endpoint the host prefix (Deadline's "management.") would break the address.
            inject_host_prefix=not (key.endpoint_url or env_endpoint),
            user_agent=USER_AGENT,
        )
        return session.create_client(key.service, region_name=key.region, endpoint_url=key.endpoint_url, config=config)


class _AssumeRoleProvider(CredentialProvider):  # type: ignore[misc]
    """First in the session's credential chain: the role's temporary credentials, refreshed by botocore."""

    METHOD = CANONICAL_NAME = "jobwatch-assume-role"

    def __init__(self, source: AioSession, sts_client: Any, role_arn: str, extra: dict[str, Any]) -> None:
        super().__init__()
        self.source, self.sts_client, self.role_arn, self.extra = source, sts_client, role_arn, extra

    async def load(self) -> AioDeferredRefreshableCredentials:
        source = await self.source.get_credentials()
        if source is None:
            raise NoCredentialsError()
        fetcher = AioAssumeRoleCredentialFetcher(
            client_creator=self.sts_client, source_credentials=source, role_arn=self.role_arn, extra_args=self.extra
        )
        return AioDeferredRefreshableCredentials(refresh_using=fetcher.fetch_credentials, method=self.METHOD)
