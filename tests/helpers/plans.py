"""Plan-only cases in one root: one ``terraform plan`` and ``show -json`` for all of them,
instead of one of each per case (each command loads the provider and its schema, which costs
more than planning the cases themselves; tests/helpers/harness.py). The plan validates the
configuration first (its implied validation check: the same checks as ``terraform
validate``, which adds only that it ignores variable values, and these roots have none;
https://developer.hashicorp.com/terraform/cli/commands/validate), so no separate validate
runs.

A test file registers a case with :func:`case`: a function that writes its module into a
scratch folder and puts into moto what its plan reads (existing functions, secrets looked
up by name), and returns a :class:`Case`. The ``planned`` fixture (tests/conftest.py) plans
every registered case once per session, each as ``module.<name>`` with the provider of its
region, against one moto server; a test reads its case with ``planned[name]``, whose
``plan["resource_changes"]`` holds that module's resources only. Tests that read
``planned`` carry ``pytest.mark.xdist_group("plans")``, so that the plan is made on one
worker. A case whose function fails is that case's failure (the others are planned); a
terraform command that fails is every case's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from helpers.harness import Module, MotoServer, Root, Terraform
from helpers.lifecycle import World

GROUP = pytest.mark.xdist_group("plans")


class Worlds:
    """One :class:`lifecycle.World` per region of the one moto server: what the cases need
    exists once (an existing function the plans of two cases read is the same function)."""

    def __init__(self, moto: MotoServer):
        self.moto = moto
        self._worlds: dict[str, World] = {}

    def __call__(self, region: str) -> World:
        if region not in self._worlds:
            self._worlds[region] = World(self.moto, region)
        return self._worlds[region]

    def function(self, region: str, arn: str, role_arn: str | None = None) -> None:
        """An existing function, running as ``role_arn`` (or the harness's role); two cases
        that need the same function must need the same role."""
        world = self(region)
        name = arn.rsplit(":", 1)[1]
        if name in world.functions:
            runs_as = world.client("lambda").get_function(FunctionName=name)["Configuration"]["Role"]
            assert role_arn in (None, runs_as), f"{arn}: one case needs role {role_arn}, another made {runs_as}"
            return
        world.function(arn, role_arn)


@dataclass
class Case:
    module_dir: Path
    region: str = "us-east-1"
    info: dict[str, Any] = field(default_factory=dict)  # what the case's test needs from its setup


@dataclass
class Planned:
    plan: dict[str, Any]
    root: Path
    info: dict[str, Any]


Builder = Callable[[Path, Worlds], Case]
CASES: dict[str, Builder] = {}


def case(name: str) -> Callable[[Builder], Builder]:
    """Register ``builder(folder, worlds) -> Case`` as the plan-only case ``name``."""

    def register(builder: Builder) -> Builder:
        assert name not in CASES or CASES[name] is builder, f"two plan cases named {name}"
        CASES[name] = builder
        return builder

    return register


class Results(dict):
    """{case name: Planned}; a failed case raises its error when read."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: dict[str, BaseException] = {}

    def __getitem__(self, name: str) -> Planned:
        if name in self.errors:
            raise self.errors[name]
        return super().__getitem__(name)


def plan_all(tf: Terraform, moto: MotoServer, base: Path) -> Results:
    results = Results()
    worlds = Worlds(moto)
    built: dict[str, Case] = {}
    for name, builder in sorted(CASES.items()):
        try:
            built[name] = builder(base / "cases" / name, worlds)
        except Exception as exc:  # this case's failure; the others are planned
            results.errors[name] = exc
    if not built:
        return results
    # one provider per region: each provider configuration is a provider process per graph walk
    modules = [Module(n, c.module_dir, c.region, moto.url, provider=c.region) for n, c in built.items()]
    root = Root(tf, base / "root", modules=modules)
    try:
        root.init()
        root.run("plan", "-input=false", "-no-color", "-lock=false", "-out=tfplan", timeout=900)
        plan = json.loads(root.run("show", "-json", "tfplan", timeout=900).stdout)
    except AssertionError as exc:  # a terraform command failed: every case did
        for name in built:
            results.errors[name] = exc
        return results
    for name, c in built.items():
        mine = [r for r in plan["resource_changes"] if r.get("module_address") == f"module.{name}"]
        results[name] = Planned({"resource_changes": mine}, root.path, c.info)
    return results
