"""`doctor --format sarif` and `--format asff`, from findings alone: SARIF validates against
the SARIF 2.1.0 schema (vendored in tests/data/sarif/, with its license), levels and rules
come from the registry, results sit on the manifest entry's line; ASFF has what Security Hub
requires, the registry's severity and controls, and stable ids. The runs against moto (the
lines of a real manifest, the Security Hub round trip) are in tests/moto/test_moto_accounts.py."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import pytest
from helpers.paths import ROOT

from generator.formats import asff, sarif
from generator.live import commands, registry
from generator.live.findings import Audit, Finding

SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
ACCOUNT, REGION = "111122223333", "us-east-1"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/orders/db-AbCdEf"
FN_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:pg-rotator"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def _f(subject: str, check: str, status: str, resource: str, line: int, message: str = "it is so") -> Finding:
    return Finding(subject, check, status, message, "do this", account=ACCOUNT, region=REGION,
                   file="infra/rotation.yaml", line=line, resource=resource)  # fmt: skip


FINDINGS = [
    _f("pg-single", "function", "pass", FN_ARN, 12),
    _f("pg-single", "runtime", "warn", FN_ARN, 12, "python3.9 is deprecated on 2025-12-15"),
    _f("prod/orders/db", "rotation", "fail", SECRET_ARN, 30, "rotation is off"),
    _f("prod/orders/db", "overdue", "fail", SECRET_ARN, 30),
    _f("prod/orders/db", "key-policy", "unknown", KEY_ARN, 30, "could not check: access denied to kms:GetKeyPolicy"),
]


def test_sarif_validates_against_the_2_1_0_schema():
    doc = sarif.render(FINDINGS)
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    errors = sorted(jsonschema.Draft4Validator(SCHEMA).iter_errors(doc), key=str)
    assert not errors, errors[:3]
    # the validation can fail: a result without its message is refused
    broken = json.loads(json.dumps(doc))
    del broken["runs"][0]["results"][0]["message"]
    assert list(jsonschema.Draft4Validator(SCHEMA).iter_errors(broken))


def test_sarif_rules_levels_and_locations():
    run = sarif.render(FINDINGS)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [c.id for c in registry.CHECKS]  # one rule per check
    for rule, check in zip(rules, registry.CHECKS, strict=True):
        assert rule["help"]["text"].startswith(check.help) and rule["helpUri"] == check.source
        assert rule["shortDescription"]["text"] == check.title
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("runtime", "warning"),
        ("rotation", "error"),
        ("overdue", "error"),
        ("key-policy", "note"),
    ]  # passes are left out; fail -> error, warn -> warning, unknown -> note
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        [loc] = r["locations"]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == "infra/rotation.yaml"
    assert results[1]["locations"][0]["physicalLocation"]["region"] == {"startLine": 30}
    assert "rotation is off" in results[1]["message"]["text"] and "Fix: do this" in results[1]["message"]["text"]
    # stable across runs, different per check
    again = sarif.render(FINDINGS)["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in again] == [r["partialFingerprints"] for r in results]
    assert len({r["partialFingerprints"]["rotationTf/v1"] for r in results}) == len(results)


REQUIRED = ("SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt", "UpdatedAt",
            "Severity", "Title", "Description", "Resources")  # fmt: skip


def test_asff_one_finding_per_failing_or_unknown_check():
    out = asff.render(FINDINGS, NOW)
    assert [(f["GeneratorId"], f["Compliance"]["Status"]) for f in out] == [
        ("rotation-tf/rotation", "FAILED"), ("rotation-tf/overdue", "FAILED"), ("rotation-tf/key-policy", "NOT_AVAILABLE")
    ]  # fmt: skip
    for f in out:
        assert all(f.get(k) for k in REQUIRED), [k for k in REQUIRED if not f.get(k)]
        assert f["AwsAccountId"] == ACCOUNT and f["Region"] == REGION
        assert f["ProductArn"] == f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
        assert f["CreatedAt"] == "2026-11-29T12:00:00.000Z"
    rotation, overdue, key = out
    assert rotation["Resources"] == [{"Type": "AwsSecretsManagerSecret", "Id": SECRET_ARN, "Partition": "aws",
                                      "Region": REGION}]  # fmt: skip
    assert key["Resources"][0]["Type"] == "AwsKmsKey" and key["Resources"][0]["Id"] == KEY_ARN
    assert rotation["Compliance"]["RelatedRequirements"] == ["SecretsManager.1"]
    assert overdue["Compliance"]["RelatedRequirements"] == ["SecretsManager.2", "SecretsManager.4"]
    assert "RelatedRequirements" not in key["Compliance"]
    assert rotation["Severity"] == {"Label": registry.BY_ID["rotation"].severity}
    assert key["Severity"] == {"Label": "INFORMATIONAL"}  # it could not look: nothing found
    assert rotation["Remediation"]["Recommendation"] == {"Text": "do this", "Url": registry.BY_ID["rotation"].source}
    # a re-run gives the same ids: Security Hub updates the findings instead of adding more
    assert [f["Id"] for f in asff.render(FINDINGS, NOW.replace(day=30))] == [f["Id"] for f in out]
    assert len({f["Id"] for f in out}) == 3


def test_asff_to_another_security_hub_account_keeps_the_audited_account():
    [f, *_] = asff.render(FINDINGS, NOW, hub_account="999988887777")
    assert f["AwsAccountId"] == "999988887777" and f["ProductArn"].endswith(":product/999988887777/default")
    assert f["ProductFields"]["rotation-tf/account"] == ACCOUNT and ACCOUNT in f["Resources"][0]["Id"]


def test_asff_batches_of_100():
    assert [len(b) for b in asff.batches(list(range(250)))] == [100, 100, 50]


@pytest.mark.parametrize("fmt", ["sarif", "asff"])
def test_an_unreachable_account_is_still_a_valid_document(fmt, tmp_path: Path):
    """No AWS at all, two manifests (one alone keeps the single-account contract: one line on
    stderr, nothing on stdout): each unknown 'account' finding is rendered, at account_id."""
    manifest = tmp_path / "rotation.yaml"
    manifest.write_text((ROOT / "examples" / "rotation.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    other = tmp_path / "other.yaml"
    other.write_text(manifest.read_text(), encoding="utf-8")
    out = io.StringIO()
    conn = commands.Connection(endpoint_url="http://127.0.0.1:9", max_attempts=1, timeout=1)
    code = commands.doctor([manifest, other], conn, fmt=fmt, out=out)
    assert code == 3
    doc = json.loads(out.getvalue())
    line = next(i for i, t in enumerate(manifest.read_text().splitlines(), 1) if t.startswith("account_id:"))
    if fmt == "sarif":
        assert not list(jsonschema.Draft4Validator(SCHEMA).iter_errors(doc))
        result, _ = doc["runs"][0]["results"]
        assert (result["ruleId"], result["level"]) == ("account", "note")
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == line
    else:
        finding, _ = doc
        assert finding["Compliance"]["Status"] == "NOT_AVAILABLE"
        assert finding["Resources"][0]["Type"] == "AwsAccount"


# ---- where a result is (issue 25, section 4): rooted at the repository, the exact field -------


def _repo(tmp_path: Path) -> Path:
    """A repository (a folder with .git) holding infra/my rotation.yaml, the example manifest."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "infra").mkdir()
    (repo / "out").mkdir()
    manifest = repo / "infra" / "my rotation.yaml"
    text = (ROOT / "examples" / "rotation.yaml").read_text(encoding="utf-8")
    manifest.write_text(text.replace("version: 1\n", "version: 1\nmodule: rotation\n"), encoding="utf-8")
    return manifest


