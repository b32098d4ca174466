"""An exception no command expects, in any command: one line on stderr naming the command,
the exception, the file with the traceback and where to report it; exit 4; nothing on
stdout (issue 25 §2). The failure is injected (monkeypatch) inside each command family."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers.cli import cli
from helpers.paths import ROOT

from generator import crash
from generator.exits import Exit

MANIFEST = "rotation.yaml"

# (command as the line names it, its arguments, what raises inside it)
FAMILIES = [
    ("validate", ["validate", MANIFEST], "generator.api.load"),  # the hook's fast path
    ("generate", ["generate", MANIFEST, "--out", "out"], "generator.api.load"),
    ("generate", ["generate", MANIFEST, "--check"], "generator.writer.compare"),
    ("generate", ["generate", "--", MANIFEST], "generator.writer.write"),  # typer's path
    ("explain", ["explain", MANIFEST], "generator.explain.facts"),
    ("explain", ["explain", MANIFEST, "--format", "json"], "generator.formats.explain.to_json"),
    ("diff", ["diff", "/dev/null", MANIFEST], "generator.diff.compare"),
    ("diff", ["diff", MANIFEST, "/dev/null", "--format", "markdown"], "generator.formats.diff.markdown"),
    ("imports", ["imports", MANIFEST], "generator.imports.render"),
    ("deployer-policy", ["deployer-policy", MANIFEST], "generator.other_policies.deployer_policy"),
    ("schema", ["schema"], "generator.schema.dumps"),
    ("init", ["init", "new.yaml", "--account-id", "111122223333"], "generator.starter.write"),
    ("doctor", ["doctor", MANIFEST], "generator.live.commands._open"),
    ("discover", ["discover", "--region", "us-east-1"], "generator.live.commands._open"),
    ("caller-policy", ["caller-policy"], "generator.live.caller_policy.policy"),
]
LINE = re.compile(
    r"^rotation-tf (?P<command>[a-z-]+): internal error: RuntimeError: injected into (?P<target>\S+); "
    r"the traceback is in (?P<path>\S+); please report it at (?P<url>\S+)\n$"
)


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A manifest to run on, and a temporary folder of the test's own for the traceback."""
    shutil.copy(ROOT / "examples" / "hardened.yaml", tmp_path / MANIFEST)
    shutil.copytree(ROOT / "examples" / "build", tmp_path / "build")
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return tmp_path


def _inject(monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"injected into {target}")

    monkeypatch.setattr(target, boom)


@pytest.mark.parametrize(("command", "args", "target"), FAMILIES, ids=[" ".join(f[1]) for f in FAMILIES])
def test_an_unexpected_exception_is_one_line_and_exit_4(
    command: str, args: list[str], target: str, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _inject(monkeypatch, target)
    run = cli(*args, cwd=work, env={"ROTATION_TF_DEBUG": "0"}, internal_error_ok=True)
    assert run.returncode == Exit.INTERNAL == 4
    assert run.stdout == ""
    m = LINE.match(run.stderr)
    assert m, run.stderr
    assert (m["command"], m["target"], m["url"]) == (command, target, crash.ISSUES_URL)
    saved = Path(m["path"])
    assert saved.parent == work / "tmp" and saved.name.startswith("rotation-tf-internal-error-")
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    text = saved.read_text(encoding="utf-8")
    assert text.startswith(f"rotation-tf {command} ") and "Traceback (most recent call last)" in text
    assert text.rstrip().endswith(f"RuntimeError: injected into {target}")


def test_rotation_tf_debug_puts_the_traceback_on_stderr_never_stdout(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _inject(monkeypatch, "generator.diff.compare")
    run = cli("diff", "/dev/null", MANIFEST, "--format", "markdown", cwd=work, internal_error_ok=True)
    assert run.returncode == 4 and run.stdout == ""
    assert "Traceback (most recent call last)" in run.stderr
    assert run.stderr.splitlines()[-1] == (
        "rotation-tf diff: internal error: RuntimeError: injected into generator.diff.compare; "
        f"the traceback is above; please report it at {crash.ISSUES_URL}"
    )
    assert list((work / "tmp").iterdir()) == []


def test_a_traceback_that_cannot_be_saved_still_ends_in_one_line(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _inject(monkeypatch, "generator.imports.render")
    monkeypatch.setattr(tempfile, "tempdir", str(work / "no-such-folder"))
    run = cli("imports", MANIFEST, cwd=work, env={"ROTATION_TF_DEBUG": ""}, internal_error_ok=True)
    assert run.returncode == 4 and run.stdout == "" and run.stderr.count("\n") == 1
    assert "the traceback could not be saved (" in run.stderr and "ROTATION_TF_DEBUG=1 prints it" in run.stderr


def test_the_line_holds_printable_characters_only() -> None:
    assert crash.one_line("KeyError: 'a\x1b[31m\nb'\r\tc") == "KeyError: 'a [31m b' c"
    assert crash.one_line("x" * 400, 20) == "x" * 19 + "…"


def test_the_report_address_is_pyproject_s() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    urls = pyproject.split("[project.urls]", 1)[1].split("\n[", 1)[0]
    assert re.search(r'^Issues = "([^"]+)"$', urls, re.M)[1] == crash.ISSUES_URL  # type: ignore[index]


@pytest.mark.parametrize(
    "argv",
    [["validate", MANIFEST], ["diff", "/dev/null", MANIFEST]],  # the hook's fast path, then typer's
    ids=["fast-path", "typer"],
)
def test_the_process_exits_4_with_one_line(argv: list[str], work: Path) -> None:
    """The console script itself (generator.main), with the failure injected before it runs."""
    code = (
        "import sys, generator.api, generator.diff\n"
        "def boom(*a, **k): raise RuntimeError('injected')\n"
        "generator.api.load = generator.diff.compare = boom\n"
        f"sys.argv = ['rotation-tf', *{argv!r}]\n"
        "from generator.main import main\n"
        "main()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ROTATION_TF_DEBUG"}
    env["TMPDIR"] = str(work / "tmp")
    proc = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 4 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(
        f"rotation-tf {argv[0]}: internal error: RuntimeError"
    )
    (saved,) = (work / "tmp").iterdir()
    assert "RuntimeError: injected" in saved.read_text(encoding="utf-8")
