"""The security linters infra teams run on such code: checkov on every generated module,
parliament on every generated policy document.

checkov runs from its own virtualenv (see the ``checkov`` fixture). Its failures must be
zero on IAM roles and policies, Lambda permissions (CKV_AWS_364 among them) and Secrets
Manager resources. On a packaged ``aws_lambda_function`` the only failures allowed are the
hygiene checks that docs/scanners.md lists with the reason
they do not apply by default; each of those the manifest can satisfy is shown satisfied by
a manifest that sets the option.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers.paths import EXAMPLES, GOLDEN, ROOT
from parliament import analyze_policy_string

from generator import api, model, render

# Hygiene checks on a packaged function that the default module does not satisfy, and why
# (docs/scanners.md repeats this list). None of them is in the IAM / permission / secrets families.
DOCUMENTED = {
    "CKV_AWS_115": "reserved concurrency: opt-in (package.reserved_concurrency); a default would fail on accounts "
    "whose unreserved concurrency is at Lambda's minimum",
    "CKV_AWS_116": "dead-letter queue: Secrets Manager invokes the function synchronously; a DLQ only receives "
    "failed asynchronous invocations, so it would stay empty",
    "CKV_AWS_117": "VPC: only a function whose database is in a VPC needs one (the vpc: option)",
    "CKV_AWS_173": "environment variable encryption with a CMK: the only variable is the public Secrets Manager "
    "endpoint URL, and Lambda encrypts variables at rest with an AWS managed key",
    "CKV_AWS_272": "code signing: opt-in (package.code_signing_config_arn); it needs the organisation's own "
    "signing profile",
}
# Satisfied by a manifest option (shown below).
BY_OPTION = {
    "CKV_AWS_115": ("reserved_concurrency", 5),
    "CKV_AWS_272": (
        "code_signing_config_arn",
        "arn:aws:lambda:us-east-1:111122223333:code-signing-config:csc-0123456789abcdef0",
    ),
}
STRICT_TYPES = ("aws_iam_role", "aws_iam_role_policy", "aws_lambda_permission", "aws_secretsmanager_secret_rotation")

pytestmark = pytest.mark.linters
CHECKOV_GROUP = pytest.mark.xdist_group("checkov")  # one worker runs checkov once for all its tests


def _checkov(exe: Path, tree: Path) -> dict[str, dict[str, list]]:
    """checkov once over ``tree``, whose folders are modules: {folder: its results}.

    One run instead of one per module (checkov's start-up is most of a run: 22.2 s of CPU for
    the seven golden modules one by one, 3.6 s for all in one run). Each module's results are
    the same as those of a run on its folder alone: every check id and resource, passed and
    failed, compared for the seven golden modules when this was written."""
    proc = subprocess.run(
        [str(exe), "-d", str(tree), "--framework", "terraform", "-o", "json", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    data = data[0] if isinstance(data, list) else data
    assert data["summary"]["parsing_errors"] == 0, data["summary"]
    out: dict[str, dict[str, list]] = {p.name: {"passed_checks": [], "failed_checks": []} for p in tree.iterdir()}
    for kind in ("passed_checks", "failed_checks"):
        for check in data["results"][kind]:
            folder = Path(check["file_abs_path"]).resolve().relative_to(tree.resolve()).parts[0]
            out[folder][kind].append(check)
    return out


OPTIONS = "options-module"  # the folder of the module generated with BY_OPTION set


@pytest.fixture(scope="module")
def checkov_results(checkov: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list]]:
    """checkov's results for every golden module (by module name) and for the rotation
    example generated with the options of BY_OPTION set (OPTIONS), from one checkov run."""
    tree = tmp_path_factory.mktemp("checkov")
    for example in EXAMPLES:
        m, _ = api.load(example)
        shutil.copytree(GOLDEN / m.name, tree / m.name)
    work = tmp_path_factory.mktemp("checkov-options")
    data = yaml.safe_load((ROOT / "examples" / "rotation.yaml").read_text())
    for fn in data["functions"].values():
        if fn.get("package"):
            for option, value in BY_OPTION.values():
                fn["package"][option] = value
    (work / "build").mkdir()
    (work / "build" / "rotator.zip").write_bytes((ROOT / "examples" / "build" / "rotator.zip").read_bytes())
    manifest = work / "rotation.yaml"
    manifest.write_text(yaml.safe_dump(data))
    result = api.generate(manifest, work / "out")
    assert result.exit == api.Exit.OK
    shutil.copytree(result.target, tree / OPTIONS)
    return _checkov(checkov, tree)


def _module_for(example: Path) -> tuple[model.Module, Path]:
    m, _ = api.load(example)
    return m, GOLDEN / m.name


@CHECKOV_GROUP
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_checkov(example: Path, checkov_results: dict[str, dict[str, list]], record_property) -> None:
    m, module_dir = _module_for(example)
    text = "".join(p.read_text() for p in module_dir.glob("*.tf"))
    assert "checkov:skip" not in text
    results = checkov_results[m.name]
    failed = [(c["check_id"], c["resource"]) for c in results["failed_checks"]]
    passed = [(c["check_id"], c["resource"]) for c in results["passed_checks"]]
    strict_failures = [f for f in failed if f[1].split(".")[0] in STRICT_TYPES]
    assert strict_failures == [], strict_failures
    others = [f for f in failed if f[1].split(".")[0] not in STRICT_TYPES]
    # Secrets the module creates: no failures, and checkov sees each one's rotation
    # (CKV2_AWS_57 follows secret_id from the literal rotation block to the secret).
    assert [f for f in others if f[1].startswith("aws_secretsmanager_secret.")] == []
    for s in m.managed:
        assert ("CKV2_AWS_57", f"aws_secretsmanager_secret.{s.ident}") in passed
    assert all(r.startswith("aws_lambda_function.") and cid in DOCUMENTED for cid, r in others), others
    # CKV_AWS_364 (SourceAccount/SourceArn on a Lambda permission) ran and passed on each.
    for fn in m.functions:
        assert ("CKV_AWS_364", f"aws_lambda_permission.{fn.key}") in passed
    record_property(
        "checkov",
        {
            "passed": len(passed),
            "failed": len(failed),
            "strict_failed": 0,
            "documented_failed": sorted({c for c, _ in others}),
        },
    )
    print(
        f"checkov {m.name}: {len(passed)} passed, {len(failed)} failed (documented: {sorted({c for c, _ in others})})"
    )


@CHECKOV_GROUP
def test_checkov_options_satisfy_their_checks(checkov_results: dict[str, dict[str, list]]) -> None:
    """The manifest options clear CKV_AWS_115 and CKV_AWS_272; X-Ray (CKV_AWS_50) is on by default."""
    results = checkov_results[OPTIONS]
    failed = {(c["check_id"], c["resource"]) for c in results["failed_checks"]}
    passed = {(c["check_id"], c["resource"]) for c in results["passed_checks"]}
    for check in (*BY_OPTION, "CKV_AWS_50"):
        assert (check, "aws_lambda_function.mysql-alt") in passed, check
    assert {c for c, _ in failed} <= set(DOCUMENTED) - set(BY_OPTION)


def test_docs_list_every_documented_check() -> None:
    doc = (ROOT / "docs" / "scanners.md").read_text()
    for check in DOCUMENTED:
        assert check in doc, f"docs/scanners.md does not explain {check}"


# ---------------------------------------------------------------------------------------
# parliament

# Known false positive, recorded with its reason: a role's trust policy is a resource-based
# policy attached to the role itself; IAM rejects a Resource element in it, so parliament's
# "Statement contains neither Resource nor NotResource" (it reads every document as an
# identity policy) cannot be fixed and does not apply.
TRUST_FALSE_POSITIVE = ("MALFORMED", "Statement contains neither Resource nor NotResource")


# Known finding on the compact form, recorded with its reason: AWS's published rotation
# templates condition on secretsmanager:resource/AllowRotationLambdaArn (an ARN-typed key)
# with StringEquals; an exact string comparison of an ARN is correct, and parliament itself
# classes it as usable. The generator keeps AWS's published form.
COMPACT_TYPE_NOTE = (
    "MISMATCHED_TYPE_BUT_USABLE",
    "Type mismatch: StringEquals requires a value of type String but given Arn",
)


def _findings(doc: dict) -> list[tuple[str, str]]:
    policy = analyze_policy_string(json.dumps(doc), include_community_auditors=True)
    return [(f.issue, str(f.detail)) for f in policy.findings]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_parliament_role_policies_have_no_findings(example: Path) -> None:
    m, _ = api.load(example)
    for fn in m.functions:
        if fn.policy is None:  # a rotation application brings its own role and policy
            continue
        assert _findings(fn.policy.document()) == [], fn.key
    if m.external_role is not None:
        findings = [f for f in _findings(m.external_role.policy.document()) if not _type_key_unknown(f)]
        assert findings == [], "external rotation role"


def _type_key_unknown(finding: tuple[str, str]) -> bool:
    """Known false positive, recorded with its reason: parliament's IAM definitions predate
    the secretsmanager:resource/Type condition key that AWS's own managed external secrets
    example conditions on (https://docs.aws.amazon.com/secretsmanager/latest/userguide/mes-security.html)."""
    issue, detail = finding
    return issue == "UNKNOWN_CONDITION_FOR_ACTION" and "secretsmanager:resource/Type" in detail


def test_parliament_trust_policy_only_known_false_positive() -> None:
    assert _findings(render._trust_policy()) == [TRUST_FALSE_POSITIVE]


def test_parliament_sees_what_the_scoping_fixed() -> None:
    """The seed's VPC statement (ec2 actions on "*") is what parliament flags; ours is clean."""
    seed = json.loads((ROOT / "tests" / "data" / "seed" / "single_user.json").read_text())
    eni = [s for s in seed["Statement"] if s["Action"][0].startswith("ec2:")]
    got = _findings({"Version": "2012-10-17", "Statement": eni})
    assert [f[0] for f in got] == ["RESOURCE_STAR"]


def test_parliament_on_every_option_combination(tmp_path: Path) -> None:
    """Compact form, X-Ray grants, CMKs on masters: every statement shape the builder makes."""
    from generator import policies

    ctx = policies.Context("aws", "us-east-1", "111122223333")
    grants = tuple(
        policies.SecretGrant(
            f"arn:aws:secretsmanager:us-east-1:111122223333:secret:s{i}-AbCdEf",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:master-AbCdEf",
            "arn:aws:kms:us-east-1:111122223333:key/abcd1234-ab12-cd34-ef56-abcdef123456",
        )
        for i in range(3)
    )
    fn_arn = "arn:aws:lambda:us-east-1:111122223333:function:f"
    for form in (policies.EXPLICIT, policies.COMPACT):
        for in_vpc in (False, True):
            for traced in (False, True):
                vpc = (
                    {"subnet_ids": ("subnet-0a1b2c3d4e5f60718",), "security_group_ids": ("sg-0a1b2c3d4e5f60718",)}
                    if in_vpc
                    else {}
                )
                doc = policies.build(
                    grants,
                    ctx=ctx,
                    function_name="f",
                    function_arn=fn_arn,
                    in_vpc=in_vpc,
                    traced=traced,
                    form=form,
                    **vpc,
                ).document()
                expected = [COMPACT_TYPE_NOTE] if form == policies.COMPACT else []
                assert _findings(doc) == expected, (form, in_vpc, traced)