def _audit(manifest: Path, *findings: Finding) -> Audit:
    from generator import api
    from generator.live.findings import Report

    module = api.validate(manifest).module
    assert module is not None
    return Audit(manifest, module, Report(ACCOUNT, REGION, list(findings)))


def _key(manifest: Path, text: str, after: str = "") -> tuple[int, int]:
    """1-based line and column of the first key ``text`` (after the line holding ``after``)."""
    lines = manifest.read_text().splitlines()
    start = next(i for i, t in enumerate(lines) if after in t) if after else 0
    i = next(i for i in range(start, len(lines)) if lines[i].lstrip().startswith(f"{text}:"))
    return i + 1, lines[i].index(text) + 1


def _at(manifest: Path, text: str, after: str = "") -> dict[str, int]:
    line, column = _key(manifest, text, after)
    return {"startLine": line, "startColumn": column}


def test_results_sit_on_the_exact_field_rooted_at_the_repository(tmp_path, monkeypatch):
    manifest = _repo(tmp_path)
    monkeypatch.chdir(manifest.parent.parent / "out")  # run from out/: the URI must not be ../infra/...
    audit = _audit(
        manifest,
        Finding("prod/orders/db", "schedule", "fail", "window 2h, not 3h", "set it", field=("schedule", "window")),
        Finding("prod/orders/db", "key-state", "fail", "key ... is disabled", "enable it"),
        Finding("prod/orders/db", "grants", "fail", "role r may not rotate it", "apply"),
        Finding("mysql-alt", "runtime", "warn", "python3.12 ends soon", "upgrade"),
        Finding("mysql-alt", "egress", "unknown", "could not check", "allow it"),
    )
    commands._stamped(audit)
    doc = sarif.render(audit.report.findings)
    assert not list(jsonschema.Draft4Validator(SCHEMA).iter_errors(doc))
    run = doc["runs"][0]
    repo = manifest.parent.parent.resolve()
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": f"file://{repo.as_posix()}/"}}
    where = [r["locations"][0]["physicalLocation"] for r in run["results"]]
    assert {json.dumps(w["artifactLocation"]) for w in where} == {
        json.dumps({"uri": "infra/my%20rotation.yaml", "uriBaseId": "%SRCROOT%"})
    }
    line, col = _key(manifest, "window", after="prod/orders/db:")  # window:, not the secret's key
    assert where[0]["region"] == {"startLine": line, "startColumn": col}
    assert where[1]["region"] == _at(manifest, "kms_key_arn", "prod/orders/db:")
    assert where[2]["region"] == _at(manifest, "prod/orders/db")
    assert where[3]["region"] == _at(manifest, "runtime", "mysql-alt:")
    assert where[4]["region"] == _at(manifest, "security_group_ids", "mysql-alt:")
    # ASFF names the same file, relative to the repository
    [finding, *_] = asff.render(audit.report.findings, NOW)
    assert finding["ProductFields"]["rotation-tf/manifest"] == f"infra/my rotation.yaml:{line}"


