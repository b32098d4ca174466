"""IAM names are global to an account, Lambda names are regional (issue 11, point 2).

* Fast: the region's short form is distinct for every region; role names carry it; the
  length check counts it; one ``generate`` run refuses two manifests of one account that
  would create the same IAM name, naming both manifests.
* Apply tier: one manifest per region for one account, with the same function keys, both
  applied to the same moto server (one account, two provider regions; both modules in one
  root, one terraform command per step for both). The apply succeeds, IAM holds both roles,
  each function runs as its own region's role, and both modules' re-plans are empty. The
  negative control applies the same two manifests with ``roles.region_in_names: false``
  (generated in two separate runs, as two repositories would): one of the two role
  creations fails with EntityAlreadyExists, so the positive case is a real proof and not a
  setup that could never collide.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers.cli import cli
from helpers.paths import ROOT

from generator import api, aws

ACCOUNT = "111122223333"
REGIONS = ("us-east-1", "eu-west-1")


def _manifest(region: str, *, in_names: bool = True, prefix: str = "team-") -> dict:
    data = {
        "version": 1,
        "account_id": ACCOUNT,
        "region": region,
        "name_prefix": prefix,
        "functions": {
            "pg": {
                "strategy": "single_user",
                "engine": "postgresql",
                "package": {
                    "filename": "build/rotator.zip",
                    "handler": "lambda_function.lambda_handler",
                    "runtime": "python3.12",
                },
            }
        },
        "secrets": {"app/db": {"function": "pg", "schedule": {"every_days": 7}}},
    }
    if not in_names:
        data["roles"] = {"region_in_names": False}
    return data


def _write(folder: Path, name: str, data: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "build").mkdir(exist_ok=True)
    shutil.copyfile(ROOT / "examples" / "build" / "rotator.zip", folder / "build" / "rotator.zip")
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "generator", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_region_short_forms_are_distinct_and_short() -> None:
    shorts = {r: aws.region_short(r) for r in aws.REGIONS}
    assert len(set(shorts.values())) == len(shorts), "two regions share a short form"
    assert shorts["us-east-1"] == "use1" and shorts["eu-west-1"] == "euw1" and shorts["us-gov-west-1"] == "usgovw1"
    assert max(map(len, shorts.values())) <= 7


def test_role_names_carry_the_region_and_the_deployer_policy_too(tmp_path: Path) -> None:
    names = {}
    for region in REGIONS:
        data = _manifest(region)
        data["roles"] = {"permissions_boundary": f"arn:aws:iam::{ACCOUNT}:policy/boundary"}
        m = api.validate(_write(tmp_path / region, "rotation.yaml", data)).module
        assert m is not None
        names[region] = {kind: name for kind, name, _ in m.global_names}
        assert [f.function_name for f in m.functions] == ["team-pg"]  # Lambda names are regional: unchanged
    assert names["us-east-1"] == {
        "IAM role": "team-pg-rotation-use1",
        "IAM managed policy": "team-rotation-rotation-deployer-use1",
    }
    assert names["eu-west-1"] == {
        "IAM role": "team-pg-rotation-euw1",
        "IAM managed policy": "team-rotation-rotation-deployer-euw1",
    }


def test_one_run_with_two_regions_of_one_account(tmp_path: Path) -> None:
    _write(tmp_path, "us.yaml", _manifest("us-east-1"))
    _write(tmp_path, "eu.yaml", _manifest("eu-west-1"))
    proc = _cli("generate", "us.yaml", "eu.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert '"team-pg-rotation-use1"' in (tmp_path / "out" / "us" / "iam.tf").read_text()
    assert '"team-pg-rotation-euw1"' in (tmp_path / "out" / "eu" / "iam.tf").read_text()


def test_a_global_name_used_twice_is_an_error_naming_both_manifests(tmp_path: Path) -> None:
    _write(tmp_path, "us.yaml", _manifest("us-east-1", in_names=False))
    _write(tmp_path, "eu.yaml", _manifest("eu-west-1", in_names=False))
    proc = _cli("generate", "us.yaml", "eu.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    line = (tmp_path / "us.yaml").read_text().splitlines().index("  pg:") + 1  # the same line in both files
    assert (
        f"eu.yaml:{line}:3: error: functions.pg: the IAM role name 'team-pg-rotation' is also created by "
        f"us.yaml:{line}:3 (functions.pg, us-east-1) in account 111122223333; IAM names are global to the account "
        "across regions, so the second apply would fail with EntityAlreadyExists: set roles.region_in_names: true in both"
    ) in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()
    # the same region twice (two module folders, same keys and prefix) collides as well
    _write(tmp_path, "us2.yaml", _manifest("us-east-1"))
    _write(tmp_path, "us3.yaml", _manifest("us-east-1"))
    proc = _cli("generate", "us2.yaml", "us3.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert (
        f"us3.yaml:{line}:3: error: functions.pg: the IAM role name 'team-pg-rotation-use1' is also created by "
        f"us2.yaml:{line}:3 (functions.pg, us-east-1)" in proc.stderr
    )
    assert "rename the function or set another name_prefix in one of them" in proc.stderr
    # another account is another namespace
    other = _manifest("eu-west-1", in_names=False)
    other["account_id"] = "444455556666"
    _write(tmp_path, "other.yaml", other)
    assert _cli("generate", "us.yaml", "other.yaml", cwd=tmp_path).returncode == 0


def _at(path: Path, text: str) -> str:
    """``file:line:col`` of the line ``text`` (a mapping key) in ``path``."""
    lines = path.read_text().splitlines()
    line = lines.index(text)
    return f"{path.name}:{line + 1}:{len(text) - len(text.lstrip()) + 1}"


def test_every_clash_between_manifests_is_reported_in_both_files(tmp_path: Path) -> None:
    """Issue 19: every IAM name and every secret that two manifests of one run claim is an
    error of its own (not only the first), located in both manifests; a third manifest that
    claims the same is told about the first that did."""
    first = _manifest("us-east-1")
    fns = first["functions"]
    fns["my"] = {**fns["pg"], "engine": "mysql"}
    first["secrets"] = {
        "app/db": {"function": "pg", "schedule": {"every_days": 7}},
        "app/users": {"function": "my", "schedule": {"every_days": 7}},
        "app/alone": {"function": "my", "schedule": {"every_days": 7}},
    }
    second = _manifest("us-east-1")
    second["name_prefix"] = "team-"
    # the same IAM names from other keys' order and another layout; the same two secrets
    second["functions"] = {"my": fns["my"], "pg": fns["pg"]}
    second["secrets"] = {
        "app/users": {"function": "pg", "schedule": {"every_days": 1}},
        "app/other": {"function": "pg", "schedule": {"every_days": 7}},
        "app/db": {"function": "my", "schedule": {"every_days": 7}},
    }
    third = _manifest("us-east-1", prefix="third-")
    third["secrets"] = {"app/alone": {"function": "pg", "schedule": {"every_days": 7}}}
    a, b, c = (_write(tmp_path, n, d) for n, d in (("a.yaml", first), ("b.yaml", second), ("c.yaml", third)))
    proc = cli("generate", "a.yaml", "b.yaml", "c.yaml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    iam = (
        "IAM names are global to the account across regions, so the second apply would fail with "
        "EntityAlreadyExists: rename the function or set another name_prefix in one of them"
    )
    undo = (
        "the two modules would undo each other's rotation (rotation_lambda_arn, schedule) on every apply: "
        "keep the secret in one manifest only"
    )
    assert proc.stderr.splitlines() == [
        f"{_at(b, '  my:')}: error: functions.my: the IAM role name 'team-my-rotation-use1' is also created by "
        f"{_at(a, '  my:')} (functions.my, us-east-1) in account 111122223333; {iam}",
        f"{_at(b, '  pg:')}: error: functions.pg: the IAM role name 'team-pg-rotation-use1' is also created by "
        f"{_at(a, '  pg:')} (functions.pg, us-east-1) in account 111122223333; {iam}",
        f"{_at(b, '  app/users:')}: error: secrets[\"app/users\"]: secret 'app/users' (account 111122223333, "
        f"us-east-1) is also in {_at(a, '  app/users:')}, rotated there by function 'my' and here by function 'pg'; "
        f"{undo}",
        f"{_at(b, '  app/db:')}: error: secrets[\"app/db\"]: secret 'app/db' (account 111122223333, us-east-1) is "
        f"also in {_at(a, '  app/db:')}, rotated there by function 'pg' and here by function 'my'; {undo}",
        f"{_at(c, '  app/alone:')}: error: secrets[\"app/alone\"]: secret 'app/alone' (account 111122223333, "
        f"us-east-1) is also in {_at(a, '  app/alone:')}, rotated there by function 'my' and here by function 'pg'; "
        f"{undo}",
        "rotation-tf: 5 error(s); nothing was written.",
    ]
    assert not (tmp_path / "out").exists()
    # each manifest alone is valid: the clashes are between them
    for name in ("a.yaml", "b.yaml", "c.yaml"):
        assert cli("validate", name, cwd=tmp_path).returncode == 0


# --------------------------------------------------------------------------------------
# Apply tier: two regions of one account in one moto server


def _apply_both(terraform, moto, tmp_path: Path, in_names: bool, together: bool) -> tuple:
    """Both manifests' modules in one root, each with a provider of its own region on the same
    moto server (one account): one terraform command applies both, as two applies would."""
    from helpers.harness import Module, Root
    from helpers.lifecycle import World

    modules = {}
    for region in REGIONS:
        path = _write(tmp_path / "repo", f"{region}.yaml", _manifest(region, in_names=in_names))
        if not together:
            result = api.generate(path, tmp_path / "repo" / "out")
            assert result.exit == api.Exit.OK, [str(d) for d in result.diagnostics]
    if together:
        results = api.generate_many([tmp_path / "repo" / f"{r}.yaml" for r in REGIONS], tmp_path / "repo" / "out")
        assert [r.exit for r in results] == [api.Exit.OK, api.Exit.OK], [str(d) for r in results for d in r.diagnostics]
    for region in REGIONS:
        m = api.validate(tmp_path / "repo" / f"{region}.yaml").module
        modules[region] = m
        World(moto, region).provide(m)
    root = Root(
        terraform,
        tmp_path / "root",
        modules=[Module(region, tmp_path / "repo" / "out" / region, region, moto.url) for region in REGIONS],
    )
    root.init()
    return root, modules


@pytest.mark.moto
@pytest.mark.terraform
def test_two_regions_of_one_account_apply_side_by_side(terraform, moto, tmp_path: Path) -> None:
    root, modules = _apply_both(terraform, moto, tmp_path, in_names=True, together=True)
    root.apply()
    iam = moto.client("iam")
    held = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert {"team-pg-rotation-use1", "team-pg-rotation-euw1"} <= held, held
    code, planned = root.plan_changes()
    for region, m in modules.items():
        fn = m.functions[0]
        config = moto.client("lambda", region).get_function_configuration(FunctionName=fn.function_name)
        assert config["Role"].endswith(f":role/team-pg-rotation-{aws.region_short(region)}"), config["Role"]
        policy = iam.get_role_policy(RoleName=fn.role_name, PolicyName=fn.policy_name)["PolicyDocument"]
        assert f":{region}:" in str(policy) and f":{REGIONS[1 - REGIONS.index(region)]}:" not in str(policy)
        assert root.of_module(planned, region) == {}, f"{region}: second plan is not empty: {planned}"
    assert code == 0, planned


@pytest.mark.moto
@pytest.mark.terraform
def test_negative_control_without_the_region_the_second_apply_fails(terraform, moto, tmp_path: Path) -> None:
    """The same two modules without the region in their role names, generated in two separate
    runs as two repositories would: one of the two role creations fails (which one is the
    "second" is the order the apply reaches them)."""
    root, _modules = _apply_both(terraform, moto, tmp_path, in_names=False, together=False)
    run = root.apply(check=False)
    assert run.returncode != 0 and "EntityAlreadyExists" in run.stdout + run.stderr, run.stdout + run.stderr
    held = [r["RoleName"] for r in moto.client("iam").list_roles()["Roles"]]
    assert held.count("team-pg-rotation") == 1, held


# --------------------------------------------------------------------------------------
# One secret in two manifests of one run (same account and region): the two modules would
# each own its rotation and undo each other's rotation_lambda_arn on every apply.


def _two_rotators(tmp_path: Path, beta_secret: dict, *, beta_key: str = "app/db", region: str = "us-east-1") -> None:
    alpha = _manifest("us-east-1", prefix="alpha-")
    beta = _manifest(region, prefix="beta-")
    beta["secrets"] = {beta_key: beta_secret}
    _write(tmp_path, "alpha.yaml", alpha)
    _write(tmp_path, "beta.yaml", beta)


def test_one_secret_rotated_by_two_manifests_is_an_error_naming_both(tmp_path: Path) -> None:
    _two_rotators(tmp_path, {"function": "pg", "schedule": {"every_days": 7}})
    lines = (tmp_path / "alpha.yaml").read_text().splitlines()
    line = lines.index("  app/db:") + 1  # both files put the entry on the same line
    proc = _cli("generate", "alpha.yaml", "beta.yaml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        f"beta.yaml:{line}:3: error: secrets[\"app/db\"]: secret 'app/db' (account 111122223333, us-east-1) is also in "
        f"alpha.yaml:{line}:3, rotated there by function 'pg' and here by function 'pg'; the two modules would undo "
        "each other's rotation (rotation_lambda_arn, schedule) on every apply: keep the secret in one manifest only",
        "rotation-tf: 1 error(s); nothing was written.",
    ]
    assert not (tmp_path / "out").exists()
    # --check says so too, even when each module was generated alone before (hook cache)
    cache = {"ROTATION_TF_CACHE_DIR": str(tmp_path / "cache")}
    for name in ("alpha.yaml", "beta.yaml"):
        assert (
            subprocess.run(
                [sys.executable, "-m", "generator", "generate", name],
                cwd=tmp_path,
                env={**os.environ, **cache},
                capture_output=True,
                timeout=120,
                check=False,
            ).returncode
            == 0
        )
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "generate", "--check", "alpha.yaml", "beta.yaml"],
        cwd=tmp_path,
        env={**os.environ, **cache},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and "is also in alpha.yaml" in proc.stderr, proc.stderr


def test_a_secret_by_arn_in_one_manifest_and_by_name_in_the_other_is_the_same_secret(tmp_path: Path) -> None:
    arn = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app/db-AbCdEf"
    _two_rotators(tmp_path, {"function": "pg", "arn": arn, "schedule": {"every_days": 7}})
    proc = _cli("generate", "beta.yaml", "alpha.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert (
        "alpha.yaml:" in proc.stderr
        and "secret 'app/db' (account 111122223333, us-east-1) is also in beta.yaml:" in proc.stderr
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("key,region", [("app/other", "us-east-1"), ("app/db", "eu-west-1")])
def test_another_secret_or_region_is_no_clash(tmp_path: Path, key: str, region: str) -> None:
    _two_rotators(tmp_path, {"function": "pg", "schedule": {"every_days": 7}}, beta_key=key, region=region)
    proc = _cli("generate", "alpha.yaml", "beta.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
