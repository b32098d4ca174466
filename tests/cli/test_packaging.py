"""The package as a user installs it: a wheel built by `python -m build` (from the sdist,
so the sdist is complete too) installed into a fresh virtual environment, `pipx install`,
and the README's install path. They need PyPI for build and runtime dependencies, hence the
`packaging` mark: once per session, to build the wheel and fill a wheelhouse with what it
and its build need (the ``wheelhouse`` fixture); every install then finds everything there
and asks no index (PIP_NO_INDEX), so an install that needs anything the package does not
declare fails.
"""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from helpers.paths import GOLDEN, ROOT
from helpers.wheelhouse import Wheelhouse

pytestmark = [pytest.mark.packaging, pytest.mark.xdist_group("packaging")]  # one worker builds the wheelhouse

TIMEOUT = 900


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert proc.returncode == 0, f"{args}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


def _tree(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


@pytest.fixture
def dist(wheelhouse: Wheelhouse) -> Path:
    return wheelhouse.dist


def _env(wheelhouse: Wheelhouse, *drop: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(wheelhouse.env)
    return env


def test_wheel_contents_and_metadata(dist: Path) -> None:
    wheel = next(dist.glob("rotation_tf-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    templates = sorted(p.name for p in (ROOT / "templates").glob("*.j2"))
    for name in templates:
        assert f"generator/templates/{name}" in names
    assert "generator/templates/init/manifest.yaml.j2" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    meta = email.message_from_string(
        zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    )
    assert meta["Requires-Python"] == ">=3.10"
    assert meta["License-Expression"] == "MIT"
    assert {u.split(",")[0] for u in meta.get_all("Project-URL")} >= {"Homepage", "Source", "Issues", "Documentation"}
    assert len(meta.get_all("Classifier")) >= 10
    for req in meta.get_all("Requires-Dist"):
        if "extra ==" in req:
            continue
        assert ">=" in req and "<" in req, f"runtime dependency without a compatible range: {req}"
    sdist = next(dist.glob("rotation_tf-*.tar.gz"))
    assert sdist.stat().st_size > 0


def test_wheel_in_a_fresh_venv_generates_the_golden_tree(wheelhouse: Wheelhouse, tmp_path: Path) -> None:
    wheel = next(wheelhouse.dist.glob("rotation_tf-*.whl"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    py = env_dir / "bin" / "python"
    env = _env(wheelhouse, "PYTHONPATH", "NO_COLOR")
    run(py, "-m", "pip", "install", "--quiet", wheel, env=env)
    exe = env_dir / "bin" / "rotation-tf"
    work = tmp_path / "work"
    shutil.copytree(ROOT / "examples", work / "examples")
    # run from a folder outside the checkout so that nothing can import the source tree
    version = run(exe, "--version", cwd=work, env=env).stdout.strip()
    assert version.startswith("rotation-tf ")
    where = run(py, "-c", "import generator, sys; print(generator.__file__)", cwd=work, env=env).stdout
    assert str(env_dir) in where, where
    # same layout as the checkout (examples/ beside tests/golden/), so paths match byte for byte
    for example in ("rotation", "minimal"):
        run(exe, "generate", f"examples/{example}.yaml", "--out", "tests/golden", cwd=work, env=env)
        assert _tree(work / "tests" / "golden" / example) == _tree(GOLDEN / example)
        run(exe, "generate", f"examples/{example}.yaml", "--out", "tests/golden", "--check", cwd=work, env=env)
    assert '"$schema"' in run(exe, "schema", cwd=work, env=env).stdout
    assert "RotateSecrets" in run(exe, "explain", "examples/rotation.yaml", cwd=work, env=env).stdout
    run(
        exe,
        "init",
        "starter.yaml",
        "--engine",
        "mysql",
        "--strategy",
        "alternating_users",
        "--account-id",
        "123456789012",
        cwd=work,
        env=env,
    )
    starter = (work / "starter.yaml").read_text()
    for placeholder in ("FILL-IN-FUNCTION-NAME", "FILL-IN-SECRET-NAME", "FILL-IN-MASTER-SECRET-NAME"):
        starter = starter.replace(placeholder, placeholder.lower().removeprefix("fill-in-"))
    (work / "starter.yaml").write_text(starter)
    run(exe, "validate", "starter.yaml", cwd=work, env=env)


def test_pipx_install(wheelhouse: Wheelhouse, tmp_path: Path) -> None:
    env = _env(wheelhouse, "PYTHONPATH", "NO_COLOR")
    env.update(
        {
            "PIPX_HOME": str(tmp_path / "pipx"),
            "PIPX_BIN_DIR": str(tmp_path / "bin"),
            "PIPX_MAN_DIR": str(tmp_path / "man"),
        }
    )
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", ".tf-work", "out", "__pycache__", ".pytest_cache", ".hypothesis"
        ),
    )
    run(sys.executable, "-m", "pipx", "install", source, env=env)
    exe = tmp_path / "bin" / "rotation-tf"
    work = tmp_path / "work"
    shutil.copytree(ROOT / "examples", work / "examples")
    run(exe, "generate", "examples/rotation.yaml", "--out", "tests/golden", cwd=work, env=env)
    assert _tree(work / "tests" / "golden" / "rotation") == _tree(GOLDEN / "rotation")


def _readme_commands(heading: str) -> list[str]:
    """The command lines of the first ``sh`` block under the README's ``## heading``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_readme_install_gives_the_command_alone(wheelhouse: Wheelhouse, tmp_path: Path) -> None:
    """Issue 19: the README's one install path, run as written (in a copy of the clone, with
    a scratch HOME; pip finds the dependencies in the wheelhouse), gives a working rotation-tf
    in a virtual environment of its own, without the test extra."""
    commands = _readme_commands("Install")
    assert "pip install ." in commands[0] and not any("pipx" in line for line in commands), commands
    assert commands[-1] == "rotation-tf --version", commands  # the bare command, found on PATH
    env = _env(wheelhouse, "PYTHONPATH", "NO_COLOR", "VIRTUAL_ENV")
    env["HOME"] = str(tmp_path / "home")
    (tmp_path / "home").mkdir()
    clone = tmp_path / "clone"
    shutil.copytree(
        ROOT,
        clone,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", ".tf-work", "out", "__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache"
        ),
    )
    # one shell, as a reader pastes the block: the PATH line carries to the bare command after it
    output = run("bash", "-euc", "\n".join(commands), cwd=clone, env=env).stdout
    assert output.splitlines()[-1].startswith("rotation-tf "), output
    venv_dir = tmp_path / "home" / ".rotation-tf"
    exe = venv_dir / "bin" / "rotation-tf"
    work = tmp_path / "work"
    shutil.copytree(ROOT / "examples", work / "examples")
    run(exe, "validate", "examples/rotation.yaml", cwd=work, env=env)
    # the command alone: no test tools came with it
    for module in ("pytest", "hypothesis", "moto"):
        probe = subprocess.run(
            [str(venv_dir / "bin" / "python"), "-c", f"import {module}"], capture_output=True, timeout=60, env=env
        )
        assert probe.returncode != 0, f"{module} is installed by the README's install path"
