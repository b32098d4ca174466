"""boto3 plumbing shared by ``doctor`` and ``discover``.

* One botocore session per :class:`Aws` with the normal credential chain (``--profile``), or
  an assumed role's credentials, one client per service, created up front (clients are
  thread-safe; sessions are not); AWS's service models are loaded once per process.
* Throttling and transient errors are retried by botocore's own ``standard`` retry mode
  (exponential backoff with jitter, https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html);
  ``max_attempts`` and the timeouts are bounded and configurable.
* Every call is counted by operation with a botocore ``before-call`` event hook, which is
  what ``bench/live.py`` reports and what the tests assert on.
* Errors are sorted into what the commands need: :class:`Denied` (the caller lacks an
  action; the check becomes ``unknown`` and names it), :class:`NotFound`,
  :class:`ApiError` for any other answer, and :class:`ServiceFailure` (not a
  :class:`LiveError`, so no check turns it into one more ``unknown`` among passes) for an
  answer that the retries did not cure: a 5xx, or a body that is not what the API speaks (an
  HTML page from a proxy). Its subclass :class:`Unreachable` is a transport failure: AWS could
  not be reached, the connection was refused, closed, reset or timed out (before the first
  call or in the middle of the run), an answer came cut short (or garbled), or AWS would not take the
  credentials at all. After the first :class:`ServiceFailure` every further call fails at once
  with it, so that the command stops within one call's retries (exit 3): a verdict never rests
  on half the account.
* :class:`Memo` makes sure no function, role, policy, key or VPC is fetched twice, even
  when two threads ask for it at the same moment.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

# IAM action prefix of each boto3 service name (they differ for a few services only).
_PREFIX = {"lambda": "lambda", "secretsmanager": "secretsmanager", "kms": "kms", "iam": "iam", "ec2": "ec2",
           "rds": "rds", "redshift": "redshift", "sts": "sts", "organizations": "organizations",
           "securityhub": "securityhub", "logs": "logs", "cloudtrail": "cloudtrail"}  # fmt: skip
# botocore's service id in event names, where it is not the IAM prefix ("cloudwatch-logs").
_SERVICE_ID_PREFIX = {"cloudwatchlogs": "logs"}
# Attempts for an optional service, whose answer a command can do without (doctor reads
# CloudTrail's rotation events where it may, and says so where it may not): one, so that an
# endpoint without it (moto answers LookupEvents with an HTML 500) costs no retry and no backoff;
# the reader paces its calls and tries a throttled one once more itself.
OPTIONAL_ATTEMPTS = {"cloudtrail": 1}

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


DOCTOR_SERVICES = ("sts", "lambda", "secretsmanager", "kms", "iam", "ec2", "rds", "redshift", "logs", "cloudtrail")


class LiveError(Exception):
    status: int | None = None  # the HTTP status of AWS's answer, where there was one


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
    def __init__(self, action: str, code: str, detail: str = "", status: int | None = None):
        super().__init__(f"{action} failed: {code}" + (f" ({detail})" if detail else ""))
        self.action = action
        self.code = code
        self.detail = detail
        self.status = status


class ServiceFailure(Exception):
    """AWS (or what stands at the endpoint) answered ``action`` with a server error or with a
    body that is not the API's, on every attempt: the command cannot go on (exit 3). Not a
    :class:`LiveError`: a check must not report it as one more ``unknown``."""

    def __init__(self, action: str, status: int | None, what: str, attempts: int | None = None):
        self.action = action
        self.status = status
        self.what = what
        self.attempts = attempts
        what = " ".join(what.split())[:160]  # one line, whatever the endpoint sent
        answered = f"HTTP {status} ({what})" if status is not None else what
        tries = f" on {attempts} attempt{'s' if attempts != 1 else ''}" if attempts else ""
        super().__init__(f"{action} answered {answered}{tries}")


class Unreachable(ServiceFailure):
    """A transport failure (exit 3, with one line "cannot reach AWS at ..."): AWS could not be
    reached, the connection was closed, reset or timed out (also after the run started), an
    answer was cut short, or AWS refused the credentials. ``action``: the call, where there was one."""

    def __init__(self, reason: str, action: str = ""):
        Exception.__init__(self, reason)
        self.action = action
        self.status = None
        self.what = reason
        self.attempts = None


class _NotAws(Exception):
    """Raised from botocore's before-parse event (Aws._check_body); becomes :class:`ServiceFailure`."""

    def __init__(self, status: int, what: str):
        super().__init__(what)
        self.status = status
        self.what = what


