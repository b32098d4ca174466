"""Why AWS's rotation functions fail, derived from their code: every failure they report, and
the failures their calls bring, each mapped to a cause and a fix.

The failures a function reports itself (every ``logger.error`` and ``raise``, with its line,
the function of the code it is in and the rotation steps that reach it) are the tables of
:mod:`generator.aws_failure_sites`, read from the code at :data:`aws_calls.SOURCE_COMMIT` and
checked against it by ``tests/rotation/test_aws_failures.py``. :data:`RULES` maps each message to a
:class:`Cause`; the same test fails when a message has none.

What the calls bring, beyond the code's own messages:

* a denied AWS call: botocore's ``ClientError`` ``An error occurred (AccessDeniedException)
  when calling the GetSecretValue operation: User: ... is not authorized to perform: ... on
  resource: ... because no identity-based policy allows ...`` (``AccessDenied`` from the
  query-protocol services: RDS, Redshift). IAM's message says which kind of policy denied it
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html); which
  call, on which resource, made in which step, comes from :data:`aws_calls.CALLS` and the
  scopes; the grant (statement Sid) from :func:`aws_calls.uses`. Secrets Manager reports a
  key it may not use on the caller's behalf as ``Access to KMS is not allowed``.
* the database drivers' errors (:data:`DRIVER_ERRORS`) for a failed login, a refused
  connection and a timeout. AWS's functions catch them where they connect
  (:data:`aws_failure_sites.CONNECT_CATCHES`) and report their own "Unable to log into
  database ..." instead, so a wrong password and an unreachable database read the same in
  the log; the invocation's duration against the driver's connect timeout
  (:data:`aws_failure_sites.CONNECT_TIMEOUTS`) tells them apart. Errors of the statements run
  after the login (creating a user, setting a password) are not caught and reach the log.
* what Lambda itself writes: ``Task timed out after N seconds`` when the function runs past
  its timeout (https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html,
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html), and
  ``Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named
  'pg'`` for a deployment package without a dependency
  (https://docs.aws.amazon.com/lambda/latest/dg/python-package.html; the runtime's error
  types are those of awslambdaric's ``FaultException``,
  https://github.com/aws/aws-lambda-python-runtime-interface-client/blob/46e4c6a11064b8adc8e0dce34a647a04e37ae79c/awslambdaric/lambda_runtime_exception.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from generator import aws_calls
from generator.aws_failure_sites import CONNECT_TIMEOUTS, DRIVERS, MESSAGES, SCOPES

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
NETWORK_PAGE = "https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-network-rotation.html"
ACCESS_DENIED_PAGE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html"


@dataclass(frozen=True)
class Cause:
    """What went wrong, in words, and what to do. ``check``: the doctor check that judges the
    same thing from the account ("" when none does). ``root``: the message is logged before
    the failure it leads to (a TLS handshake the server refused, then "Unable to log into
    database"), and explains that failure better than its own message."""

    id: str
    cause: str
    fix: str
    check: str = ""
    root: bool = False


_CAUSES = (
    Cause("rotation-disabled",
          "the function was invoked for a secret whose rotation is off (DescribeSecret: RotationEnabled false)",
          "turn rotation on (terraform apply the module's aws_secretsmanager_secret_rotation); invoke the function "
          "only through RotateSecret", "rotation"),
    Cause("version-not-pending",
          "the version this invocation rotates is no longer staged AWSPENDING: a newer rotation, a manual "
          "PutSecretValue or UpdateSecretVersionStage replaced it, or the service retried an abandoned rotation",
          "remove AWSPENDING from the stale version (aws secretsmanager update-secret-version-stage --version-stage "
          "AWSPENDING --remove-from-version-id <version>) and rotate again", "pending"),
    Cause("invalid-step",
          "the function was invoked with a Step that is none of createSecret, setSecret, testSecret, finishSecret "
          "(an invocation by hand or by a test event)",
          "invoke the function only through RotateSecret (aws secretsmanager rotate-secret)"),
    Cause("not-allowed",
          "the function's environment does not list this secret or user among those it may rotate",
          "add the secret or user to the function's allowlist (its environment variables), or rotate it with its "
          "own function"),
    Cause("user-mismatch",
          "AWSPENDING holds another user than AWSCURRENT's (or its _clone): AWSPENDING was written by hand, or the "
          "user in AWSCURRENT changed while a rotation was pending",
          "remove AWSPENDING from that version and rotate again; change a secret's user only outside a rotation",
          "pending"),
    Cause("host-mismatch",
          "AWSPENDING names another host or database than AWSCURRENT's: AWSPENDING was written by hand, or the "
          "host in AWSCURRENT changed while a rotation was pending",
          "remove AWSPENDING from that version and rotate again; move a secret to another host only outside a "
          "rotation", "pending"),
    Cause("current-login",
          "the function could not log into the database with AWSCURRENT's user and password: the database's "
          "password no longer matches AWSCURRENT, or the function cannot reach the database (security group, port, "
          "database stopped)",
          "set the user's password in the database to AWSCURRENT's, or put the working password in the secret "
          "(aws secretsmanager put-secret-value); if the password is right, let the function reach the database",
          "database"),
    Cause("master-login",
          "the function could not log into the database with the master secret's user and password (masterarn): "
          "the master's password no longer matches the database, or the function cannot reach the database",
          "put the master user's working password in the master secret (or, for an RDS-managed master, let RDS "
          "rotate it and do not change it by hand); if it is right, let the function reach the database",
          "master-secret"),
    Cause("pending-login",
          "setSecret set the new password, yet testSecret could not log in with AWSPENDING: the password was "
          "changed again in between, the user may not connect to its database (dbname), or the database became "
          "unreachable",
          "check that the user can connect to the secret's dbname with its new password; remove AWSPENDING and "
          "rotate again", "database"),
    Cause("no-version-logs-in",
          "the database's password no longer matches any version of the secret (AWSPREVIOUS, AWSCURRENT, "
          "AWSPENDING): it was changed behind the secret's back, or the function cannot reach the database",
          "reset the user's password in the database to AWSCURRENT's, or put the working password in the secret "
          "(aws secretsmanager put-secret-value), then rotate again", "database"),
    Cause("not-replica",
          "the secret's host is not the master secret's host, nor a read replica of it",
          "point masterarn at the master secret of this secret's database, or give the secret the same host "
          "(endpoint) as its master", "master-secret"),
    Cause("missing-field",
          "a secret's value lacks a field the function reads (host, username, password, engine; masterarn for "
          "alternating users), in the rotated secret or in its master secret",
          "add the field to the secret's JSON (doctor --read-values checks the value); an RDS-managed master "
          "(username and password only) needs its aws:rds:primaryDBInstanceArn tag", "value"),
    Cause("wrong-engine",
          "the secret's engine field is not one this function accepts (the function names the value it needs)",
          "set engine to the value the message names, or rotate the secret with the function of its engine",
          "value"),
    Cause("invalid-json",
          "a secret's value is not the JSON the function reads",
          "store the value as a JSON object with the fields of the engine's secret structure", "value"),
    Cause("clone-too-long",
          "alternating users: the user name with _clone appended is longer than the engine allows",
          "use a user name of at most the limit minus 6 characters (MySQL: or raise the function's "
          "USERNAME_CHARACTER_LIMIT, package.username_character_limit, where the server allows longer names)",
          "value"),
    Cause("empty-after-clone",
          "alternating users: the user name is only the _clone suffix",
          "give the secret a real user name", "value"),
    Cause("rds-api-error",
          "the function's call to RDS (or Redshift) for the database's endpoint failed",
          "see the error after the message: a denied call names the grant; a database that is not found means the "
          "secret's host, or the master's tag, names no database of this account and region"),
    Cause("db-not-found",
          "the RDS-managed master's tag (aws:rds:primaryDBInstanceArn / ...ClusterArn), or the secret's host, "
          "names a database that RDS cannot find in this account and region",
          "point the secret at a database that exists (the master secret RDS manages for it), or fix its host"),
    Cause("bad-tag",
          "the master secret's database tag is not a valid ARN (too long)",
          "let RDS manage the master secret's tags; do not edit them"),
    Cause("redshift-not-found",
          "the Redshift-managed admin secret's tag names a cluster or namespace Redshift cannot find",
          "point the secret at the admin secret of a cluster or namespace that exists"),
    Cause("user-setup-failed",
          "the master user could not create the user, or set its password: it lacks the privilege, or the user "
          "does not exist",
          "grant the master user the right to create users and set passwords (or create the user once by hand)",
          "master-secret"),
    Cause("ssl-not-enabled",
          "the database server offers no TLS: the function tries TLS first, then plain TCP only where the secret has "
          "no ssl field (\"ssl\": true allows no fallback)",
          "enable TLS on the database, or set \"ssl\": false in the secret's value", "value"),
    Cause("ssl-enforced",
          "the secret says \"ssl\": false and the database server requires TLS (no fallback from plain TCP)",
          "set \"ssl\": true in the secret's value (or remove the field)", "value", root=True),
    Cause("hostname-verification",
          "the database's certificate does not name the host in the secret (an IP address, a CNAME or another "
          "endpoint)",
          "set host to the endpoint name the certificate holds (the RDS endpoint), or \"ssl\": false", "value"),
    Cause("permission-copy",
          "alternating users: the function could not copy a permission of the current user to the new one",
          "grant the current user's permissions in a form the function copies, or grant them to the _clone user "
          "by hand"),
    Cause("directory-reset",
          "Directory Service refused to reset the user's password",
          "check the directory's password policy and that the role may call ds:ResetUserPassword"),
    Cause("keytab",
          "the Kerberos keytab in the secret could not be created or validated",
          "check the principals and the keytab in the secret; rotate again"),
    Cause("kinit",
          "kinit could not obtain a Kerberos ticket with the secret's credentials",
          "check the user, password and directory in the secret"),
    Cause("invalid-character",
          "the user name or password in the secret holds a character the function does not accept",
          "exclude that character (the function's EXCLUDE_CHARACTERS) and rotate again", "value"),
    Cause("token",
          "the InfluxDB token in the secret could not be read, copied or created",
          "check the token and its permissions in the secret"),
    Cause("influx-endpoint",
          "the InfluxDB instance's endpoint could not be read",
          "check the dbIdentifier in the secret names an instance of this account and region"),
    Cause("user-not-active",
          "the ElastiCache user did not become active after the password change",
          "check the user in ElastiCache; rotate again"),
    Cause("connection-failure",
          "the function could not connect to the service with the secret's credentials",
          "check the credentials in the secret and that the function reaches the service", "database"),
    Cause("not-implemented",
          "AWS's generic template: the step the database needs is not written",
          "deploy a function written for the database (engine other: your own code)"),
    Cause("unknown",
          "the function failed with a message this table does not know",
          "read the log line and the traceback"),
    # What the calls bring
    Cause("denied", "{call} was denied", "{fix}", "grants"),
    Cause("kms-denied",
          "Secrets Manager could not use the secret's KMS key on the role's behalf",
          "let the role use the key through Secrets Manager (kms:Decrypt, and kms:GenerateDataKey to write): the "
          "module grants it on the manifest's kms_key_arn, so check that the secret's key is that key and that the "
          "key policy lets the account's IAM policies (or the role) use it", "key-policy"),
    Cause("master-elsewhere",
          "the secret's masterarn names {resource}, not the master secret the manifest names ({master}); the role "
          "may read the manifest's master only, so the read is denied (whether that secret exists or not)",
          "set masterarn in the secret's value to {master}; or, if {resource} is the master secret now, set "
          "master_secret to it in the manifest and terraform apply", "master-secret"),
    Cause("master-not-found",
          "the master secret (masterarn) does not exist, or the role may not see it",
          "set masterarn to the ARN of an existing master secret", "master-secret"),
    Cause("secret-not-found",
          "Secrets Manager cannot find the secret or the version the function asked for",
          "check that the secret exists and is not scheduled for deletion; remove a stale AWSPENDING and rotate "
          "again", "secret"),
    Cause("secret-invalid-request",
          "Secrets Manager refused the request: the secret is scheduled for deletion, or its versions are not in "
          "the state the step expects",
          "restore the secret (aws secretsmanager restore-secret), or remove a stale AWSPENDING and rotate again",
          "pending"),
    Cause("no-endpoint",
          "the function could not reach the AWS API: no network path from its subnets (no interface endpoint with "
          "private DNS, no NAT gateway), or its security groups block outbound 443",
          "add a Secrets Manager interface endpoint (or a NAT gateway) to the function's VPC and allow outbound 443",
          "network"),
    Cause("timeout", "{cause}", "{fix}", "{check}"),
    Cause("import-error",
          "the deployment package lacks a module the function imports{module}: Lambda's Python runtime brings boto3 "
          "only",
          "package the function with its dependencies built for Lambda's Linux (pip install --target, a layer), or "
          "deploy AWS's rotation application, whose package has them"),
    Cause("handler",
          "Lambda could not load the function's handler ({detail})",
          "set the handler to lambda_function.lambda_handler and check that the package holds lambda_function.py "
          "at its root"),
    Cause("driver-privilege",
          "the database refused a statement of the rotation: the user the function logged in as lacks a privilege "
          "(creating users, granting roles, setting passwords)",
          "grant the master user (alternating users) or the user itself (single user) the privilege the error "
          "names", "master-secret"),
    Cause("driver-login",
          "the database refused the password",
          "set the password in the database and in the secret to the same value", "database"),
    Cause("driver-unreachable",
          "the database refused the connection or did not answer: the server is down, or nothing listens on the "
          "port, or a security group or route blocks it",
          "start the database, or let the function reach it on its port (security groups, routes)", "database"),
)  # fmt: skip
CAUSES: dict[str, Cause] = {c.id: c for c in _CAUSES}

# Each message the code reports (its template, without a "<step>: " prefix) -> its cause.
# The first pattern that matches wins; every message of MESSAGES must match one
# (tests/rotation/test_aws_failures.py).
RULES: tuple[tuple[str, str], ...] = (
    (r"is not enabled for rotation", "rotation-disabled"),
    (r"^Secret version .* (has no stage for rotation|not set as AWSPENDING)", "version-not-pending"),
    (r"^Invalid step parameter", "invalid-step"),
    (r"is not allowed to use this Lambda function", "not-allowed"),
    (r"^Attempting to modify user for (host|a DB|DB) ", "host-mismatch"),
    (r"^Attempting to modify user ", "user-mismatch"),
    (r"^Username .* in current dict does not match", "user-mismatch"),
    (r"^Current directory name list .* does not match", "host-mismatch"),
    (r"^Rotation is attempting to use a new DB instance", "host-mismatch"),
    (r"^Current and pending (tokens|secrets)", "token"),
    (r"^Unable to log into database using current credentials", "current-login"),
    (r"^Unable to log into (rdsadmin )?database using credentials in (master|admin) secret", "master-login"),
    (r"^Unable to log into database with pending secret", "pending-login"),
    (r"^Unable to log into database with previous, current, or pending secret", "no-version-logs-in"),
    (r"^Failed to update password for secret ARN", "no-version-logs-in"),
    (r"^Current database host .* is not the same host as", "not-replica"),
    (r"key is missing from secret JSON", "missing-field"),
    (r"has no user_arn defined", "missing-field"),
    (r"^The token value must be set", "missing-field"),
    (r"^Database engine must be set to", "wrong-engine"),
    (r"^Invalid secret value (JSON|json)|^Failed to parse secret string", "invalid-json"),
    (r"is not a valid token type", "invalid-json"),
    (r"^Unable to clone user, username length", "clone-too-long"),
    (r"^Invalid username, username must not be empty after _clone", "empty-after-clone"),
    (r"^Encountered API error while fetching connection parameters", "rds-api-error"),
    (r"is not a valid DB (Instance|Cluster) ARN\. No (Instances|Clusters) found", "db-not-found"),
    (r"is not a valid DB Instance ARN\. It exceeds the maximum length", "bad-tag"),
    (r"^The secret has a tag aws:redshift.*(can't find|exceeds the maximum length)", "redshift-not-found"),
    (r"^Unable to create user|does not exist in database", "user-setup-failed"),
    (r"Error encountered when attempting to set password in database", "user-setup-failed"),
    (r"SSL/TLS is not enabled on the host|check that SSL/TLS is enabled on the host", "ssl-not-enabled"),
    (r"SSL/TLS is enforced on the host", "ssl-enforced"),
    (r"^Hostname verification failed", "hostname-verification"),
    (r"^Invalid database (permission class|principal permission type)", "permission-copy"),
    (r"^Unable to reset the user'?s password in Directory Services", "directory-reset"),
    (r"keytab|[Kk]eytab|principal", "keytab"),
    (r"kinit|Subprocess command failed|Unexpected value for current_dict", "kinit"),
    (r"^check_inputs: Invalid character", "invalid-character"),
    (r"^Authentication creation has not been enabled|token|^No permissions were set|^Permission .* must fit",
     "token"),
    (r"^Invalid endpoint info for InfluxDB", "influx-endpoint"),
    (r"did not reached the active status", "user-not-active"),
    (r"Connection failure|Failed to set new authorization", "connection-failure"),
    (r"^Failed to load secret from", "secret-not-found"),
)  # fmt: skip
_STEP_PREFIX = re.compile(r"^(?:createSecret|setSecret|testSecret|finishSecret|lambda_handler): ")


def rule_cause(text: str) -> str | None:
    """The cause of a message template, by :data:`RULES` (on its literal text: the names of
    the values it formats in do not count)."""
    body = _STEP_PREFIX.sub("", _PLACEHOLDER.sub(lambda m: m.group()[0] if m.group() in ("{{", "}}") else "{}", text))
    for pattern, cause in RULES:
        if re.search(pattern, body):
            return cause
    return None


@dataclass(frozen=True)
class Site:
    """One failure AWS's code reports: where, in which steps, what it says, and why."""

    key: str  # the table key: function folder, or <folder>/<file>
    line: int
    kind: str  # "error" (logger.error), an exception's name, "raise" (re-raise)
    where: str  # the function of the code it is in
    steps: tuple[str, ...]  # the rotation steps that can reach it
    text: str  # the message template
    cause: str | None  # a key of CAUSES; None: the text is only a value the code passes on

    @property
    def file(self) -> str:
        return self.key.split("/", 1)[1] if "/" in self.key else "lambda_function.py"

    @property
    def function(self) -> str:
        return self.key.split("/", 1)[0]

    @property
    def cite(self) -> str:
        return f"{self.function}/{self.file} line {self.line} ({self.where})"


def keys_of(function: str) -> tuple[str, ...]:
    """The table keys of one of AWS's functions: its lambda_function.py, then its other files."""
    return tuple(k for k in MESSAGES if k == function or k.startswith(function + "/"))


def scope(key: str, line: int) -> tuple[str, tuple[str, ...]]:
    """(where, steps) of a line: the innermost scope holding it; ("", ()) outside every one."""
    best: tuple[str, int, int, tuple[str, ...]] | None = None
    for where, lo, hi, steps in SCOPES.get(key, ()):
        if lo <= line <= hi and (best is None or hi - lo < best[2] - best[1]):
            best = (where, lo, hi, steps)
    return ("", ()) if best is None else (best[0], best[3])


def step_of_scope(where: str) -> str | None:
    """The one step a dispatch branch of lambda_handler runs (``lambda_handler:setSecret``)."""
    if where.startswith("lambda_handler:") and where.split(":", 1)[1] in STEPS:
        return where.split(":", 1)[1]
    return None


@cache
def sites(function: str) -> tuple[Site, ...]:
    """Every failure one of AWS's functions reports, with its steps and cause."""
    out = []
    for key in keys_of(function):
        for line, kind, where, text in MESSAGES[key]:
            cause = rule_cause(text) if _literal(text) else None
            if kind == "NotImplementedError":
                cause = "not-implemented"
            out.append(Site(key, line, kind, where, scope(key, line)[1], text, cause))
    return tuple(out)


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{[^{}]*\}")


def _segments(text: str) -> list[tuple[bool, str]]:
    """A template as (is_value, text) segments."""
    out: list[tuple[bool, str]] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(text):
        if m.start() > pos:
            out.append((False, text[pos : m.start()]))
        tok = m.group()
        out.append((False, tok[0]) if tok in ("{{", "}}") else (True, tok[1:-1]))
        pos = m.end()
    if pos < len(text):
        out.append((False, text[pos:]))
    return out


def _literal(text: str) -> str:
    return "".join(t for is_value, t in _segments(text) if not is_value)


@lru_cache(maxsize=4096)
def pattern(text: str) -> re.Pattern[str]:
    """A regular expression that finds a message of this template in a log line: the
    template's literal text, anything for each value."""
    parts = [("(.*?)" if is_value else re.escape(t)) for is_value, t in _segments(text)]
    return re.compile("".join(parts))


MIN_LITERAL = 12  # a template with less literal text than this matches too much to name a cause


def match(function: str, message: str) -> Site | None:
    """The site of ``function`` whose message this is: of those whose template matches, the
    one with the most literal text (the most specific)."""
    best: tuple[int, Site] | None = None
    for site in sites(function):
        if site.cause is None:
            continue
        lit = len(_literal(site.text))
        if lit < MIN_LITERAL or (best is not None and lit <= best[0]):
            continue
        if pattern(site.text).search(message):
            best = (lit, site)
    return best[1] if best else None


def match_any(message: str) -> Site | None:
    """:func:`match` over every function (for a log whose function is not known)."""
    best: tuple[int, Site] | None = None
    for function in sorted({k.split("/", 1)[0] for k in MESSAGES}):
        site = match(function, message)
        if site is not None and (best is None or len(_literal(site.text)) > best[0]):
            best = (len(_literal(site.text)), site)
    return best[1] if best else None


def call_steps(function: str) -> dict[tuple[str, str, str], tuple[str, ...]]:
    """Each AWS call of the function (aws_calls.CALLS) -> the steps that may make it (those of
    the code around its lines: a helper's are all its callers', whatever it is called with)."""
    out = {}
    for call, lines in aws_calls.CALLS.get(function, {}).items():
        steps: set[str] = set()
        for line in lines:
            steps.update(scope(function, line)[1])
        out[call] = tuple(s for s in STEPS if s in steps)
    return out


@dataclass(frozen=True)
class CallFailure:
    """One AWS call of the function, which fails with ``AccessDeniedException`` /
    ``AccessDenied`` when the role may not make it: the steps that make it, and the grant that
    allows it (``use.sid``), or why the module grants none (``use.reason``)."""

    use: aws_calls.Use
    steps: tuple[str, ...]


def call_failures(engine: str, strategy: str, masters: frozenset[str] = frozenset()) -> tuple[CallFailure, ...]:
    """Every call of AWS's function for ``engine`` x ``strategy`` that a missing grant would
    deny, with its steps: what a denied call in the log maps to."""
    steps = call_steps(aws_calls.function_for(engine, strategy))
    return tuple(CallFailure(u, steps[u.call]) for u in aws_calls.uses(engine, strategy, masters))


# --- Errors the calls bring ---------------------------------------------------------------

# botocore's ClientError text: "An error occurred (<Code>) when calling the <Operation> operation: <Message>"
CLIENT_ERROR = re.compile(
    r"An error occurred \((?P<code>[\w.]+)\) when calling the (?P<op>\w+) operation(?::\s*(?P<message>.*))?"
)
DENIED_CODES = ("AccessDeniedException", "AccessDenied")
# IAM's message (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html)
NOT_AUTHORIZED = re.compile(r"is not authorized to perform: (?P<action>[\w-]+:\w+) on resource: (?P<resource>[^\s()]+)")
POLICY_TYPE = re.compile(
    r"(?P<how>because no|with an explicit deny in an?) (?P<type>identity-based policy|resource-based policy|"
    r"permissions boundary|session policy|service control policy|resource control policy|VPC endpoint policy)"
)
KMS_NOT_ALLOWED = "Access to KMS is not allowed"
# botocore's errors for an endpoint it cannot reach (botocore.exceptions)
ENDPOINT_UNREACHABLE = re.compile(
    r"(Could not connect to the endpoint URL|Connect timeout on endpoint URL|Read timeout on endpoint URL): "
    r"\"?(?P<url>[^\"\s]+)"
)


@dataclass(frozen=True)
class Denial:
    code: str
    operation: str  # the API operation (GetSecretValue)
    action: str  # the IAM action denied ("" when the message does not say)
    resource: str
    policy_type: str  # the kind of policy IAM names ("" when the message does not say)
    explicit: bool
    kms: bool  # Secrets Manager could not use the KMS key


def denial(text: str) -> Denial | None:
    """The denied call in a log line, if it holds one."""
    m = CLIENT_ERROR.search(text)
    if m is None or m.group("code") not in DENIED_CODES:
        return None
    message = m.group("message") or ""
    auth = NOT_AUTHORIZED.search(message)
    ptype = POLICY_TYPE.search(message)
    action = auth.group("action") if auth else ""
    return Denial(
        code=m.group("code"),
        operation=m.group("op"),
        action=action,
        resource=(auth.group("resource") if auth else "").rstrip(".,;"),
        policy_type=ptype.group("type") if ptype else "",
        explicit=bool(ptype and ptype.group("how").startswith("with")),
        kms=KMS_NOT_ALLOWED in message or action.startswith("kms:"),
    )


# Driver errors, by the module the function imports. The texts are those of the client
# libraries (libpq for PyGreSQL, the MySQL protocol's error numbers for PyMySQL, FreeTDS for
# pymssql, Oracle's ORA-/DPY- codes, Db2's SQLCODEs, pymongo's); tests/rotation/test_aws_failures.py
# produces the PyGreSQL and PyMySQL ones for real.
DRIVER_ERRORS: dict[str, tuple[tuple[str, str], ...]] = {  # fmt: skip
    "pg": (
        ("login", r"password authentication failed for user"),
        (
            "refused",
            r"Connection refused|could not connect to server|No such file or directory\s+Is the server running",
        ),
        ("timeout", r"timeout expired"),
        ("privilege", r"permission denied to create role|must be superuser|permission denied|must have admin option"),
    ),
    "pymysql": (
        ("login", r"\(1045, \"Access denied for user"),
        ("refused", r"\(2003, \"Can't connect to MySQL server on .*(Connection refused|Errno 111)"),
        ("timeout", r"\(2003, \"Can't connect to MySQL server on .*timed out|\(2013, .*timed out"),
        ("privilege", r"\((1044|1142|1227|1410), "),
    ),
    "pymssql": (
        ("login", r"Login failed for user"),
        ("refused", r"Adaptive Server is unavailable or does not exist|Adaptive Server connection failed"),
        ("timeout", r"Adaptive Server connection timed out"),
        ("privilege", r"permission|does not have permission"),
    ),
    "oracledb": (
        ("login", r"ORA-01017"),
        ("refused", r"ORA-12541|DPY-6005.*(refused|Errno 111)"),
        ("timeout", r"ORA-12170|DPY-4011|DPY-6005.*timed out"),
        ("privilege", r"ORA-01031|ORA-01990"),
    ),
    "ibm_db": (
        ("login", r"SQL30082N.*\"24\""),
        ("refused", r"SQL30081N.*\"111\""),
        ("timeout", r"SQL30081N.*\"(110|connect|recv)\""),
        ("privilege", r"SQL0551N|SQL0552N"),
    ),
    "pymongo": (
        ("login", r"Authentication failed"),
        ("refused", r"Connection refused"),
        ("timeout", r"timed out|ServerSelectionTimeoutError"),
        ("privilege", r"not authorized on"),
    ),
    "influxdb_client": (
        ("login", r"\(401\)|Unauthorized"),
        ("refused", r"Connection refused"),
        ("timeout", r"timed out"),
        ("privilege", r"\(403\)|Forbidden"),
    ),
}
DRIVER_PACKAGES = {"pg": "PyGreSQL", "pgdb": "PyGreSQL", "pymysql": "PyMySQL", "pymssql": "pymssql",
                   "oracledb": "oracledb", "ibm_db": "ibm_db", "pymongo": "pymongo",
                   "influxdb_client": "influxdb-client"}  # fmt: skip
DRIVER_CAUSES = {"login": "driver-login", "refused": "driver-unreachable", "timeout": "driver-unreachable",
                 "privilege": "driver-privilege"}  # fmt: skip


def driver_error(function: str, text: str) -> str | None:
    """The kind of database error (login, refused, timeout, privilege) a line of ``function``'s
    log holds, by the drivers it imports."""
    for module in DRIVERS.get(function, ()):
        for kind, regex in DRIVER_ERRORS.get(module, ()):
            if re.search(regex, text):
                return kind
    return None


def connect_timeout(function: str) -> int | None:
    return CONNECT_TIMEOUTS.get(function)


# --- What Lambda writes --------------------------------------------------------------------

# Lambda's line when an invocation runs past the function's timeout; in the text format it
# follows the timestamp and the request id.
TIMED_OUT = re.compile(r"Task timed out after (?P<seconds>[\d.]+) seconds")
# The runtime's error types for a handler it cannot load (awslambdaric FaultException)
RUNTIME_ERRORS = {
    "Runtime.ImportModuleError": "import-error",
    "Runtime.UserCodeSyntaxError": "handler",
    "Runtime.HandlerNotFound": "handler",
    "Runtime.MalformedHandlerName": "handler",
    "Runtime.BuiltInModuleConflict": "handler",
}
NO_MODULE = re.compile(r"No module named '(?P<module>[\w.]+)'")
