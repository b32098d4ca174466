"""`rotation-tf diff BASE NEW`: pairs of manifests, one for every kind of change, through
the real CLI (exit code, JSON, text, markdown), plus the git:REV:PATH form in a real git
repository. The expected grants are derived from generator.policies' statements, never
from the generated HCL."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers.paths import ROOT

KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROTATE = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
]


def example() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "examples" / "rotation.yaml").read_text())


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "generator", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def work(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "examples" / "build", tmp_path / "build")
    return tmp_path


def diff(
    work: Path, base: dict[str, Any] | None, new: dict[str, Any] | None, *extra: str
) -> subprocess.CompletedProcess:
    args = []
    for name, data in (("base", base), ("new", new)):
        if data is None:
            args.append("/dev/null")
            continue
        (work / name).mkdir(exist_ok=True)
        (work / name / "rotation.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        shutil.copytree(work / "build", work / name / "build", dirs_exist_ok=True)
        args.append(f"{name}/rotation.yaml")
    return cli("diff", *args, *extra, cwd=work)


def changes(work: Path, base: dict[str, Any] | None, new: dict[str, Any] | None) -> list[dict[str, Any]]:
    proc = diff(work, base, new, "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert proc.returncode == (1 if doc["changes"] else 0)
    return doc["changes"]


def grants(cs: list[dict[str, Any]], change: str) -> set[tuple[str, str, str, str | None]]:
    return {
        (
            c["function"],
            c["action"],
            c["resource"],
            json.dumps(c["condition"], sort_keys=True) if c["condition"] else None,
        )
        for c in cs
        if c["kind"] == "grant" and c["change"] == change
    }


def kinds(cs: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(c["kind"], c["change"]) for c in cs}


def test_same_manifest_changes_nothing(work: Path) -> None:
    proc = diff(work, example(), example())
    assert proc.returncode == 0, proc.stderr
    assert "no change to grants, invocation, rotation or created resources" in proc.stdout
    assert changes(work, example(), example()) == []


def test_tags_and_descriptions_grant_nothing(work: Path) -> None:
    new = example()
    new["tags"]["team"] = "another"
    new["functions"]["mysql-alt"]["description"] = "rotates the users database"
    new["functions"]["mysql-alt"]["package"]["memory_size"] = 256
    assert changes(work, example(), new) == []


def test_added_secret_adds_exactly_its_grants_with_reasons(work: Path) -> None:
    """A secret sharing a KMS key adds the four rotation actions on its ARN and one
    kms grant per action for its SecretARN, and removes nothing (the key's condition
    only gains a value)."""
    new = example()
    new["secrets"]["prod/payments/db"] = {"function": "pg-single", "kms_key_arn": KEY, "schedule": {"every_days": 7}}
    cs = changes(work, example(), new)
    arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/payments/db-??????"
    cond = json.dumps({"StringLike": {"kms:EncryptionContext:SecretARN": arn}}, sort_keys=True)
    assert grants(cs, "added") == {("pg-single", a, arn, None) for a in ROTATE} | {
        ("pg-single", "kms:Decrypt", KEY, cond),
        ("pg-single", "kms:GenerateDataKey", KEY, cond),
    }
    assert grants(cs, "removed") == set()
    rotation = [c for c in cs if c["kind"] == "rotation"]
    assert rotation == [
        {
            "kind": "rotation",
            "change": "added",
            "secret": "prod/payments/db",
            "function": "pg-single",
            "schedule": {"every_days": 7, "expression": None, "window": None, "rotate_immediately": False},
        }
    ]
    reasons = {c["action"]: c["reason"] for c in cs if c["kind"] == "grant"}
    assert reasons["secretsmanager:PutSecretValue"] == "rotate the secrets that use this function (seed)"
    assert reasons["kms:Decrypt"] == "customer managed key of rotated secrets"
    for c in cs:
        if c["kind"] == "grant":
            assert {"function", "change", "action", "resource", "condition", "reason", "role"} <= set(c)


def test_removed_secret_removes_its_grants_and_its_rotation(work: Path) -> None:
    new = example()
    del new["secrets"]["prod/users/db"]  # the only secret of mysql-alt: its master and keys go too
    cs = changes(work, example(), new)
    removed = grants(cs, "removed")
    assert (
        "mysql-alt",
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/users/db-admin-Mst456",
        None,
    ) in removed
    assert {a for f, a, r, c in removed if r.endswith("prod/users/db-XyZ123")} == set(ROTATE)
    assert grants(cs, "added") == set()
    assert ("rotation", "removed") in kinds(cs)


def test_schedule_changes_are_called_out_without_grants(work: Path) -> None:
    new = example()
    new["secrets"]["prod/orders/db"]["schedule"] = {"expression": "rate(7 days)", "window": "4h"}
    new["secrets"]["prod/billing/db"]["rotate_immediately"] = True
    cs = changes(work, example(), new)
    assert kinds(cs) == {("schedule", "changed")}
    by = {c["secret"]: c for c in cs}
    assert by["prod/orders/db"]["before"] == {
        "every_days": 30,
        "expression": None,
        "window": "3h",
        "rotate_immediately": False,
    }
    assert by["prod/orders/db"]["after"] == {
        "every_days": None,
        "expression": "rate(7 days)",
        "window": "4h",
        "rotate_immediately": False,
    }
    text = diff(work, example(), new).stdout
    assert "~ schedule prod/orders/db: every 30 days, window 3h -> rate(7 days), window 4h" in text
    assert "rotate immediately" in text


def test_a_secret_moving_to_another_function_moves_its_grants(work: Path) -> None:
    base = example()
    base["secrets"]["prod/billing/db"]["kms_key_arn"] = KEY
    new = copy.deepcopy(base)
    new["functions"]["pg-two"] = dict(
        base["functions"]["pg-single"], existing_function_arn="arn:aws:lambda:us-east-1:111122223333:function:pg-two"
    )
    new["secrets"]["prod/billing/db"]["function"] = "pg-two"
    cs = changes(work, base, new)
    arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/billing/db-??????"
    assert [c for c in cs if c["kind"] == "secret_function"] == [
        {
            "kind": "secret_function",
            "change": "changed",
            "secret": "prod/billing/db",
            "before": "pg-single",
            "after": "pg-two",
        }
    ]
    assert {(f, a) for f, a, r, _c in grants(cs, "removed") if r == arn} == {("pg-single", a) for a in ROTATE}
    assert {(f, a) for f, a, r, _c in grants(cs, "added") if r == arn} == {("pg-two", a) for a in ROTATE}
    # the invoke permission of the new function; no role is created: an existing function
    # keeps the role it runs as, which gets the grants
    assert ("permission", "added") in kinds(cs)
    assert {(c["type"], c["name"]) for c in cs if c["kind"] == "resource"} == set()


def test_created_secret_is_a_created_resource(work: Path) -> None:
    new = example()
    new["secrets"]["prod/new/db"] = {
        "function": "pg-single",
        "create": True,
        "password_in_database": True,
        "connection": {"host": "db.internal", "username": "app"},
        "schedule": {"every_days": 30},
    }
    cs = changes(work, example(), new)
    created = {
        "kind": "resource",
        "change": "created",
        "type": "secret",
        "name": "prod/new/db",
        "secret": "prod/new/db",
    }
    assert created in cs
    assert ("rotation", "added") in kinds(cs)
    assert changes(work, new, example()) and {
        "kind": "resource",
        "change": "destroyed",
        "type": "secret",
        "name": "prod/new/db",
        "secret": "prod/new/db",
    } in changes(work, new, example())


def test_function_source_and_created_function(work: Path) -> None:
    new = example()
    fn = new["functions"]["pg-single"]
    del fn["existing_function_arn"]
    fn["package"] = {
        "filename": "build/rotator.zip",
        "handler": "lambda_function.lambda_handler",
        "runtime": "python3.12",
    }
    cs = changes(work, example(), new)
    source = [c for c in cs if c["kind"] == "function_source"]
    assert (
        source
        and source[0]["before"] == "existing function pg-rotator"
        and source[0]["after"].startswith("zip build/rotator.zip")
    )
    created = {"kind": "resource", "change": "created", "type": "function", "name": "acme-pg-single"}
    assert {**created, "function": "pg-single"} in cs
    # the permission now names the created function; logs go to its log group
    perms = {c["change"]: c["permission"] for c in cs if c["kind"] == "permission"}
    assert "function:pg-rotator" in perms["removed"] and "function:acme-pg-single" in perms["added"]
    assert any(
        c["action"] == "logs:PutLogEvents" and "acme-pg-single" in c["resource"] for c in cs if c["kind"] == "grant"
    )


def test_renamed_function_is_the_same_function(work: Path) -> None:
    new = example()
    new["functions"]["postgres"] = dict(new["functions"].pop("pg-single"), previous_names=["pg-single"])
    for s in new["secrets"].values():
        if s["function"] == "pg-single":
            s["function"] = "postgres"
    assert changes(work, example(), new) == []  # same role (named after the oldest key), same grants


def test_lock_to_secret_changes_the_invoke_permission(work: Path) -> None:
    base = example()
    new = copy.deepcopy(base)
    new["functions"]["mysql-alt"]["lock_to_secret"] = True
    cs = changes(work, base, new)
    assert kinds(cs) == {("permission", "added"), ("permission", "removed")}
    assert [c["permission"] for c in cs if c["change"] == "added"][0].endswith("only for secret prod/users/db)")


def test_switch_to_the_compact_form(work: Path) -> None:
    base = yaml.safe_load((ROOT / "examples" / "minimal.yaml").read_text())
    base["secrets"] = {
        f"prod/service-{i:03d}/database": {"function": "rotator", "schedule": {"every_days": 7}} for i in range(100)
    }
    new = copy.deepcopy(base)
    new["secrets"].update(
        {
            f"prod/service-{i:03d}/database": {"function": "rotator", "schedule": {"every_days": 7}}
            for i in range(100, 160)
        }
    )
    cs = changes(work, base, new)
    assert [c for c in cs if c["kind"] == "policy_form"] == [
        {"kind": "policy_form", "change": "changed", "function": "rotator", "before": "explicit", "after": "compact"}
    ]
    wildcard = "arn:aws:secretsmanager:us-east-1:111122223333:secret:*"
    added = grants(cs, "added")
    assert {a for f, a, r, c in added if r == wildcard and c and "AllowRotationLambdaArn" in c} == set(ROTATE)
    assert len(grants(cs, "removed")) == 4 * 100  # the explicit grants on each of the 100 secrets


def test_markdown_puts_added_first_and_collapses_past_fifty_rows(work: Path) -> None:
    new = example()
    new["secrets"].update(
        {f"prod/svc-{i:02d}/db": {"function": "pg-single", "schedule": {"every_days": 7}} for i in range(60)}
    )
    del new["secrets"]["prod/billing/db"]
    proc = diff(work, example(), new, "--format", "markdown")
    assert proc.returncode == 1, proc.stderr
    md = proc.stdout
    assert md.index("#### Privileges added") < md.index("#### Privileges removed")
    visible = md.split("<details>")[0]
    rows = [
        line
        for line in visible.splitlines()
        if line.startswith("| ") and not line.startswith("| Function") and not line.startswith("| |")
    ]
    assert len(rows) == 50
    assert "<details><summary>" in md and md.rstrip().endswith("manifests.</sub>")
    assert md.count("secret:prod/svc-") == 60  # one grants row per secret (its four actions together)
    assert md.count("| + | rotation | `prod/svc-") == 60  # and one rotation row


def test_text_is_coloured_only_on_request_or_a_terminal(work: Path) -> None:
    new = example()
    del new["secrets"]["prod/billing/db"]
    assert "\x1b[" not in diff(work, example(), new).stdout
    coloured = diff(work, example(), new, "--color", "always").stdout
    assert "\x1b[31m    - secretsmanager:DescribeSecret" in coloured


def test_dev_null_is_no_manifest(work: Path) -> None:
    cs = changes(work, None, example())
    assert {c["secret"] for c in cs if c["kind"] == "rotation"} == set(example()["secrets"])
    assert grants(cs, "removed") == set() and grants(cs, "added")
    assert {c["name"] for c in cs if c["kind"] == "resource"} == {"acme-mysql-alt", "acme-mysql-alt-rotation-use1"}


def test_bad_input_exits_2(work: Path) -> None:
    bad = example()
    bad["functions"]["pg-single"]["strategy"] = "single_usr"
    proc = diff(work, example(), bad)
    assert proc.returncode == 2
    assert "new/rotation.yaml:" in proc.stderr and "did you mean 'single_user'?" in proc.stderr and not proc.stdout
    proc = cli("diff", "nope.yaml", "/dev/null", cwd=work)
    assert proc.returncode == 2 and "nope.yaml: error: no such file" in proc.stderr
    proc = cli("diff", "git:HEAD", "/dev/null", cwd=work)
    assert proc.returncode == 2 and "expected git:REV:PATH" in proc.stderr


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_git_revisions_without_a_checkout(work: Path) -> None:
    repo = work / "repo"
    (repo / "infra").mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / "infra" / "rotation.yaml").write_text(yaml.safe_dump(example()))
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    new = example()
    new["secrets"]["prod/orders/db"]["schedule"]["every_days"] = 7
    (repo / "infra" / "rotation.yaml").write_text(yaml.safe_dump(new))
    _git(repo, "commit", "-qam", "change")
    proc = cli(
        "diff", "git:HEAD~1:infra/rotation.yaml", "git:HEAD:infra/rotation.yaml", "--format", "json", cwd=repo / "infra"
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert [c["kind"] for c in doc["changes"]] == ["schedule"] and doc["base_module"] == doc["new_module"] == "rotation"
    # ./ reads relative to the current folder; a working-tree file works on either side
    proc = cli("diff", "git:HEAD:./rotation.yaml", "rotation.yaml", cwd=repo / "infra")
    assert proc.returncode == 0, proc.stderr
    # a path the revision lacks, and a revision that does not exist
    proc = cli("diff", "git:HEAD~1:infra/other.yaml", "rotation.yaml", cwd=repo / "infra")
    assert proc.returncode == 2 and "/dev/null" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("diff", "git:no-such-rev:infra/rotation.yaml", "rotation.yaml", cwd=repo / "infra")
    assert proc.returncode == 2 and proc.stderr.startswith("git:no-such-rev:infra/rotation.yaml: error:")


def test_git_path_from_a_subfolder_shows_gits_error_and_hint(work: Path) -> None:
    """git's cause (the fatal: line) and its hint, not only the hint; PATH is from the root."""
    repo = work / "repo"
    (repo / "manifests").mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / "manifests" / "orders.yaml").write_text(yaml.safe_dump(example()))
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    proc = cli("diff", "git:HEAD:orders.yaml", "orders.yaml", cwd=repo / "manifests")
    assert proc.returncode == 2 and not proc.stdout
    assert proc.stderr.splitlines() == [
        "git:HEAD:orders.yaml: error: path 'manifests/orders.yaml' exists, but not 'orders.yaml' "
        "(hint: Did you mean 'HEAD:manifests/orders.yaml' aka 'HEAD:./orders.yaml'?); "
        "PATH is read from the repository's root, ./PATH from the current folder"
    ]
    # the two forms the message names both work
    assert cli("diff", "git:HEAD:manifests/orders.yaml", "orders.yaml", cwd=repo / "manifests").returncode == 0
    assert cli("diff", "git:HEAD:./orders.yaml", "orders.yaml", cwd=repo / "manifests").returncode == 0


