"""Running the CLI in a test: in this process (:func:`cli`, the fast way) or as its own
process (:func:`cli_process`)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from helpers.paths import ROOT


@dataclass
class Run:
    """What a CLI run left: exit code, stdout and stderr (as subprocess.CompletedProcess)."""

    returncode: int
    stdout: str
    stderr: str


# Variables that change the CLI's output; a run starts without them unless it sets them.
# Variables that change the CLI's output; a run starts without them unless it sets them.
_OUTPUT_ENV = ("NO_COLOR", "FORCE_COLOR", "COLUMNS")


@contextmanager
def _in(cwd: Path, env: dict[str, str] | None) -> Iterator[None]:
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    try:
        for name in _OUTPUT_ENV:
            os.environ.pop(name, None)
        os.environ.update(env or {})
        os.chdir(cwd)
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, internal_error_ok: bool = False) -> Run:
    """Run ``rotation-tf ARGS`` in this process, dispatched as :func:`generator.main.main`
    does (the hook's fast path for a plain generate/validate, typer for the rest): the fast
    way to test the CLI. stdout is not a terminal. An internal error (an exception no
    command expects: exit 4, generator.crash) fails the test with its traceback, which
    ROTATION_TF_DEBUG=1 puts on stderr, unless ``internal_error_ok``. Use
    :func:`cli_process` where the process itself matters."""
    from typer.testing import CliRunner

    from generator import commands
    from generator.cli import app
    from generator.exits import Exit

    runner = CliRunner()
    with _in(cwd, {"ROTATION_TF_DEBUG": "1", **(env or {})}):
        with runner.isolation() as streams:
            code = commands.fast_path(list(args))
            out, err = streams[0].getvalue().decode(), streams[1].getvalue().decode()
        if code is not None:
            run = Run(code, out, err)
        else:
            result = runner.invoke(app, list(args), prog_name="rotation-tf")
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise result.exception
            run = Run(result.exit_code, result.stdout, result.stderr)
    if run.returncode == Exit.INTERNAL and not internal_error_ok:
        raise AssertionError(f"rotation-tf {' '.join(args)}: internal error (exit 4)\n{run.stderr}")
    return run


def cli_process(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> Run:
    """Run ``python -m generator ARGS`` as its own process (what the console script runs)."""
    full_env = {k: v for k, v in os.environ.items() if k not in _OUTPUT_ENV}
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "generator", *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=full_env
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)
