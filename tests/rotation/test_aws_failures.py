"""The failures AWS's rotation functions report come from their code (generator/aws_failures.py).

* The tables of generator/aws_failure_sites.py are exactly what the code in
  ../shared/aws-rotation-functions says (read with ``ast`` by tests/helpers/aws_messages.py): a new
  AWS version that adds, moves or rewords a failure fails here until the tables follow, and
  a new message fails until it has a cause.
* Every message maps to a cause with a fix; every rule is used.
* The drivers' errors are the drivers' own: PyGreSQL and PyMySQL are made to fail for real.
"""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import pytest
from helpers.aws_functions import function_files, required_copy
from helpers.aws_messages import Folder, connect_timeout, dq, drivers, keys, literal_rows

from generator import aws_calls, aws_failure_sites, aws_failures
from generator.aws_failures import CAUSES, RULES


def _folders() -> list[Path]:
    return [p.parent for p in function_files(required_copy()).values()]


def test_the_tables_are_what_the_code_says() -> None:
    folders = _folders()
    assert {f.name for f in folders} == set(aws_calls.CALLS), "a function was added to or removed"
    seen = set()
    for d in folders:
        f = Folder(d)
        for key, fname in keys(d).items():
            seen.add(key)
            scopes, messages = f.scope_table(fname), f.messages(fname)
            assert scopes == aws_failure_sites.SCOPES.get(key), (
                f"{key}: the code's functions or their steps changed; set generator/aws_failure_sites.py "
                f"SCOPES[{key!r}] to:\n{literal_rows(scopes)}"
            )
            assert messages == aws_failure_sites.MESSAGES.get(key), (
                f"{key}: the code reports a failure the table does not say; review and set "
                f"generator/aws_failure_sites.py MESSAGES[{key!r}] to:\n{literal_rows(messages)}"
            )
        assert drivers(d) == aws_failure_sites.DRIVERS[d.name], d.name
        assert f.connect_catches() == aws_failure_sites.CONNECT_CATCHES.get(d.name, ()), dq(f.connect_catches())
        assert connect_timeout(d) == aws_failure_sites.CONNECT_TIMEOUTS.get(d.name), d.name
    assert seen == set(aws_failure_sites.MESSAGES) == set(aws_failure_sites.SCOPES)
    assert set(aws_failure_sites.DRIVERS) == set(aws_calls.CALLS)


def test_every_message_has_a_cause_with_a_fix() -> None:
    for function in aws_calls.CALLS:
        for site in aws_failures.sites(function):
            literal = re.sub(r"\{[^{}]*\}", "", site.text).strip(" .:'\"()")
            if site.kind == "raise" or not literal:  # a re-raise, or a value built elsewhere
                assert site.cause is None or site.kind == "NotImplementedError", site
                continue
            assert site.cause in CAUSES and site.cause != "unknown", f"{site.cite}: {site.text!r} has no cause"
            cause = CAUSES[site.cause]
            assert cause.cause and cause.fix, cause
    for pattern, _cause in RULES:  # no dead rule
        assert any(
            re.search(pattern, aws_failures._STEP_PREFIX.sub("", s.text))
            for f in aws_calls.CALLS
            for s in aws_failures.sites(f)
        ), pattern
    assert {c.check for c in CAUSES.values()} - {""} - {"{check}"} <= _doctor_checks()


def _doctor_checks() -> set[str]:
    from generator.live import registry

    return {c.id for c in registry.CHECKS}


def test_a_new_message_in_aws_code_fails_the_table(tmp_path: Path) -> None:
    """The guard works: the same function with one more logger.error (a new AWS version) no
    longer matches the table, and its message has no cause until someone gives it one."""
    name = "SecretsManagerRDSPostgreSQLRotationMultiUser"
    copy = tmp_path / name
    shutil.copytree(required_copy() / name, copy)
    path = copy / "lambda_function.py"
    source = path.read_text(encoding="utf-8")
    changed = source.replace(
        "    # Make sure the user from current and pending match\n",
        '    logger.error("setSecret: The database refused the new password policy for %s" % arn)\n'
        "    # Make sure the user from current and pending match\n",
        1,
    )
    assert changed != source
    path.write_text(changed, encoding="utf-8")
    messages = Folder(copy).messages("lambda_function.py")
    assert messages != aws_failure_sites.MESSAGES[name]
    new = [m for m in messages if "password policy" in m[3]]
    assert new == [
        (new[0][0], "error", "set_secret", "setSecret: The database refused the new password policy for {arn}")
    ]
    assert aws_failures.rule_cause(new[0][3]) is None  # no cause yet: test_every_message_... would fail
    # and the lines after it moved: the table's lines are the code's
    assert [m[0] for m in messages if m[0] > new[0][0]][:3] != [
        m[0] for m in aws_failure_sites.MESSAGES[name] if m[0] > new[0][0]
    ][:3]