class _Cut(Exception):
    """Raised from botocore's before-parse event (Aws._check_body): the answer is not whole (a
    transport failure, :class:`Unreachable`). botocore reads a body without enforcing its
    Content-Length, and its JSON parser reads a body that is not JSON as an empty answer."""


def _phrase(status: int) -> str:
    import http

    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "server error"


def _status(response: Any) -> int | None:
    status = (response or {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials, as sts:AssumeRole returns them."""

    access_key_id: str
    secret_access_key: str
    session_token: str

    def __repr__(self) -> str:  # never print a secret key, even in a traceback
        return f"Credentials({self.access_key_id!r}, ...)"


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
        services: Iterable[str] = DOCTOR_SERVICES,
        credentials: Credentials | None = None,
    ):
        import botocore.config
        import botocore.exceptions

        self.region = region
        self.workers = workers
        self.calls: Counter[str] = Counter()
        self.attempts = 0
        self.failure: ServiceFailure | None = None  # the first answer the retries did not cure
        self._lock = threading.Lock()
        try:
            session = _session(profile)
            if credentials is not None:  # an assumed role's temporary credentials (generator.live.accounts)
                session.set_credentials(
                    credentials.access_key_id, credentials.secret_access_key, credentials.session_token
                )
        except botocore.exceptions.ProfileNotFound as exc:
            raise Unreachable(str(exc)) from None
        session.register("before-call", self._count)
        session.register("before-send", self._count_attempt)
        session.register("before-parse", self._check_body)
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
                own = config
                if name in OPTIONAL_ATTEMPTS:
                    own = config.merge(
                        botocore.config.Config(
                            retries={"mode": "standard",
                                     "total_max_attempts": min(max_attempts, OPTIONAL_ATTEMPTS[name])}
                        )
                    )  # fmt: skip
                self._clients[name] = session.create_client(
                    name, region_name=region, endpoint_url=endpoint_url, config=own
                )
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
            if len(parts) == 3:
                service = parts[1].replace("-", "")
                self.calls[f"{_SERVICE_ID_PREFIX.get(service, service)}:{parts[2]}"] += 1
            else:
                self.calls[event_name] += 1

    def _count_attempt(self, **_: Any) -> None:
        with self._lock:
            self.attempts += 1

    def _check_body(self, operation_model: Any = None, response_dict: dict[str, Any] | None = None, **_: Any) -> None:
        """An answer that is not whole, or not AWS's, never reaches botocore's parser.

        * Cut short (:class:`_Cut`, a transport failure, never retried: botocore parses after
          its retry loop): more or fewer bytes than its Content-Length, whatever the status
          (botocore reads without enforcing it), or, with a success status, a body that is not
          whole JSON or XML, as the API speaks (botocore's JSON parser reads a broken body as
          an empty answer: a ListSecrets page cut in half would list no secret, a
          GetSecretValue answer no value).
        * Not AWS's (:class:`_NotAws`): a success status with a body that is not the API's (a
          proxy's or portal's HTML page): botocore would parse it into an empty answer (JSON
          APIs) or a KeyError (XML APIs). Error statuses are left to botocore, which retries
          5xx and reads an HTML page as a generic error."""
        response = response_dict or {}
        status, body = response.get("status_code"), response.get("body")
        if not isinstance(status, int) or not isinstance(body, bytes):
            return
        declared = str((response.get("headers") or {}).get("content-length", "")).strip()
        if declared.isdigit() and int(declared) != len(body):
            raise _Cut(f"the answer was cut short ({len(body)} of {int(declared)} bytes)")
        if status >= 300 or not body.strip():
            return
        start = body.lstrip()[:15].lower()
        protocol = getattr(operation_model, "metadata", {}).get("protocol", "")
        html = start.startswith((b"<!doctype", b"<html"))
        if html or (start[:1] not in (b"{", b"[") if "json" in protocol else start[:1] != b"<"):
            shown = " ".join(body.decode("utf-8", "replace").split())[:60]
            raise _NotAws(status, f"{'an HTML page' if html else 'a body'} that is not an AWS answer: {shown!r}")
        try:
            if "json" in protocol:
                json.loads(body)
            else:  # query, ec2, rest-xml
                _xml_parse(body)
        except (ValueError, RecursionError, SyntaxError):  # ElementTree's ParseError is a SyntaxError
            kind = "JSON" if "json" in protocol else "XML"
            raise _Cut(f"the answer is not whole {kind} ({len(body)} bytes): cut short or garbled") from None

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    # ---- calls ----------------------------------------------------------------------
    def action(self, service: str, op: str) -> str:
        return f"{_PREFIX.get(service, service)}:{op}"

    @contextmanager
    def _sorted_errors(self, action: str, latch: bool = True) -> Iterator[None]:
        """Turn botocore's exceptions into Denied / NotFound / Unreachable / ApiError / ServiceFailure.
        ``latch=False`` (an optional call): a ServiceFailure is raised but does not stop later calls."""
        import botocore.exceptions
        import botocore.parsers

        if self.failure is not None:
            raise self.failure
        try:
            yield
        except botocore.exceptions.ClientError as exc:
            raise self._classify(action, exc, latch) from None
        except _NotAws as exc:
            raise self._failed(ServiceFailure(action, exc.status, exc.what), latch) from None
        except _Cut as exc:
            raise self._failed(Unreachable(f"{action}: {exc}", action)) from None
        except botocore.parsers.ResponseParserError as exc:  # an error's body botocore could not read
            raise self._failed(
                ServiceFailure(action, None, f"an answer botocore could not read: {_short(exc)[:100]}"), latch
            ) from None
        except (
            # refused, reset, closed, timed out, TLS or proxy: the first call or any later one
            botocore.exceptions.ConnectionError,
            botocore.exceptions.HTTPClientError,
            botocore.exceptions.NoCredentialsError,
            botocore.exceptions.NoRegionError,
        ) as exc:
            raise self._failed(Unreachable(f"{action}: {_short(exc)}", action)) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise ApiError(action, type(exc).__name__, _short(exc)) from None

    def call(self, service: str, op: str, method: str, **kwargs: Any) -> dict[str, Any]:
        """One API call, with errors sorted into Denied / NotFound / Unreachable / ApiError."""
        with self._sorted_errors(self.action(service, op)):
            return getattr(self._clients[service], method)(**kwargs)  # type: ignore[no-any-return]

    def call_optional(self, service: str, op: str, method: str, **kwargs: Any) -> dict[str, Any]:
        """:meth:`call` for an optional feature (doctor's probe of IAM's policy simulator, its
        read of CloudTrail's rotation events): a server failure raises :class:`ServiceFailure`
        here but does not end the command, since the endpoint may simply not implement it (moto
        has neither). It is never latched, so no other call in flight sees it; a failure that
        another call latched before is raised as for :meth:`call`, and an endpoint that raises
        NotImplementedError (moto in the same process) is such a server failure. A transport
        failure (:class:`Unreachable`) is latched and ends the command wherever it happens."""
        action = self.action(service, op)
        with self._sorted_errors(action, latch=False):
            try:
                return getattr(self._clients[service], method)(**kwargs)  # type: ignore[no-any-return]
            except NotImplementedError as exc:  # moto in the process: an action it has not written
                raise ServiceFailure(action, None, f"not implemented by the endpoint ({_short(exc)[:100]})") from None

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

    def _failed(self, failure: ServiceFailure, latch: bool = True) -> ServiceFailure:
        if latch:
            with self._lock:
                if self.failure is None:
                    self.failure = failure
        return failure

    def _classify(self, action: str, exc: Any, latch: bool = True) -> LiveError | ServiceFailure:
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        message = str(err.get("Message", ""))
        status = _status(exc.response)
        if status is not None and status >= 500:
            # botocore's standard mode retried it (500, 502, 503, 504 and throttling) up to
            # max_attempts; an HTML page gives the status as the code and its reason as the message
            retries = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
            # AWS's own error code; for a page that is not AWS's, the status's reason phrase
            what = code if re.fullmatch(r"[A-Za-z][A-Za-z0-9.]*", code) else _phrase(status)
            return self._failed(ServiceFailure(action, status, what, int(retries) + 1), latch)
        found: LiveError
        if code in DENIED_CODES or "not authorized to perform" in message:
            found = Denied(action, message)
        elif code in CREDENTIAL_CODES:  # nothing will work, before the first check or after the fortieth
            return self._failed(Unreachable(f"AWS refused the credentials ({code}): {message}", action))
        elif _is_not_found(code):
            found = NotFound(action, message)
        else:
            found = ApiError(action, code, message, status)
        found.status = status
        return found

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


_LOADER_LOCK = threading.Lock()
_LOADER: Any = None


def _session(profile: str | None) -> Any:
    """A botocore session of its own (credentials, profile and events are per Aws: sessions
    are not thread-safe, and each account has its own credentials), sharing one loader of
    AWS's service models with every other session of the process: loading and parsing those
    JSON models was two thirds of opening an Aws (0.38 s for eight clients, 0.10-0.19 s
    shared), paid again for every account ``doctor --assume-role`` reads."""
    import botocore.session

    global _LOADER
    session = botocore.session.Session(profile=profile)
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = session.get_component("data_loader")
        else:
            session.register_component("data_loader", _LOADER)
    return session


def _xml_parse(body: bytes) -> None:
    """Parse ``body`` as XML (raises ElementTree's ParseError), as botocore's parsers do."""
    from xml.etree import ElementTree

    ElementTree.fromstring(body)


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


def failure_line(exc: LiveError | ServiceFailure) -> str:
    """One line for an AWS failure that ends a command (exit 3): the service and action, the
    HTTP status, and AWS's own words."""
    if isinstance(exc, ApiError):
        answered = f"HTTP {exc.status} ({exc.code})" if exc.status is not None else exc.code
        detail = exc.detail.splitlines()[0][:200] if exc.detail.strip() else ""
        return f"{exc.action} answered {answered}" + (f": {detail}" if detail else "")
    return _short(exc) + (f" (HTTP {exc.status})" if isinstance(exc, LiveError) and exc.status is not None else "")


# What a secret value may be before it is parsed. AWS caps SecretString at 65,536 characters
# (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html); a
# database secret is one flat JSON object of strings
# (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html).
# Python's json parser recurses once per level, so depth is bounded before it runs: a value
# nested 20,000 deep would end the process with a RecursionError.
MAX_VALUE_CHARS = 65_536
MAX_VALUE_DEPTH = 32
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]")
_INNERMOST = re.compile(r"\[\]|\{\}")


@dataclass(frozen=True)
class ValueShape:
    """What :func:`current_value_fields` hands out of a value: its top-level keys (None when it
    is not a JSON object doctor can read, ``why`` says why) and the string values of the fields
    asked for. Nothing else of the value."""

    keys: frozenset[str] | None
    fields: dict[str, str]
    why: str = ""


def _too_deep(text: str, limit: int) -> bool:
    """Whether JSON ``text`` nests more than ``limit`` levels (or is so unbalanced that a
    recursive parser would descend without end), found without recursion: the brackets outside
    strings, innermost pairs removed once per level."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    for _ in range(limit):
        if not brackets:
            return False
        brackets = _INNERMOST.sub("", brackets)
    return bool(brackets) and (_INNERMOST.search(brackets) is not None or len(brackets) > limit)


def value_shape_of(text: Any, wanted: tuple[str, ...]) -> ValueShape:
    """The shape of a SecretString, parsed within bounds (size and depth); never raises."""
    if not isinstance(text, str):
        return ValueShape(None, {}, "it is binary (SecretBinary), not a JSON object")
    if len(text) > MAX_VALUE_CHARS:
        return ValueShape(
            None, {}, f"it is longer than {MAX_VALUE_CHARS:,} characters, the most Secrets Manager stores"
        )
    if _too_deep(text, MAX_VALUE_DEPTH):
        return ValueShape(None, {}, f"it is JSON nested deeper than {MAX_VALUE_DEPTH} levels (or unbalanced), not one flat object")  # fmt: skip
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return ValueShape(None, {}, "it is not JSON")
    if not isinstance(data, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(data), "a number")
        return ValueShape(None, {}, f"it is JSON but {kind}, not an object")
    keys = frozenset(str(k) for k in data)
    fields = {k: v for k in wanted if isinstance(v := data.get(k), str)}
    data.clear()
    return ValueShape(keys, fields)


def current_value_fields(aws: Aws, arn: str, wanted: tuple[str, ...]) -> ValueShape:
    """The one place a secret's value is read (``--read-values`` only): the top-level keys of
    its AWSCURRENT value and the string values of the ``wanted`` fields, or why it is not a JSON
    object doctor can read. Nothing else of the value leaves this function, and none of it is
    kept. A failed call raises (a transport failure never becomes a verdict on the value)."""
    got = aws.call("secretsmanager", "GetSecretValue", "get_secret_value", SecretId=arn, VersionStage="AWSCURRENT")
    text = got.pop("SecretString", None)
    got.clear()
    try:
        return value_shape_of(text, wanted)
    finally:
        text = None
