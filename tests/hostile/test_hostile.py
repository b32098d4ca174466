"""The hostile corpus: bad manifests, each with a snapshot of what the CLI says.

Every case under ``tests/data/hostile/`` is ``<case>.yaml`` (the input, copied byte for byte)
plus ``<case>.expected`` (the exit code on the first line, then the exact stderr). Two
cases have no committed input: ``missing_path`` (the path does not exist) and
``huge_file`` (a 33 MiB manifest made at run time). ``a_directory.yaml`` is a folder.

Each case runs the CLI (``rotation-tf generate``) in a fresh folder, in this process (as
black runs its case files: a process per case cost a second each), and must: exit 2, write
nothing, print no traceback, and name the file and, for problems inside the document, the
line, column and field. A few cases also run as a real process (``python -m generator``),
to show the process itself exits 2 with the same stderr and nothing on stdout. After an
intended wording change, regenerate with:

    pytest tests/hostile/test_hostile.py --update-hostile
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from helpers.cli import Run, cli, cli_process
from helpers.paths import ROOT

HOSTILE = ROOT / "tests" / "data" / "hostile"
REGENERATE = "pytest tests/hostile/test_hostile.py --update-hostile"
GENERATED = {"missing_path", "huge_file"}  # inputs made at run time, not committed
# Problems with the file itself (not inside the document) have no line to name.
FILE_LEVEL = {"missing_path", "huge_file", "a_directory", "empty_file", "only_comments", "utf16_bom"}
HUGE_BYTES = 33 * 1024 * 1024
# Problems with the document as a whole name line and column but no field.
DOCUMENT_LEVEL = (
    "YAML",
    "tabs are not allowed",
    "the manifest",
    "the document",
    "the file",
    "recursive YAML",
    "not valid UTF-8",
)
_QUOTED = r'\["(?:[^"\\]|\\.)*"\]'
_PART = rf"(?:[A-Za-z_][\w-]*|{_QUOTED}|\[\d+\])"
FIELD_RE = re.compile(rf"{_PART}(?:\.[A-Za-z_][\w-]*|{_QUOTED}|\[\d+\])*: ")


def _cases() -> list[str]:
    names = {p.name[: -len(".yaml")] for p in HOSTILE.glob("*.yaml")}
    names |= {p.stem for p in HOSTILE.glob("*.expected")}
    return sorted(names)


CASES = _cases()
assert len(CASES) >= 40, "the hostile corpus went missing"


def _prepare(case: str, work: Path) -> str:
    """Put the case's input into ``work``; return the path to give the CLI."""
    name = f"{case}.yaml"
    if case == "missing_path":
        return "no-such-dir/manifest.yaml"
    if case == "huge_file":
        with open(work / name, "wb") as fh:
            fh.write(b"version: 1\n")
            chunk = b"# " + b"x" * 1021 + b"\n"
            for _ in range(HUGE_BYTES // len(chunk) + 1):
                fh.write(chunk)
        return name
    src = HOSTILE / name
    if src.is_dir():
        shutil.copytree(src, work / name)
    else:
        shutil.copyfile(src, work / name)
    return name


def _snapshot(proc: Run) -> str:
    return f"exit: {proc.returncode}\n{proc.stderr}"


@pytest.mark.parametrize("case", CASES)
def test_hostile_manifest(case: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    work = tmp_path / "work"
    work.mkdir()
    arg = _prepare(case, work)
    before = sorted(p.relative_to(work) for p in work.rglob("*"))
    proc = cli("generate", arg, "--out", "out", cwd=work)
    expected_file = HOSTILE / f"{case}.expected"
    if request.config.getoption("--update-hostile"):
        expected_file.write_text(_snapshot(proc), encoding="utf-8")

    # The contract, whatever the wording.
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert proc.stdout == ""
    assert sorted(p.relative_to(work) for p in work.rglob("*")) == before, "nothing may be written"
    lines = proc.stderr.splitlines()
    assert lines[-1].startswith("rotation-tf: ") and lines[-1].endswith("error(s); nothing was written."), lines[-1]
    errors = [line for line in lines if ": error: " in line]
    assert errors, proc.stderr
    n = int(re.match(r"rotation-tf: (\d+) error", lines[-1]).group(1))
    assert n == len(errors)
    for line in errors:
        assert line.startswith(arg + ":"), f"the message must name the file: {line}"
        if case not in FILE_LEVEL:
            m = re.match(re.escape(arg) + r":(\d+):(\d+): error: (.*)$", line)
            assert m, f"the message must name line and column: {line}"
            if not m.group(3).startswith(DOCUMENT_LEVEL):
                assert FIELD_RE.match(m.group(3)), f"the message must name the field: {line}"

    # The exact wording, reviewed as a snapshot.
    assert expected_file.exists(), f"no snapshot for {case}; run: {REGENERATE}"
    expected = expected_file.read_text(encoding="utf-8")
    assert _snapshot(proc) == expected, f"the message for {case} changed; if intended, run: {REGENERATE}"


# A file-level problem, a YAML error and a field error: the real process, end to end.
SMOKE = ("missing_path", "duplicate_top_key", "many_errors")


@pytest.mark.parametrize("case", SMOKE)
def test_hostile_manifest_as_a_process(case: str, tmp_path: Path) -> None:
    assert case in CASES
    work = tmp_path / "work"
    work.mkdir()
    arg = _prepare(case, work)
    proc = cli_process("generate", arg, "--out", "out", cwd=work)
    assert proc.stdout == ""
    assert _snapshot(proc) == (HOSTILE / f"{case}.expected").read_text(encoding="utf-8")
    assert not (work / "out").exists()


def test_many_errors_are_reported_in_one_run(tmp_path: Path) -> None:
    """One run reports every error it can find, not just the first."""
    arg = _prepare("many_errors", tmp_path)
    proc = cli("validate", arg, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count(": error: ") >= 8, proc.stderr


def test_alias_bomb_is_refused_without_expanding_it() -> None:
    """The corpus's bomb expands to 10**9 values. It is refused after counting nodes, with
    memory bounded: the guard (64 MiB peak of Python allocations) is generous; expanding
    even 1% of the bomb would take gigabytes."""
    import tracemalloc

    from generator import source
    from generator.errors import Failed

    tracemalloc.start()
    try:
        with pytest.raises(Failed) as info:
            source.load(HOSTILE / "alias_bomb.yaml")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "through YAML aliases; refusing to expand it" in info.value.diagnostics[0].message
    assert peak < 64 * 1024 * 1024, peak


def test_only_the_role_name_limit_can_bind() -> None:
    """Names derive from name_prefix (<= 32) and the function key (<= 64): whenever the role
    name fits its 64 characters, the policy (128), function (64) and permission statement
    id (100 of [A-Za-z0-9_-]) names fit too, so the corpus shows the role-name error."""
    from generator import aws, naming

    for p in range(0, 33):
        for k in range(1, 65):
            names = naming.Names("p" * p, "k" * k)
            if len(names.role) <= aws.ROLE_NAME_MAX:
                assert len(names.policy) <= aws.POLICY_NAME_MAX
                assert len(names.function) <= aws.FUNCTION_NAME_MAX
                assert len(names.statement_id) <= aws.STATEMENT_ID_MAX
                assert aws.STATEMENT_ID_RE.match(names.statement_id)
