"""The whole life of every example's module against real Terraform and moto.

generate -> init (offline mirror) -> fmt -check -> apply (which validates first) -> verify what the API
holds against the model -> plan -detailed-exitcode (empty) -> the CI regeneration flow
(add a secret, change a schedule, move a secret to another function, remove a secret; each
plan touches exactly the resources the model change implies; apply that plan; empty
re-plan) -> destroy -> nothing left in moto.

Every example takes the same steps, so all of them go through one root, each module with a
provider of its own talking to a moto server of its own (its own account: nothing one
example creates is seen by another): one terraform command per step for all the examples
instead of one per example (each command loads the provider; tests/helpers/harness.py). The run is
a session fixture on one xdist worker (group ``lifecycle``); each example's test reads what
happened to its module. A failed check of one example stops the checks of that example
only; a terraform command that fails fails every example.

The moto limits worked around are described in tests/helpers/lifecycle.py (SUFFIX, VERSION,
SCHEDULE, FUNCTION). Expression schedules and windows are not applied here (moto limit
SCHEDULE); they are covered by plan in test_terraform_plan.py and test_moto_traps.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers.harness import Module, MotoServer, Root
from helpers.lifecycle import Workspace, World, expected_actions, verify_applied, verify_destroyed
from helpers.paths import GOLDEN, PLANNABLE

from generator import model

pytestmark = [pytest.mark.moto, pytest.mark.terraform, pytest.mark.xdist_group("lifecycle")]

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


@dataclass
class Case:
    """One example on its way through the shared root."""

    example: Path
    ws: Workspace
    m: model.Module
    target: Path
    skip: str | None = None
    world: World | None = None
    report: list[str] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def name(self) -> str:
        return self.m.name

    @property
    def active(self) -> bool:
        return self.skip is None and self.error is None

    def check(self, what: Callable[[], None]) -> None:
        """Run one of this example's checks; the first that fails is its result."""
        if not self.active:
            return
        try:
            what()
        except Exception as exc:  # an assertion, or an API error reading what moto holds
            self.error = exc


def _prepare(example: Path, path: Path) -> Case:
    # The workspace mirrors the repository (examples/ and tests/golden/), so the generated
    # module is byte-identical to the golden case wherever moto's limits allow.
    ws = Workspace(example, path)
    m, target = ws.generate()
    case = Case(example, ws, m, target)
    if m.service_rotated:
        case.skip = (
            "moto's CancelRotateSecret refuses a secret without a Lambda ARN, so a module with managed: true "
            "secrets cannot be destroyed here; tests/moto/test_managed_rotation.py applies and re-plans it"
        )
    elif any(f.app for f in m.functions):
        case.skip = (
            "moto does not serve the Serverless Application Repository, so a rotation_app module "
            "cannot be applied; tests/terraform/test_terraform_plan.py plans it"
        )

    def golden() -> None:
        generated = _files(target)
        golden = _files(GOLDEN / m.name)
        differing = sorted(n for n in golden if generated.get(n) != golden[n])
        if ws.changed:  # moto limits SCHEDULE and REPLICA_KMS: only those values differ
            allowed = {"rotation.tf", "secrets.tf", "README.md", "kms-key-policy-statements.json"}
            assert set(differing) <= allowed, differing
        else:
            assert differing == [], f"the applied module is not the golden case {m.name}: {differing}"

    case.check(golden)
    return case


def _plan_per_case(root: Root, cases: list[Case], label: Callable[[Case], str], expect: Callable[[Case], dict]) -> None:
    """One plan of the shared root (saved as ``tfplan``); each example's part of it must be
    exactly what it expects (plan_changes checks the exit code against the whole plan)."""
    _code, planned = root.plan_changes(out="tfplan")
    for case in cases:

        def same(case: Case = case) -> None:
            mine = Root.of_module(planned, case.name)
            expected = expect(case)
            assert mine == expected, (
                f"{label(case)}: the plan touches other resources than the change implies:\n"
                f"planned  {mine}\nexpected {expected}"
            )

        case.check(same)


@pytest.fixture(scope="session")
def lifecycle(terraform, tmp_path_factory) -> Iterator[dict[str, Case]]:
    """Every plannable example through generate, apply, the regeneration rounds and destroy,
    in one root (see the module docstring). Yields {example stem: Case}."""
    base = tmp_path_factory.mktemp("lifecycle")
    cases = {e.stem: _prepare(e, base / e.stem / "repo") for e in PLANNABLE}
    servers: list[MotoServer] = []
    try:
        live = [c for c in cases.values() if c.active]
        modules = []
        for case in live:
            server = MotoServer().start()
            servers.append(server)
            case.world = World(server, case.m.region)
            case.world.provide(case.m)
            modules.append(Module(case.name, case.target, case.m.region, server.url))
        try:
            _run(terraform, base / "root", live, modules)
        except AssertionError as exc:  # a terraform command failed: every example did
            for case in live:
                if case.error is None:
                    case.error = exc
        yield cases
    finally:
        for server in servers:
            server.stop()


def _run(terraform, path: Path, live: list[Case], modules: list[Module]) -> None:
    root = Root(terraform, path, modules=modules)
    root.init()
    for case in live:

        def fmt(case: Case = case) -> None:
            run = root.run("fmt", "-check", "-diff", "-recursive", str(case.target), check=False)
            assert run.returncode == 0, run.stdout + run.stderr

        case.check(fmt)
    root.apply()
    for case in live:

        def applied(case: Case = case) -> None:
            counts = verify_applied(case.world, case.m)
            case.report.append(f"{case.name}: applied and verified {counts}")

        case.check(applied)
    _plan_per_case(root, live, lambda c: "second plan", lambda c: {})
    for case in live:
        if case.active:
            case.report.append("second plan empty")

    # The CI regeneration flow.
    labels: dict[str, str] = {}
    for steps in ROUNDS:
        expected: dict[str, dict] = {}
        for case in live:

            def regenerate(case: Case = case, steps: tuple = steps, expected: dict = expected) -> None:
                labels[case.name] = "; ".join(step(case.ws.data, case.world) for step in steps)
                old = case.m
                case.m, _ = case.ws.generate()
                expected[case.name] = expected_actions(old, case.m)
                assert expected[case.name], f"{labels[case.name]}: the model did not change"

            case.check(regenerate)
        _plan_per_case(root, live, lambda c: labels[c.name], lambda c, expected=expected: expected.get(c.name, {}))
        root.apply_plan()
        for case in live:

            def verified(case: Case = case) -> None:
                counts = verify_applied(case.world, case.m, first=False)
                case.report.append(f"{labels[case.name]}: plan == implied; applied, verified {counts}")

            case.check(verified)
        # After the first round no separate re-plan: the next round's plan must equal
        # exactly the next change, so any diff left over would fail it.
    _plan_per_case(root, live, lambda c: f"{labels.get(c.name)}: plan after apply", lambda c: {})

    root.run("destroy", "-auto-approve", "-input=false", "-no-color", "-lock=false", timeout=600)
    for case in live:

        def destroyed(case: Case = case) -> None:
            verify_destroyed(case.world, case.m)
            case.report.append("destroyed; nothing left in moto")

        case.check(destroyed)


@pytest.mark.parametrize("example", PLANNABLE, ids=lambda p: p.stem)
def test_apply_verify_replan_regenerate_destroy(example: Path, lifecycle: dict[str, Case]) -> None:
    case = lifecycle[example.stem]
    if case.skip:
        pytest.skip(case.skip)
    print("\n".join(case.report))
    if case.error is not None:
        raise case.error