def test_git_error_keeps_the_cause_line() -> None:
    from generator.diff import git_error

    assert git_error("fatal: invalid object name 'nosuch'.\n", 128) == "invalid object name 'nosuch'."
    assert git_error("", 128) == "git show exited 128"
    assert git_error("warning: x\nerror: bad\nhint: a\nhint: b\n", 1) == "bad (hint: a b)"


def test_a_file_name_that_is_no_module_name_is_fine_for_diff(work: Path) -> None:
    """diff writes no module folder, so `orders.v1.yaml` (module name 'orders.v1') is fine."""
    (work / "orders.v1.yaml").write_text(yaml.safe_dump(example()))
    changed = example()
    changed["secrets"]["prod/orders/db"]["schedule"]["every_days"] = 7
    (work / "orders.yaml").write_text(yaml.safe_dump(changed))
    proc = cli("diff", str(work / "orders.v1.yaml"), "orders.yaml", "--format", "json", cwd=work)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert [c["kind"] for c in doc["changes"]] == ["schedule"] and doc["base_module"] == "orders.v1"
    # generate still refuses it: there the name is a folder
    assert "not a safe folder name" in cli("generate", "orders.v1.yaml", cwd=work).stderr


def _table_rows(md: str, heading: str) -> list[list[str]]:
    """The body rows (cells) of every table under ``heading`` (continued parts and collapsed
    groups included) up to the next heading of another name."""
    rows: list[list[str]] = []
    inside = False
    for line in md.splitlines():
        if line.startswith("#### "):
            inside = line[5:].startswith(heading)
        elif inside and line.startswith("| ") and not line.startswith(("| Function |", "| | Change |")):
            rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_markdown_collapses_a_new_vpc_functions_logs_and_network_rows(work: Path) -> None:
    """Issue 19: a new VPC function's own logs and network-interface grants go into one
    collapsed row group after the grants on secrets and keys; the summary counts the rows
    the tables hold; the Of column names only the manifest's functions and secrets."""
    base = example()
    new = copy.deepcopy(base)
    new["functions"]["vpc-new"] = {
        "strategy": "single_user",
        "engine": "postgresql",
        "package": {
            "filename": "build/rotator.zip",
            "handler": "lambda_function.lambda_handler",
            "runtime": "python3.12",
        },
        "vpc": {"subnet_ids": ["subnet-0a1b2c3d4e5f60718"], "security_group_ids": ["sg-0a1b2c3d4e5f60718"]},
    }
    new["secrets"]["prod/new/db"] = {"function": "vpc-new", "kms_key_arn": KEY, "schedule": {"every_days": 7}}
    new["secrets"]["prod/orders/db"]["schedule"] = {"every_days": 14}
    proc = diff(work, base, new, "--format", "markdown")
    assert proc.returncode == 1, proc.stderr
    md = proc.stdout
    added = md.split("#### Privileges added", 1)[1].split("#### ", 1)[0]
    lead, group = added.split("<details>", 1)
    assert added.count("<details>") == 1 and group.rstrip().endswith("</details>")
    lead_actions = " ".join(line for line in lead.splitlines() if line.startswith("| `"))
    group_rows = [line for line in group.splitlines() if line.startswith("| `")]
    # the security-relevant rows lead: the secret, its key and the password; none of the routine ones
    assert "secretsmanager:PutSecretValue" in lead_actions and "kms:Decrypt" in lead_actions
    assert "secretsmanager:GetRandomPassword" in lead_actions
    assert "logs:" not in lead_actions and "ec2:" not in lead_actions
    # the group: every logs and ec2 row of the new function, and nothing else
    assert group_rows and all(line.startswith("| `vpc-new` |") for line in group_rows)
    assert all(("`logs:" in line) != ("`ec2:" in line) for line in group_rows)
    assert any("`ec2:CreateNetworkInterface`" in line for line in group_rows)
    assert any("`logs:PutLogEvents`" in line for line in group_rows)
    assert f"{len(group_rows)} routine rows of new function `vpc-new`" in group
    # the summary counts what the tables count
    doc = json.loads(diff(work, base, new, "--format", "json").stdout)
    grants_json = [c for c in doc["changes"] if c["kind"] == "grant"]
    rows = _table_rows(md, "Privileges added")
    actions = sum(len(r[1].split("<br>")) for r in rows)
    assert actions == len(grants_json)  # every grant of the JSON is in a row
    others = _table_rows(md, "Rotation, invocation and resources")
    summary = md.splitlines()[2]
    assert summary == (
        f"**{len(rows)} privileges added ({actions} actions), 0 removed; 1 invoke permission added; "
        "1 secret starts rotating; 1 schedule changed; 2 resources created**"
    )
    assert len(others) == 1 + 1 + 1 + 2
    # the Of column: the manifest's names (function keys, secret names) only; AWS names in Detail
    names = set(new["functions"]) | set(new["secrets"])
    assert {r[2].strip("`") for r in others} <= names, others
    assert ["+", "role", "`vpc-new`", "created: acme-vpc-new-rotation-use1"] in others
    assert ["+", "function", "`vpc-new`", "created: acme-vpc-new"] in others
    # the same count in the text format
    text = diff(work, base, new).stdout
    assert text.splitlines()[1].startswith(f"{len(rows)} privileges added ({actions} actions), 0 removed;")
    assert sum(1 for line in text.splitlines() if line.startswith("    + ")) == len(rows)


