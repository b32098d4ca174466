"""The pre-commit hooks (.pre-commit-hooks.yaml) in a scratch infra repo.

``test_hook_argv_*`` builds each hook's command exactly as pre-commit does (entry split
with shlex, then ``args:``, then the staged files that match ``files:``/``types:``, all in
one call because of ``require_serial``) and runs the installed console script from the
repository root. ``test_pre_commit_try_repo`` runs the real pre-commit against this
checkout (it installs the hook environment from PyPI, so it is marked ``packaging``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers.paths import ROOT
from helpers.wheelhouse import Wheelhouse

HOOKS = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}


def _console_script() -> str:
    here = Path(sys.executable).parent / "rotation-tf"
    found = str(here) if here.exists() else shutil.which("rotation-tf")
    assert found, "the rotation-tf console script is not installed (pip install -e '.[test]')"
    return found


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.fixture
def infra(tmp_path: Path) -> Path:
    """An infra repo with two manifests and an unrelated YAML file, all staged."""
    repo = tmp_path / "infra"
    (repo / "secrets").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "minimal.yaml", repo / "rotation.yaml")
    shutil.copy(ROOT / "examples" / "minimal.yaml", repo / "secrets" / "payments-rotation.yml")
    text = (repo / "secrets" / "payments-rotation.yml").read_text()
    # another function key: both manifests are for one account, where IAM role names are global
    (repo / "secrets" / "payments-rotation.yml").write_text(
        text.replace("app/db", "payments/db").replace("rotator", "payments")
    )
    (repo / "docker-compose.yaml").write_text("services: {}\n")
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "ci")
    git(repo, "add", "-A")
    return repo


def run_hook(repo: Path, hook_id: str, args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    hook = HOOKS[hook_id]
    files_re = re.compile(hook.get("files", ""))
    exclude_re = re.compile(hook["exclude"]) if hook.get("exclude") else None
    staged = git(repo, "diff", "--cached", "--name-only", "--diff-filter=ACMR").split() or git(repo, "ls-files").split()
    chosen = [
        f
        for f in sorted(staged)
        if files_re.search(f) and not (exclude_re and exclude_re.search(f)) and f.endswith((".yaml", ".yml"))
    ]
    entry = shlex.split(hook["entry"])
    assert entry[0] == "rotation-tf"
    argv = [_console_script(), *entry[1:], *hook.get("args", []), *args, *chosen]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    return subprocess.run(argv, cwd=repo, capture_output=True, text=True, timeout=120, env=env)


def test_hook_definitions() -> None:
    assert set(HOOKS) == {"rotation-tf-check", "rotation-tf-generate"}
    for hook in HOOKS.values():
        assert hook["language"] == "python" and hook["require_serial"] is True
        assert hook.get("pass_filenames", True) is True
    assert shlex.split(HOOKS["rotation-tf-check"]["entry"]) == ["rotation-tf", "generate", "--check"]
    files = re.compile(HOOKS["rotation-tf-check"]["files"])
    assert files.search("rotation.yaml") and files.search("infra/prod-rotation.yml")
    assert not files.search("docker-compose.yaml") and not files.search("rotation.yaml.bak")


def test_hook_argv_check_then_generate(infra: Path) -> None:
    # nothing generated yet: the check hook fails and names the command to run
    proc = run_hook(infra, "rotation-tf-check")
    assert proc.returncode == 1, proc.stderr
    assert "MISSING: out/rotation/versions.tf" in proc.stdout
    assert "MISSING: out/payments-rotation/versions.tf" in proc.stdout
    assert "run: rotation-tf generate rotation.yaml secrets/payments-rotation.yml" in proc.stderr
    assert not (infra / "out").exists()

    # the generate hook writes both modules and fails so that the user stages them
    proc = run_hook(infra, "rotation-tf-generate")
    assert proc.returncode == 1, proc.stderr
    assert "14 files changed; review and stage them: git add out/rotation out/payments-rotation" in proc.stderr
    assert (infra / "out" / "rotation" / "iam.tf").is_file()
    assert (infra / "out" / "payments-rotation" / "iam.tf").is_file()
    assert "out/" in git(infra, "status", "--porcelain", "--untracked-files=all")

    git(infra, "add", "-A")
    git(infra, "commit", "-qm", "rotation modules")
    assert run_hook(infra, "rotation-tf-check").returncode == 0
    assert run_hook(infra, "rotation-tf-generate").returncode == 0, "nothing changed: the hook passes"

    # a manifest edit without regenerating is caught with a diff
    manifest = infra / "rotation.yaml"
    manifest.write_text(manifest.read_text().replace("every_days: 7", "every_days: 14"))
    git(infra, "add", "rotation.yaml")
    proc = run_hook(infra, "rotation-tf-check")
    assert proc.returncode == 1
    assert "+    automatically_after_days = 14" in proc.stdout
    assert proc.stderr.strip().endswith("would change; run: rotation-tf generate rotation.yaml")


def test_hook_args_come_before_filenames(infra: Path) -> None:
    proc = run_hook(infra, "rotation-tf-generate", ("--out", "modules"))
    assert proc.returncode == 1, proc.stderr
    assert (infra / "modules" / "rotation" / "iam.tf").is_file()
    assert run_hook(infra, "rotation-tf-check", ("--out", "modules")).returncode == 0


def test_hook_bad_manifest_blocks_the_commit(infra: Path) -> None:
    (infra / "rotation.yaml").write_text("version: 1\naccount_id: 111122223333\n")
    git(infra, "add", "-A")
    for hook_id in HOOKS:
        proc = run_hook(infra, hook_id)
        assert proc.returncode == 2
        assert "rotation.yaml:2:13: error: account_id:" in proc.stderr and "Traceback" not in proc.stderr
    assert not (infra / "out").exists(), "nothing is written when any manifest is bad"


@pytest.mark.packaging
@pytest.mark.xdist_group("packaging")  # with tests/cli/test_packaging.py: one wheelhouse
def test_pre_commit_try_repo(infra: Path, tmp_path: Path, wheelhouse: Wheelhouse) -> None:
    """The real pre-commit, installing this checkout as a hook repository (its dependencies
    from the wheelhouse)."""
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
    assert pre_commit, "pre-commit is a test dependency: pip install -e '.[test]'"
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(wheelhouse.env)
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")

    def try_repo(*hook_id: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [pre_commit, "try-repo", str(ROOT), *hook_id, "--all-files", "--color", "never"],
            cwd=infra,
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )

    # Each try-repo installs the hook environment anew (in a store of its own), so the first
    # run runs every hook of the repository, in the order .pre-commit-hooks.yaml lists them:
    # the check on the missing modules, then the generate hook.
    proc = try_repo()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    check, generate = proc.stdout.split("rotation-tf regenerates modules..", 1)
    assert "- hook id: rotation-tf-check\n- exit code: 1\n" in check, proc.stdout
    assert "MISSING: out/rotation/versions.tf" in check
    assert "docker-compose" not in proc.stdout
    assert "- hook id: rotation-tf-generate\n- exit code: 1\n" in generate, proc.stdout  # new files: it fails
    assert "files changed; review and stage them" in generate
    assert (infra / "out" / "payments-rotation" / "iam.tf").is_file()

    git(infra, "add", "-A")
    proc = try_repo("rotation-tf-check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