def test_clone_limits_in_the_messages_are_aws_calls_clone_limits() -> None:
    for function in aws_calls.CALLS:
        for site in aws_failures.sites(function):
            if site.cause != "clone-too-long":
                continue
            m = re.search(r"would exceed (\d+) characters", site.text)
            limit = aws_calls.CLONE_LIMITS[function][0]
            if m is None:  # MySQL: the limit is a variable, read from USERNAME_CHARACTER_LIMIT
                assert aws_calls.CLONE_LIMITS[function][1] == "USERNAME_CHARACTER_LIMIT", site
            else:
                assert int(m.group(1)) == limit, site
            assert "createSecret" in site.steps, site  # createSecret builds the _clone name


def test_steps_follow_the_dispatch_and_the_calls() -> None:
    pg = "SecretsManagerRDSPostgreSQLRotationMultiUser"
    steps = aws_failures.call_steps(pg)
    assert steps[("secretsmanager", "get_random_password", "*")] == ("createSecret",)
    assert steps[("secretsmanager", "update_secret_version_stage", "secret")] == ("finishSecret",)
    assert steps[("secretsmanager", "put_secret_value", "secret")] == ("createSecret",)
    assert steps[("secretsmanager", "describe_secret", "secret")] == aws_failures.STEPS  # lambda_handler, every step
    by_text = {s.text: s for s in aws_failures.sites(pg)}
    site = by_text["Unable to log into database using credentials in master secret {master_arn}"]
    assert (site.kind, site.where, site.steps, site.cause) == (
        "ValueError",
        "set_secret",
        ("setSecret",),
        "master-login",
    )
    invalid = by_text["Invalid step parameter {step} for secret {arn}"]
    assert invalid.where == "lambda_handler:else" and invalid.steps == ()
    assert aws_failures.scope(pg, 79) == ("lambda_handler:createSecret", ("createSecret",))
    assert aws_failures.step_of_scope(aws_failures.scope(pg, 82)[0]) == "setSecret"


def test_each_call_a_missing_grant_would_deny_has_its_steps_and_grant() -> None:
    calls = {
        (c.use.call, c.use.sid): c.steps
        for c in aws_failures.call_failures("postgresql", "alternating_users", frozenset({aws_calls.PLAIN}))
    }
    # steps over-approximate: get_secret_dict reads the secret in three steps and the master in setSecret only
    assert "setSecret" in calls[(("secretsmanager", "get_secret_value", "master"), aws_calls.READ_MASTER)]
    assert calls[(("secretsmanager", "get_random_password", "*"), aws_calls.RANDOM)] == ("createSecret",)
    assert calls[(("secretsmanager", "update_secret_version_stage", "secret"), aws_calls.ROTATE)] == ("finishSecret",)
    # the read-replica check (setSecret), granted only with an RDS-managed master
    assert "setSecret" in calls[(("rds", "describe_db_instances", "rds:db"), None)]
    for engine in ("postgresql", "mysql", "mariadb"):
        for c in aws_failures.call_failures(engine, "single_user"):
            assert c.steps, c  # every call is made by some step
            assert c.use.sid is not None or c.use.reason, c


def test_a_log_message_finds_its_site() -> None:
    pg = "SecretsManagerRDSPostgreSQLRotationSingleUser"
    arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf"
    site = aws_failures.match(
        pg, f"Unable to log into database with previous, current, or pending secret of secret arn {arn}"
    )
    assert site is not None and site.cause == "no-version-logs-in" and site.steps == ("setSecret",)
    # the logger.error line carries the step's prefix: the more specific template wins
    logged = aws_failures.match(
        pg, f"setSecret: Unable to log into database with previous, current, or pending secret of secret arn {arn}"
    )
    assert logged is not None and logged.kind == "error" and logged.line == site.line - 1
    key = aws_failures.match(pg, "KeyError: 'host key is missing from secret JSON'")
    assert key is not None and key.cause == "missing-field"
    assert aws_failures.match(pg, "something else entirely") is None
    mysql = aws_failures.match_any(
        "Unable to clone user, username length with _clone appended would exceed 16 characters"
    )
    assert mysql is not None and mysql.cause == "clone-too-long"