def test_an_existing_function_gaining_a_vpc_shows_its_network_rows(work: Path) -> None:
    """Only a new function's own logs and interfaces are routine: a function that already
    rotates and gains network access shows those grants in the lead table."""
    base = example()
    new = copy.deepcopy(base)
    new["functions"]["pg-single"]["vpc"] = {
        "subnet_ids": ["subnet-0a1b2c3d4e5f60718"],
        "security_group_ids": ["sg-0a1b2c3d4e5f60718"],
    }
    md = diff(work, base, new, "--format", "markdown").stdout
    assert "<details>" not in md and "| `pg-single` | `ec2:CreateNetworkInterface` |" in md


EXTERNAL = ROOT / "examples" / "external-secrets.yaml"


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_adding_or_removing_the_external_secrets_role_is_a_row_of_its_own(fmt: str) -> None:
    """The role Secrets Manager assumes for managed external secrets belongs to no function:
    its creation and destruction are rows of their own in every format (issue 25: text and
    markdown raised KeyError 'function', exit 1 with an empty stdout)."""
    from helpers.cli import cli as cli_in_process

    role = "acme-external-secrets-external-rotation-use1"
    for base, new, change in (
        ("/dev/null", str(EXTERNAL), "created"),
        (str(EXTERNAL), "/dev/null", "destroyed"),
    ):
        run = cli_in_process("diff", base, new, "--format", fmt)
        assert run.returncode == 1, run.stderr
        assert run.stdout and not run.stderr
        if fmt == "json":
            rows = [c for c in json.loads(run.stdout)["changes"] if c["kind"] == "resource" and c["type"] == "role"]
            assert rows == [{"kind": "resource", "change": change, "type": "role", "name": role}]
        elif fmt == "text":
            sign = "+" if change == "created" else "-"
            assert f"  {sign} role managed external secrets: {change}: {role}\n" in run.stdout
        else:
            sign = "+" if change == "created" else "-"
            assert f"| {sign} | role | `managed external secrets` | {change}: {role} |" in run.stdout
