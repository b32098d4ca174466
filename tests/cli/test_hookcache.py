"""The hook's result cache (generator.hookcache): a hit must say exactly what the full
pipeline would say, and anything that could change the answer must be a miss."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.paths import ROOT


def run(
    *args: str, cwd: Path, cache: Path | None, extra_env: dict[str, str] | None = None, importtime: bool = False
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("ROTATION_TF_NO_CACHE", "ROTATION_TF_CACHE_DIR")}
    if cache is None:
        env["ROTATION_TF_NO_CACHE"] = "1"
    else:
        env["ROTATION_TF_CACHE_DIR"] = str(cache)
    env.update(extra_env or {})
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "generator", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


def pipeline_ran(proc: subprocess.CompletedProcess) -> bool:
    """Whether the process imported the manifest models (python -X importtime's report)."""
    return "generator.manifest" in proc.stderr


def messages(proc: subprocess.CompletedProcess) -> str:
    return "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("import time:"))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


def test_check_after_generate_is_a_hit_with_the_same_answer(work: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert run("generate", "examples/rotation.yaml", "examples/minimal.yaml", cwd=work, cache=cache).returncode == 0
    hit = run(
        "generate", "--check", "examples/rotation.yaml", "examples/minimal.yaml", cwd=work, cache=cache, importtime=True
    )
    full = run("generate", "--check", "examples/rotation.yaml", "examples/minimal.yaml", cwd=work, cache=None)
    assert not pipeline_ran(hit), "a manifest unchanged since generate needs no validation"
    assert (hit.returncode, hit.stdout, messages(hit)) == (full.returncode, full.stdout, full.stderr.rstrip("\n"))


def test_validate_is_a_hit_the_second_time(work: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = run("validate", "examples/rotation.yaml", cwd=work, cache=cache, importtime=True)
    second = run("validate", "examples/rotation.yaml", cwd=work, cache=cache, importtime=True)
    assert pipeline_ran(first) and not pipeline_ran(second)
    assert (
        (second.returncode, messages(second))
        == (first.returncode, messages(first))
        == (0, "examples/rotation.yaml: ok")
    )


def test_anything_that_changes_the_answer_is_a_miss(work: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    module = work / "out" / "rotation"
    assert run("generate", "examples/rotation.yaml", cwd=work, cache=cache).returncode == 0

    # an edited generated file: the full pipeline runs and reports the drift
    iam = module / "iam.tf"
    text = iam.read_text()
    iam.write_text(text + "# edited\n")
    proc = run("generate", "--check", "examples/rotation.yaml", cwd=work, cache=cache, importtime=True)
    assert pipeline_ran(proc) and proc.returncode == 1 and "+# edited" not in proc.stdout and "-# edited" in proc.stdout
    iam.write_text(text)

    # a file the tool did not write
    (module / "notes.txt").write_text("mine\n")
    proc = run("generate", "--check", "examples/rotation.yaml", cwd=work, cache=cache, importtime=True)
    assert pipeline_ran(proc) and proc.returncode == 2 and "FOREIGN:" in proc.stdout
    (module / "notes.txt").unlink()

    # an edited manifest (even a comment)
    manifest = work / "examples" / "rotation.yaml"
    manifest.write_text(manifest.read_text() + "# a comment\n")
    proc = run("generate", "--check", "examples/rotation.yaml", cwd=work, cache=cache, importtime=True)
    assert pipeline_ran(proc) and proc.returncode == 0

    # another --out, another date (runtime deprecation warnings depend on it)
    proc = run(
        "generate", "--check", "examples/rotation.yaml", "--out", "elsewhere", cwd=work, cache=cache, importtime=True
    )
    assert pipeline_ran(proc) and proc.returncode == 1
    proc = run(
        "generate",
        "--check",
        "examples/rotation.yaml",
        cwd=work,
        cache=cache,
        importtime=True,
        extra_env={"ROTATION_TF_TODAY": "2031-01-01"},
    )
    assert pipeline_ran(proc)


def test_a_zip_that_disappears_brings_its_warning_back(work: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert run("validate", "examples/rotation.yaml", cwd=work, cache=cache).returncode == 0
    (work / "examples" / "build" / "rotator.zip").unlink()
    proc = run("validate", "examples/rotation.yaml", cwd=work, cache=cache, importtime=True)
    assert pipeline_ran(proc) and "does not exist yet" in proc.stderr and proc.returncode == 0
    again = run("validate", "examples/rotation.yaml", cwd=work, cache=cache, importtime=True)
    assert not pipeline_ran(again) and messages(again) == messages(proc), "the warning is replayed from the cache"


def test_bad_manifests_are_never_cached(work: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (work / "bad.yaml").write_text("version: 1\n")
    for _ in range(2):
        proc = run("validate", "bad.yaml", cwd=work, cache=cache, importtime=True)
        assert proc.returncode == 2 and pipeline_ran(proc)
    assert not list(cache.glob("*.json")) if cache.exists() else True


def test_an_unwritable_cache_is_not_used(work: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    proc = run("validate", "examples/rotation.yaml", cwd=work, cache=blocker / "cache")
    assert proc.returncode == 0 and proc.stderr == "examples/rotation.yaml: ok\n"
