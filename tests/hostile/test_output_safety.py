"""Output safety: the module folder is always a complete old tree or a complete new one.

* SIGKILL at random moments (and right after the staging folder appears, so that kills
  land mid-write) never leaves a mix; a later run cleans up what the killed one left.
* Concurrent runs on one output folder never corrupt it.
* Module names cannot leave the output folder; symlinks and foreign files are refused.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers.paths import ROOT

from generator import api, writer
from generator.errors import Failed

ACCOUNT = "111122223333"
KILL_RUNS = 40


def big_manifest(tag: str, n: int = 3000) -> dict:
    """Large enough that writing takes a while (locals.tf is ~1 MB)."""
    return {
        "version": 1,
        "account_id": ACCOUNT,
        "region": "us-east-1",
        "module": "safety",
        "tags": {"version": tag},
        "functions": {
            "rotator": {
                "strategy": "single_user",
                "engine": "postgresql",
                "existing_function_arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rotator",
            }
        },
        "secrets": {
            f"app/{tag}/{i:05d}": {
                "function": "rotator",
                "arn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app/{tag}/{i:05d}-AbCdEf",
                "schedule": {"every_days": 7},
            }
            for i in range(n)
        },
    }


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def expected_tree(manifest: Path, out: Path) -> dict[str, bytes]:
    files = api.render(manifest, out).files
    return {name: text.encode("utf-8") for name, text in files.items()}


def start(manifest: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "generator", "generate", manifest.name, "--out", "out"],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def two_versions(tmp_path: Path):
    paths = []
    for tag in ("old", "new"):
        p = tmp_path / f"{tag}.yaml"
        p.write_text(yaml.safe_dump(big_manifest(tag), sort_keys=False))
        paths.append(p)
    old, new = paths
    trees = {"old": expected_tree(old, tmp_path / "out"), "new": expected_tree(new, tmp_path / "out")}
    assert trees["old"] != trees["new"]
    return tmp_path, old, new, trees


def _staging(out: Path) -> list[Path]:
    return sorted(out.glob(f"{writer.STAGING_PREFIX}*")) if out.is_dir() else []


@pytest.mark.slow  # dozens of whole processes on a 3,000-secret manifest: a stress test
def test_sigkill_leaves_the_old_tree_or_the_new_one(two_versions) -> None:
    work, old, new, trees = two_versions
    out = work / "out"
    module = out / "safety"
    assert start(old, work).wait(timeout=300) == 0
    assert snapshot(module) == trees["old"]

    t0 = time.monotonic()
    assert start(new, work).wait(timeout=300) == 0
    full_run = time.monotonic() - t0
    assert snapshot(module) == trees["new"]

    rng = random.Random(20261128)
    seen = {"old": 0, "new": 0}
    mid_write = 0
    current = "new"
    for run in range(KILL_RUNS):
        target = "old" if current == "new" else "new"
        staging_before = set(_staging(out))
        proc = start(old if target == "old" else new, work)
        if run % 2 == 0:
            time.sleep(rng.uniform(0, full_run * 1.1))  # anywhere in the run
        else:
            # Wait for the staging folder to appear (bounded), then kill within a few ms.
            deadline = time.monotonic() + 60
            for _ in range(200_000):
                if set(_staging(out)) - staging_before or proc.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.02))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        if set(_staging(out)) - staging_before:  # this run's own staging folder is left
            mid_write += 1
        tree = snapshot(module)
        state = next((name for name, t in trees.items() if t == tree), None)
        assert state is not None, f"run {run}: the module is neither the old nor the new tree: {sorted(tree)}"
        seen[state] += 1
        current = state
    print(
        f"\n{KILL_RUNS} SIGKILLs (one full run takes {full_run:.2f} s): {seen}, {mid_write} killed mid-write (their staging folder was left)"
    )
    assert mid_write > 0, "no kill landed while the staging folder existed; the test did not exercise mid-write kills"

    # The next run finishes the job and removes what the killed runs left.
    assert start(new, work).wait(timeout=300) == 0
    assert snapshot(module) == trees["new"]
    assert _staging(out) == []
    assert sorted(p.name for p in out.iterdir()) == ["safety"]


@pytest.mark.slow  # dozens of whole processes on a 3,000-secret manifest: a stress test
def test_concurrent_runs_never_corrupt_the_folder(two_versions) -> None:
    work, old, new, trees = two_versions
    out = work / "out"
    for round_ in range(3):
        procs = [start(old if i % 2 else new, work) for i in range(6)]
        codes = [p.wait(timeout=600) for p in procs]
        errors = [p.stderr.read().decode() for p in procs]
        assert codes == [0] * 6, errors
        assert snapshot(out / "safety") in (trees["old"], trees["new"]), f"round {round_}"
        assert _staging(out) == []
        assert sorted(p.name for p in out.iterdir()) == ["safety"]


@pytest.mark.parametrize("name", ["..", ".", "", "../x", "/etc", "a/b", "a\\b", "x\0y"])
def test_module_dir_refuses_names_that_leave_the_folder(name: str, tmp_path: Path) -> None:
    with pytest.raises(Failed):
        writer.module_dir(tmp_path / "out", name)


@pytest.mark.parametrize("file_name", ["..yaml", ".hidden.yaml", "a b.yaml", "x;rm -rf.yaml"])
def test_manifest_file_names_cannot_make_unsafe_module_names(file_name: str, tmp_path: Path) -> None:
    text = (ROOT / "examples" / "minimal.yaml").read_text()
    (tmp_path / file_name).write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "generate", file_name, "--out", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "not a safe folder name; set `module:`" in proc.stderr
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [file_name]


def _foreign_setups(module: Path, victim: Path) -> dict[str, callable]:
    return {
        "hand-written file": lambda: (module / "backend.tf").write_text('terraform {\n  backend "s3" {}\n}\n'),
        "header not on the first line": lambda: (module / "notes.tf").write_text(
            "# mine\n# Code generated by rotation-tf 0.1.0 from minimal.yaml. DO NOT EDIT.\n"
        ),
        "non-UTF-8 file": lambda: (module / "blob.bin").write_bytes(b"\xff\xfe\x00"),
        "sub-folder": lambda: (module / "sub").mkdir(),
        "symlink": lambda: os.symlink(victim, module / "link.tf"),
    }


@pytest.mark.parametrize(
    "case", ["hand-written file", "header not on the first line", "non-UTF-8 file", "sub-folder", "symlink"]
)
def test_files_without_the_header_are_never_touched(case: str, tmp_path: Path) -> None:
    (tmp_path / "minimal.yaml").write_text((ROOT / "examples" / "minimal.yaml").read_text())
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    assert api.generate(tmp_path / "minimal.yaml", tmp_path / "out").exit == api.Exit.OK
    module = tmp_path / "out" / "minimal"
    # Make the manifest change so that a write would really happen.
    (tmp_path / "minimal.yaml").write_text(
        (tmp_path / "minimal.yaml").read_text().replace("every_days: 7", "every_days: 8")
    )
    _foreign_setups(module, victim)[case]()
    before = {p.name: (p.is_symlink(), p.read_bytes() if p.is_file() else None) for p in module.iterdir()}
    result = api.generate(tmp_path / "minimal.yaml", tmp_path / "out")
    assert result.exit == api.Exit.USAGE
    assert any("not generated by rotation-tf" in d.message for d in result.diagnostics)
    assert {p.name: (p.is_symlink(), p.read_bytes() if p.is_file() else None) for p in module.iterdir()} == before
    assert victim.read_text() == "keep me\n"


def test_a_symlinked_module_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "minimal.yaml").write_text((ROOT / "examples" / "minimal.yaml").read_text())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    os.symlink(elsewhere, tmp_path / "out" / "minimal")
    result = api.generate(tmp_path / "minimal.yaml", tmp_path / "out")
    assert result.exit == api.Exit.USAGE
    assert "is a symbolic link" in result.diagnostics[0].message
    assert (tmp_path / "out" / "minimal").is_symlink() and list(elsewhere.iterdir()) == []


def test_stale_generated_files_are_removed(tmp_path: Path) -> None:
    (tmp_path / "minimal.yaml").write_text((ROOT / "examples" / "minimal.yaml").read_text())
    assert api.generate(tmp_path / "minimal.yaml", tmp_path / "out").exit == api.Exit.OK
    module = tmp_path / "out" / "minimal"
    (module / "old_feature.tf").write_text("# Code generated by rotation-tf 0.0.9 from minimal.yaml. DO NOT EDIT.\n")
    assert api.generate(tmp_path / "minimal.yaml", tmp_path / "out").exit == api.Exit.OK
    assert not (module / "old_feature.tf").exists()
    assert sorted(p.name for p in module.iterdir()) == sorted(
        expected_tree(tmp_path / "minimal.yaml", tmp_path / "out")
    )