def test_a_denied_call_is_read_from_iam_s_message() -> None:
    text = (
        "[ERROR] ClientError: An error occurred (AccessDeniedException) when calling the GetSecretValue operation: "
        "User: arn:aws:sts::111122223333:assumed-role/rotator/rotator is not authorized to perform: "
        "secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf "
        "with an explicit deny in a service control policy"
    )
    d = aws_failures.denial(text)
    assert d is not None
    assert (d.operation, d.action, d.policy_type, d.explicit, d.kms) == (
        "GetSecretValue", "secretsmanager:GetSecretValue", "service control policy", True, False
    )  # fmt: skip
    assert d.resource == "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf"
    kms = aws_failures.denial(
        "An error occurred (AccessDeniedException) when calling the GetSecretValue operation: Access to KMS is not allowed"
    )
    assert kms is not None and kms.kms and kms.action == ""
    rds = aws_failures.denial(
        "An error occurred (AccessDenied) when calling the DescribeDBInstances operation: User: x is not authorized "
        "to perform: rds:DescribeDBInstances on resource: arn:aws:rds:us-east-1:111122223333:db:orders because no "
        "identity-based policy allows the rds:DescribeDBInstances action"
    )
    assert rds is not None and (rds.policy_type, rds.explicit) == ("identity-based policy", False)
    assert (
        aws_failures.denial("An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation")
        is None
    )


class _BlackHole:
    """A TCP port that never completes a connection: a listening socket whose accept queue is
    full, so the kernel drops the next SYN, as a security group or a firewall that drops
    packets does. (A server that accepts and then never speaks is another case: PyMySQL then
    waits without limit, since AWS's code sets no read timeout.)"""

    def __enter__(self) -> int:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        port = int(self.sock.getsockname()[1])
        self.fill = []
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            self.fill.append(c)
        return port

    def __exit__(self, *exc: object) -> None:
        for c in self.fill:
            c.close()
        self.sock.close()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def _kind(module: str, text: str) -> str | None:
    for kind, regex in aws_failures.DRIVER_ERRORS[module]:
        if re.search(regex, text):
            return kind
    return None


def test_pygresql_s_own_errors_for_a_refused_connection_and_a_timeout() -> None:
    pg = pytest.importorskip("pg")
    pgdb = pytest.importorskip("pgdb")
    with pytest.raises(pg.InternalError) as refused:  # what AWS's connect_and_authenticate catches
        pgdb.connect(host="127.0.0.1", port=_closed_port(), user="u", password="p", database="postgres",
                     connect_timeout=1, sslmode="disable")  # fmt: skip
    assert _kind("pg", str(refused.value)) == "refused", refused.value
    with _BlackHole() as port, pytest.raises(pg.InternalError) as slow:
        pgdb.connect(host="127.0.0.1", port=port, user="u", password="p", database="postgres",
                     connect_timeout=1, sslmode="disable")  # fmt: skip
    assert _kind("pg", str(slow.value)) == "timeout", slow.value


def test_pymysql_s_own_errors_for_a_refused_connection_and_a_timeout() -> None:
    pymysql = pytest.importorskip("pymysql")
    with pytest.raises(pymysql.OperationalError) as refused:  # what AWS's connect_and_authenticate catches
        pymysql.connect(host="127.0.0.1", port=_closed_port(), user="u", password="p", connect_timeout=1)
    assert _kind("pymysql", str(refused.value)) == "refused", refused.value
    with _BlackHole() as port, pytest.raises(pymysql.OperationalError) as slow:
        pymysql.connect(host="127.0.0.1", port=port, user="u", password="p", connect_timeout=1)
    assert _kind("pymysql", str(slow.value)) == "timeout", slow.value


def test_every_function_s_driver_has_its_errors() -> None:
    for function, modules in aws_failure_sites.DRIVERS.items():
        for module in modules:
            assert module in aws_failures.DRIVER_PACKAGES, (function, module)
            if module != "pgdb":  # pgdb is PyGreSQL's DB-API face; its errors are pg's
                assert {k for k, _ in aws_failures.DRIVER_ERRORS[module]} == {
                    "login",
                    "refused",
                    "timeout",
                    "privilege",
                }
        if function in aws_failure_sites.CONNECT_CATCHES:
            assert modules, function  # a function that catches a driver's errors imports one
