"""Fail closed, without AWS (issue 26): doctor's exit code (0 means every check was judged and
none fails; an ``unknown`` that no failure explains is exit 3 unless ``--allow-unknown``
names its check; the names are the registry's, checked before any call: exit 2), the bounds
on a secret value, and the escaping of discover's comments. The runs against moto (a denied
caller, a dropped connection, a value nested 20,000 deep, a masterarn from a value) are in
tests/moto/test_doctor.py, tests/hostile/test_live_faults.py and tests/moto/test_discover.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.cli import cli
from helpers.harness import free_port
from helpers.paths import ROOT

from generator import api
from generator.formats import doctor as doctor_formats
from generator.live import commands, registry
from generator.live.client import ApiError, Denied
from generator.live.findings import FAIL, PASS, WARN, Audit, Finding, Report, caused, unknown

MANIFEST = ROOT / "examples" / "rotation.yaml"


def audit(*findings: Finding, unreadable: str = "") -> Audit:
    module = api.validate(MANIFEST).module
    assert module is not None
    return Audit(MANIFEST, module, Report(module.account_id, module.region, list(findings)), unreadable)


OK = Finding("prod/orders/db", "secret", PASS, "exists")
WARNED = Finding("prod/orders/db", "schedule", WARN, "differs")
FAILED = Finding("prod/orders/db", "key-policy", FAIL, "excludes the role")
DENIED = unknown("prod/orders/db", "value", Denied("secretsmanager:GetSecretValue"))
ERRED = unknown("prod/billing/db", "network", ApiError("ec2:DescribeSubnets", "Throttling", "Rate exceeded"))
FOLLOWS = caused("prod/orders/db", "grants", ("prod/orders/db", "key-policy"))


@pytest.mark.parametrize(
    ("findings", "accepted", "code"),
    [
        ((OK, WARNED), (), 0),
        ((OK, FAILED), (), 1),
        ((OK, DENIED), (), 3),  # nothing fails, but a check was not judged: not a pass
        ((OK, ERRED), (), 3),  # any API error, not only a denied action
        ((OK, DENIED), ("value",), 0),  # accepted by name
        ((OK, DENIED, ERRED), ("value",), 3),  # only what is named is accepted
        ((OK, FAILED, FOLLOWS), (), 1),  # an unknown that a failure explains leaves the exit to it
        ((OK, FAILED, DENIED), (), 3),  # a failure and something unseen: the run did not see everything
        ((OK, FAILED, DENIED), ("value",), 1),
    ],
)
def test_exit_codes(findings, accepted, code):
    assert commands.doctor_exit([audit(*findings)], frozenset(accepted)) == code


def test_an_unread_account_is_exit_3_whatever_is_accepted():
    account = unknown("111122223333", "account", ApiError("sts:AssumeRole", "AccessDenied"))
    audits = [audit(OK), audit(account, unreadable="could not assume the role")]
    assert commands.doctor_exit(audits, frozenset(c.id for c in registry.CHECKS)) == 3


def test_the_summary_says_what_was_not_seen_and_the_permission_that_shows_it():
    lines = doctor_formats.unseen_lines([audit(OK, DENIED, ERRED, FAILED, FOLLOWS)], frozenset(), width=200)
    text = "\n".join(lines)
    assert (
        lines[0]
        == "not seen: network (1 subject), value (1 subject); doctor exits 3, since exit 0 needs every check judged"
    )
    # the action as caller-policy prints it, and the caller-policy that holds it
    assert (
        "let the caller call secretsmanager:GetSecretValue, as `rotation-tf caller-policy doctor --read-values` prints it"
        in text
    )
    assert "not seen because: ec2:DescribeSubnets failed: Throttling (Rate exceeded)" in text
    assert text.endswith("to accept them unseen: --allow-unknown network,value")
    assert "grants" not in text  # follows from a failure: judged once key-policy is fixed
    accepted = doctor_formats.unseen_lines([audit(OK, DENIED)], frozenset({"value"}))
    assert accepted == ["accepted as unknown (--allow-unknown): value (1)"]
    assert doctor_formats.unseen_lines([audit(OK, FAILED, FOLLOWS)], frozenset()) == []


def test_allow_unknown_names_are_the_registrys():
    assert commands.allow_unknown_problems([c.id for c in registry.CHECKS if c.id != "account"]) == []
    assert commands.allow_unknown_problems(["vaule"]) == [
        "--allow-unknown: 'vaule' is not a doctor check; did you mean 'value'?"
    ]
    assert commands.allow_unknown_problems(["account"]) == [
        "--allow-unknown: 'account' cannot be accepted: an account doctor could not read is exit 3"
    ]
    [problem] = commands.allow_unknown_problems(["zzz"])
    assert problem.startswith("--allow-unknown: 'zzz' is not a doctor check; the checks: function, runtime")


def test_a_bad_name_is_exit_2_before_any_call(tmp_path: Path):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: a call would be exit 3
    run = cli("doctor", str(MANIFEST), "--endpoint-url", url, "--allow-unknown", "value,vaule", "--max-attempts", "1")
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == "rotation-tf: --allow-unknown: 'vaule' is not a doctor check; did you mean 'value'?\n"
    # repeatable and comma-separated alike; good names go on to the call (refused: exit 3)
    run = cli("doctor", str(MANIFEST), "--endpoint-url", url, "--allow-unknown", "value", "--allow-unknown",
              "network,database", "--max-attempts", "1", "--timeout", "1")  # fmt: skip
    assert run.returncode == 3 and "cannot reach AWS" in run.stderr


def test_discover_comments_escape_every_line_break_yaml_knows():
    """Every comment discover builds from an account string or a value's evidence goes through
    one helper: no LF, CR, NEL, LS or PS (nor another control character) ends the comment."""
    import yaml

    from generator.live.discover import comment_text

    hostile = "a\nb\rc\x85d\u2028e\u2029f\x1b[31mg\th"
    line = f"x: 1  # {comment_text(hostile)}"
    assert line == "x: 1  # a\\nb\\rc\\u0085d\\u2028e\\u2029f\\u001b[31mg\th"
    assert yaml.safe_load(line + "\ny: 2\n") == {"x": 1, "y": 2}
    for brk in "\n\r\x85\u2028\u2029":  # the control: unescaped, each one ends the comment
        assert yaml.safe_load(f"x: 1  # a{brk}y: 3\n") == {"x": 1, "y": 3}
        assert yaml.safe_load(f"x: 1  # {comment_text(f'a{brk}y: 3')}\n") == {"x": 1}


@pytest.mark.parametrize(
    ("text", "keys", "why"),
    [
        ('{"engine": "postgres", "host": "[[[{{{", "password": "]]]"}', {"engine", "host", "password"}, ""),
        ('{"a": ' + "[" * 31 + "]" * 31 + "}", {"a"}, ""),  # 32 levels: read
        ('{"a": ' + "[" * 32 + "]" * 32 + "}", None, "nested deeper than 32 levels"),
        ("[" * 20_000 + "]" * 20_000, None, "nested deeper than 32 levels"),  # issue 26: RecursionError before
        ("[" * 20_000, None, "nested deeper than 32 levels"),
        ('{"a": "' + "x" * 65_600 + '"}', None, "longer than 65,536 characters"),
        ("user=app password=x", None, "it is not JSON"),
        ('["engine"]', None, "it is JSON but an array, not an object"),
        (None, None, "binary"),
    ],
)
def test_a_value_is_parsed_within_bounds(text, keys, why):
    from generator.live.client import value_shape_of

    shape = value_shape_of(text, ("engine",))
    assert shape.keys == (frozenset(keys) if keys is not None else None)
    assert why in shape.why and (shape.why == "") == (keys is not None)
