"""The hostile account's module through terraform itself (issue 26 §2): discover (moto's
in-process mock) -> fill in the placeholders -> generate -> ``terraform init``, ``validate``
and ``fmt -check``, in one root. The fast part of the path, and what every string becomes on
the way, is tests/hostile/test_hostile_account.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

from helpers import hostile_world as hw
from helpers import liveworld as lw
from helpers.harness import Root

from generator import api
from generator.live import commands


def test_the_hostile_accounts_module_is_valid_terraform_and_fmt_clean(terraform, tmp_path: Path) -> None:
    with hw.in_process() as world:
        path = tmp_path / "discovered.yaml"
        code = commands.discover(commands.Connection(region=world.region, max_attempts=1), out_path=path)
        assert code == 0
    filled = tmp_path / "hostile.yaml"
    filled.write_text(lw.fill_in(path.read_text(encoding="utf-8")), encoding="utf-8")
    result = api.generate(filled, tmp_path / "out")
    assert result.exit == api.Exit.OK, [d.render() for d in result.diagnostics]
    assert result.target is not None and result.module is not None
    assert {f.key for f in result.module.functions} == set(world.kept_functions)
    fmt = subprocess.run([terraform.binary, "fmt", "-check", "-diff", "-recursive", str(result.target)],
                         capture_output=True, text=True)  # fmt: skip
    assert fmt.returncode == 0, f"terraform fmt disagrees:\n{fmt.stdout}{fmt.stderr}"
    root = Root(terraform, tmp_path / "root", result.target, region=world.region)
    root.init()
    root.run("validate", "-no-color")
