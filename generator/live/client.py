"""boto3 plumbing shared by ``doctor`` and ``discover``.

* One :class:`boto3.Session` with the normal credential chain (``--profile``), one client
  per service, created up front (clients are thread-safe; sessions are not).
* Throttling and transient errors are retried by botocore's own ``standard`` retry mode
  (exponential backoff with jitter, https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html);
  ``max_attempts`` and the timeouts are bounded and configurable.
* Every call is counted by operation with a botocore ``before-call`` event hook, which is
  what ``bench/live.py`` reports and what the tests assert on.
* Errors are sorted into what the commands need: :class:`Denied` (the caller lacks an
  action; the check becomes ``unknown`` and names it), :class:`NotFound`,
  :class:`Unreachable` (AWS could not be reached or would not take the credentials at
  all: exit 3), and :class:`ApiError` for anything else.
* :class:`Memo` makes sure no function, role, policy, key or VPC is fetched twice, even
  when two threads ask for it at the same moment.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

# IAM action prefix of each boto3 service name (they differ for a few services only).
_PREFIX = {"lambda": "lambda", "secretsmanager": "secretsmanager", "kms": "kms", "iam": "iam", "ec2": "ec2",
           "rds": "rds", "redshift": "redshift", "sts": "sts"}  # fmt: skip

DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "AuthorizationErrorException",
        "Forbidden",
        "ForbiddenException",
    }
)
# The credentials themselves are refused: nothing will work, so this is "unreachable".
CREDENTIAL_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "IncompleteSignature",
        "AuthFailure",
        "MissingAuthenticationToken",
    }
)
NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "NoSuchEntity",
        "NotFoundException",
        "NotFound",
        "DBInstanceNotFound",
        "DBClusterNotFoundFault",
        "ClusterNotFound",
    }
)


class LiveError(Exception):
    pass


class Unreachable(LiveError):
    """AWS could not be reached at all, or refused the credentials (exit 3)."""


class Denied(LiveError):
    """The caller may not take ``action``; the check that needed it is ``unknown``."""

    def __init__(self, action: str, detail: str = ""):
        super().__init__(f"access denied to {action}" + (f": {detail}" if detail else ""))
        self.action = action


class NotFound(LiveError):
    def __init__(self, action: str, detail: str = ""):
        super().__init__(detail or f"{action}: not found")
        self.action = action


class ApiError(LiveError):
    def __init__(self, action: str, code: str, detail: str = ""):
        super().__init__(f"{action} failed: {code}" + (f" ({detail})" if detail else ""))
        self.action = action
        self.code = code


def _is_not_found(code: str) -> bool:
    return code in NOT_FOUND_CODES or code.endswith(".NotFound") or code.endswith("NotFound")


class Aws:
    """Clients for one account and region, with call counting and bounded concurrency."""

    def __init__(
        self,
        *,
        region: str,
        profile: str | None = None,
        endpoint_url: str | None = None,
        max_attempts: int = 5,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        workers: int = 8,
        services: Iterable[str] = ("sts", "lambda", "secretsmanager", "kms", "iam", "ec2", "rds", "redshift"),
    ):
        import boto3
        import botocore.config
        import botocore.exceptions

        self.region = region
        self.workers = workers
        self.calls: Counter[str] = Counter()
        self.attempts = 0
        self._lock = threading.Lock()
        try:
            session = boto3.Session(profile_name=profile, region_name=region)
        except botocore.exceptions.ProfileNotFound as exc:
            raise Unreachable(str(exc)) from None
        session.events.register("before-call", self._count)
        session.events.register("before-send", self._count_attempt)
        config = botocore.config.Config(
            retries={"mode": "standard", "total_max_attempts": max_attempts},  # attempts, the first included
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max(10, workers * 2),
            user_agent_extra="rotation-tf",
        )
        self._clients: dict[str, Any] = {}
        try:
            for name in services:
                self._clients[name] = session.client(name, region_name=region, endpoint_url=endpoint_url, config=config)
        except ValueError as exc:  # botocore: "Invalid endpoint: ..."
            raise Unreachable(f"{exc}") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise Unreachable(str(exc)) from None
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rotation-tf-aws")

    # ---- counting -------------------------------------------------------------------
    def _count(self, event_name: str, **_: Any) -> None:
        # event_name is "before-call.<service>.<Operation>"
        parts = event_name.split(".", 2)
        with self._lock:
            # event names carry botocore's service id ("secrets-manager"); count by IAM prefix
            self.calls[f"{parts[1].replace('-', '')}:{parts[2]}" if len(parts) == 3 else event_name] += 1

    def _count_attempt(self, **_: Any) -> None:
        with self._lock:
            self.attempts += 1

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    # ---- calls ----------------------------------------------------------------------
    def action(self, service: str, op: str) -> str:
        return f"{_PREFIX.get(service, service)}:{op}"

    @contextmanager
    def _sorted_errors(self, action: str) -> Iterator[None]:
        """Turn botocore's exceptions into Denied / NotFound / Unreachable / ApiError."""
        import botocore.exceptions

        try:
            yield
        except botocore.exceptions.ClientError as exc:
            raise self._classify(action, exc) from None
        except (
            botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectTimeoutError,
            botocore.exceptions.ReadTimeoutError,
            botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.NoCredentialsError,
            botocore.exceptions.NoRegionError,
            botocore.exceptions.SSLError,
            botocore.exceptions.ProxyConnectionError,
        ) as exc:
            raise Unreachable(_short(exc)) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise ApiError(action, type(exc).__name__, _short(exc)) from None

    def call(self, service: str, op: str, method: str, **kwargs: Any) -> dict[str, Any]:
        """One API call, with errors sorted into Denied / NotFound / Unreachable / ApiError."""
        with self._sorted_errors(self.action(service, op)):
            return getattr(self._clients[service], method)(**kwargs)  # type: ignore[no-any-return]

    def call_or_none(self, service: str, op: str, method: str, **kwargs: Any) -> dict[str, Any] | None:
        """:meth:`call`, or None where AWS says the thing does not exist."""
        try:
            return self.call(service, op, method, **kwargs)
        except NotFound:
            return None

    def pages(self, service: str, op: str, method: str, key: str, **kwargs: Any) -> list[Any]:
        """Every item under ``key`` of every page (botocore's paginator)."""
        out: list[Any] = []
        with self._sorted_errors(self.action(service, op)):
            for page in self._clients[service].get_paginator(method).paginate(**kwargs):
                out.extend(page.get(key, []))
        return out

    def _classify(self, action: str, exc: Any) -> LiveError:
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        message = str(err.get("Message", ""))
        if code in DENIED_CODES or "not authorized to perform" in message:
            return Denied(action, message)
        if code in CREDENTIAL_CODES:
            return Unreachable(f"AWS refused the credentials ({code}): {message}")
        if _is_not_found(code):
            return NotFound(action, message)
        return ApiError(action, code, message)

    # ---- concurrency ----------------------------------------------------------------
    def map(self, fn: Callable[[Any], T], items: Iterable[Any]) -> list[T]:
        """``fn`` over ``items`` on the bounded pool, results in order; exceptions re-raised."""
        futures = [self._pool.submit(fn, item) for item in items]
        return [f.result() for f in futures]

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for client in self._clients.values():
            try:
                client.close()
            except Exception:  # pragma: no cover - best effort
                pass


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class Memo:
    """Fetch each key once. Concurrent callers of the same key wait for the first; an
    exception is remembered and re-raised to every caller (a denied fetch is not retried)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[Any, Future[Any]] = {}

    def get(self, key: Any, fetch: Callable[[], T]) -> T:
        with self._lock:
            future = self._futures.get(key)
            owner = future is None
            if future is None:
                future = Future()
                self._futures[key] = future
        if owner:
            try:
                future.set_result(fetch())
            except BaseException as exc:  # noqa: BLE001 - handed to every waiter
                future.set_exception(exc)
        return future.result()  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._futures))
