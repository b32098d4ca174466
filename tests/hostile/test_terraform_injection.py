"""Injection through terraform itself: ``hcl.align`` agrees with ``terraform fmt`` on
hostile (unicode) keys, and ``terraform plan`` against moto shows the hostile values
exactly. The escaping and the parsed output are tested without terraform in
tests/hostile/test_injection.py (helpers/injection.py holds the manifests)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import plans
from helpers.harness import tf_env
from helpers.injection import FIXED, assert_module_says, hostile_samples, write_manifest
from helpers.paths import ROOT

from generator import api
from generator.naming import secret_ident

pytestmark = pytest.mark.terraform


def test_align_agrees_with_terraform_fmt(terraform, tmp_path: Path) -> None:
    """Many modules with unicode and punctuation in tag keys: terraform fmt changes nothing."""
    samples = [FIXED] + hostile_samples(25)
    for i, data in enumerate(samples):
        data = dict(data, module=f"m{i}")
        work = tmp_path / f"w{i}"
        work.mkdir()
        assert api.generate(write_manifest(work, data), tmp_path / "out").exit == api.Exit.OK
    proc = subprocess.run(
        [terraform.binary, "fmt", "-check", "-diff", "-recursive", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=tf_env(terraform),
        timeout=300,
    )
    assert proc.returncode == 0, f"terraform fmt disagrees with hcl.align:\n{proc.stdout}{proc.stderr}"


@plans.case("hostile")
def _hostile_case(folder: Path, worlds: plans.Worlds) -> plans.Case:
    data = FIXED
    work = folder / "work"
    (work / "build").mkdir(parents=True)
    shutil.copyfile(
        ROOT / "examples" / "build" / "rotator.zip", work / data["functions"]["packaged"]["package"]["filename"]
    )
    manifest = write_manifest(work, data)
    assert api.generate(manifest, work / "out").exit == api.Exit.OK
    module_dir = work / "out" / "hostile"
    for fn in data["functions"].values():  # the plan reads each existing function (data.aws_lambda_function)
        if "existing_function_arn" in fn:
            worlds.function(data["region"], fn["existing_function_arn"])
    return plans.Case(module_dir, data["region"], {"work": work, "manifest": manifest})


@plans.GROUP
def test_plan_shows_the_hostile_values(planned: plans.Results) -> None:
    data = FIXED
    case = planned["hostile"]
    work, manifest = case.info["work"], case.info["manifest"]
    assert_module_says(work / "out" / "hostile", data, manifest)
    plan = case.plan
    changes = {(c["type"], c["name"], c.get("index")): c["change"]["after"] for c in plan["resource_changes"]}
    # An existing function keeps its own role: the module creates (and describes) roles only
    # for the functions it creates.
    assert ("aws_iam_role", "existing", None) not in changes
    assert ("aws_iam_role_policy", "existing", None) in changes
    for key, fn in data["functions"].items():
        if "existing_function_arn" in fn:
            continue
        role = changes[("aws_iam_role", key, None)]
        assert role["description"] == fn["description"]
        assert role["tags"] == data["tags"]
    fn = changes[("aws_lambda_function", "packaged", None)]
    pkg = data["functions"]["packaged"]
    assert fn["description"] == pkg["description"]
    assert fn["handler"] == pkg["package"]["handler"]
    assert (case.root / fn["filename"]).resolve() == (work / pkg["package"]["filename"]).resolve()
    assert fn["tags"] == data["tags"]
    for name in data["secrets"]:
        assert ("aws_secretsmanager_secret_rotation", secret_ident(name), None) in changes
