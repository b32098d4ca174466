"""The whole life of every example's module against real Terraform and moto.

generate -> init (offline mirror) -> fmt -check -> validate -> apply -> verify what the API
holds against the model -> plan -detailed-exitcode (empty) -> the CI regeneration flow
(add a secret, change a schedule, move a secret to another function, remove a secret; each
plan touches exactly the resources the model change implies; apply; empty re-plan) ->
destroy -> nothing left in moto.

The moto limits worked around are described in tests/lifecycle.py (SUFFIX, VERSION,
SCHEDULE, FUNCTION). Expression schedules and windows are not applied here (moto limit
SCHEDULE); they are covered by plan in test_terraform_plan.py and test_moto_traps.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import GOLDEN, PLANNABLE
from harness import Root
from lifecycle import Workspace, World, expected_actions, verify_applied, verify_destroyed

pytestmark = [pytest.mark.moto, pytest.mark.terraform]

ADDED = "harness/added/db"
MASTER = "harness/master/db"


def _master_arn(world: World) -> str:
    return world.secret(MASTER)


def _free(fns: dict) -> list[str]:
    """Functions a secret may join or leave (lock_to_secret pins a function to one secret)."""
    return sorted(k for k in fns if not fns[k].get("lock_to_secret"))


def _add_secret(data: dict, world: World) -> str:
    fns = data["functions"]
    key = next((k for k in _free(fns) if fns[k]["strategy"] == "single_user"), _free(fns)[0])
    sec = {"function": key, "schedule": {"every_days": 14}}
    if fns[key]["strategy"] == "alternating_users":
        sec["master_secret"] = {"arn": _master_arn(world)}
    world.secret(ADDED)  # given by name: the module looks its ARN up
    data["secrets"][ADDED] = sec
    return f"add {ADDED} to {key}"


def _change_schedule(data: dict, world: World) -> str:
    name = sorted(n for n in data["secrets"] if n != ADDED)[0]
    sched = data["secrets"][name]["schedule"]
    sched["every_days"] = sched["every_days"] + 1
    return f"{name}: every {sched['every_days']} days"


def _move_secret(data: dict, world: World) -> str:
    fns = data["functions"]
    name = sorted(n for n in data["secrets"] if n != ADDED and data["secrets"][n]["function"] in _free(fns))[-1]
    sec = data["secrets"][name]
    others = [k for k in _free(fns) if k != sec["function"]]
    if others:
        target = others[0]
    else:
        target = "harness-moved"
        src = fns[sec["function"]]
        arn = f"arn:aws:lambda:{data['region']}:{data['account_id']}:function:harness-moved-rotator"
        world.function(arn)
        fns[target] = {"strategy": src["strategy"], "engine": src["engine"], "existing_function_arn": arn}
    if fns[target]["strategy"] == "single_user":
        sec.pop("master_secret", None)
        if sec.get("create"):  # its password is in the database by now (issue 11.4)
            sec["password_in_database"] = True
    elif "master_secret" not in sec:
        sec["master_secret"] = {"arn": _master_arn(world)}
    if fns[target]["strategy"] == "alternating_users":
        sec.pop("password_in_database", None)  # the master secret sets the password
    before = sec["function"]
    sec["function"] = target
    return f"move {name} from {before} to {target}"


def _remove_secret(data: dict, world: World) -> str:
    name = sorted(n for n in data["secrets"] if n != ADDED)[0]
    del data["secrets"][name]
    return f"remove {name}"


# Two regenerations, as two CI runs: the first adds a secret, changes a schedule and moves
# a secret to another function in one manifest change; the second removes a secret (the
# smallest example has a single secret, so removal needs the first round's addition).
ROUNDS = ((_add_secret, _change_schedule, _move_secret), (_remove_secret,))


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("example", PLANNABLE, ids=lambda p: p.stem)
def test_apply_verify_replan_regenerate_destroy(example: Path, terraform, moto, tmp_path: Path) -> None:
    # The workspace mirrors the repository (examples/ and tests/golden/), so the generated
    # module is byte-identical to the golden case wherever moto's limits allow.
    ws = Workspace(example, tmp_path / "repo")
    m, target = ws.generate()
    if m.service_rotated:
        pytest.skip(
            "moto's CancelRotateSecret refuses a secret without a Lambda ARN, so a module with managed: true "
            "secrets cannot be destroyed here; tests/test_managed_rotation.py applies and re-plans it"
        )
    if any(f.app for f in m.functions):
        pytest.skip(
            "moto does not serve the Serverless Application Repository, so a rotation_app module "
            "cannot be applied; tests/test_terraform_plan.py plans it"
        )
    generated = _files(target)
    golden = _files(GOLDEN / m.name)
    differing = sorted(n for n in golden if generated.get(n) != golden[n])
    if ws.changed:  # moto limits SCHEDULE and REPLICA_KMS: only those values differ
        assert set(differing) <= {"rotation.tf", "secrets.tf", "README.md", "kms-key-policy-statements.json"}, differing
    else:
        assert differing == [], f"the applied module is not the golden case {m.name}: {differing}"

    world = World(moto, m.region)
    world.provide(m)
    root = Root(terraform, tmp_path / "root", target, region=m.region, endpoint=moto.url)
    root.init()
    fmt = root.run("fmt", "-check", "-diff", "-recursive", str(target), check=False)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    root.run("validate", "-no-color")
    root.run("apply", "-auto-approve", "-input=false", "-no-color", "-lock=false")
    counts = verify_applied(world, m)
    code, planned = root.plan_changes()
    assert code == 0, f"second plan is not empty: {planned}"
    report = [f"{m.name}: applied and verified {counts}; second plan empty"]

    # The CI regeneration flow.
    for steps in ROUNDS:
        label = "; ".join(step(ws.data, world) for step in steps)
        old = m
        m, _ = ws.generate()
        expected = expected_actions(old, m)
        assert expected, f"{label}: the model did not change"
        code, planned = root.plan_changes()
        assert code == 2 and planned == expected, (
            f"{label}: the plan touches other resources than the change implies:\n"
            f"planned  {planned}\nexpected {expected}"
        )
        root.run("apply", "-auto-approve", "-input=false", "-no-color", "-lock=false")
        counts = verify_applied(world, m, first=False)
        report.append(f"{label}: plan == implied {planned}; applied, verified {counts}")
        if steps is ROUNDS[-1]:
            code, planned = root.plan_changes()
            assert code == 0, f"{label}: plan after apply is not empty: {planned}"
        # After the first round no separate re-plan: the next round's plan must equal
        # exactly the next change, so any diff left over would fail it (one terraform run
        # fewer per example).

    root.run("destroy", "-auto-approve", "-input=false", "-no-color", "-lock=false")
    verify_destroyed(world, m)
    report.append("destroyed; nothing left in moto")
    print("\n".join(report))