def test_outside_a_repository_the_root_is_the_working_directory(tmp_path, monkeypatch):
    folder = tmp_path / "plain"
    folder.mkdir()
    manifest = folder / "rotation.yaml"
    manifest.write_text((ROOT / "examples" / "rotation.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(folder)
    audit = _audit(manifest, Finding("prod/orders/db", "rotation", "fail", "rotation is off", "apply"))
    commands._stamped(audit)
    run = sarif.render(audit.report.findings)["runs"][0]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": f"file://{folder.resolve().as_posix()}/"}}
    [result] = run["results"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "rotation.yaml", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == _at(manifest, "function", "prod/orders/db:")
    # a manifest under neither the repository nor the working directory: an absolute file: URI
    monkeypatch.chdir(tmp_path)
    elsewhere = tmp_path / "x" / "rotation.yaml"
    elsewhere.parent.mkdir()
    elsewhere.write_text(manifest.read_text())
    monkeypatch.chdir(folder)
    audit = _audit(elsewhere, Finding("prod/orders/db", "rotation", "fail", "rotation is off", "apply"))
    commands._stamped(audit)
    run = sarif.render(audit.report.findings)["runs"][0]
    assert "originalUriBaseIds" not in run
    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri == {"uri": f"file://{elsewhere.resolve().as_posix()}"}


def test_no_message_starts_with_a_rule_id():
    """A common SARIF viewer takes a message that starts with its rule id ('rotation is off')
    for a description; every message starts with what it is about."""
    account = Finding(
        ACCOUNT, "account", "unknown", "could not read the account", "fix", account=ACCOUNT, region=REGION
    )
    results = sarif.render([*FINDINGS, account])["runs"][0]["results"]
    ids = [c.id for c in registry.CHECKS]
    for r in results:
        text = r["message"]["text"]
        assert not any(text.lower().startswith(i) for i in ids), text
    assert results[1]["message"]["text"] == (
        f"The secret prod/orders/db in account {ACCOUNT} ({REGION}): rotation is off. Fix: do this"
    )
    assert results[-1]["message"]["text"].startswith(f"The account {ACCOUNT} ({REGION}): could not read")


def test_the_schedule_check_names_the_field_that_differs():
    from generator import model as model_mod
    from generator.live.checks.rotation import schedule_field

    schedule = model_mod.Schedule(every_days=30, expression=None, window="3h")
    assert schedule_field(schedule, {"AutomaticallyAfterDays": 30, "Duration": "2h"}) == ("schedule", "window")
    assert schedule_field(schedule, {"AutomaticallyAfterDays": 7, "Duration": "2h"}) == ("schedule", "every_days")
    assert schedule_field(schedule, {"AutomaticallyAfterDays": 30, "Duration": "3h"}) == ("schedule",)
