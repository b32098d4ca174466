"""What an unexpected exception becomes: one line on stderr and exit 4 (``Exit.INTERNAL``).

A traceback in CI is a failure of its own: a pull-request job that posts a command's output
would post it, and exit 1 would read as "changed". So any exception that no command
expects, in any command, ends the same way:

* one line on stderr: the command, the exception (printable characters only, shortened),
  the file that holds the traceback, and where to report it (the Issues URL of
  ``pyproject.toml``);
* the traceback in a file of its own under the system's temporary folder
  (``tempfile.gettempdir()``: ``$TMPDIR``, else ``/tmp``), created readable by the user
  alone, named ``rotation-tf-internal-error-<random>.txt``; with ``ROTATION_TF_DEBUG=1`` it
  goes to stderr instead. Never to stdout;
* exit code 4.

:func:`generator.cli` routes every typer command through :func:`report`, and
:func:`generator.commands.fast_path` the hook's plain ``generate`` / ``validate``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback

from generator.exits import Exit

ISSUES_URL = "https://github.com/rotation-tf/rotation-tf/issues"
"""pyproject.toml's [project.urls] Issues (tests/cli/test_crash.py holds them equal)."""
DEBUG_ENV = "ROTATION_TF_DEBUG"
LINE_MAX = 300  # characters of the exception's own words in the one line


def debugging() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def one_line(text: str, limit: int = LINE_MAX) -> str:
    """``text`` on one line of printable characters (an exception's message may hold a
    newline, or a terminal escape from a hostile value), at most ``limit`` long."""
    printable = "".join(c if c.isprintable() else " " for c in text)
    flat = " ".join(printable.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def report(command: str, exc: BaseException) -> int:
    """Write the one line (and the traceback where it goes) and return the exit code."""
    from generator import __version__

    what = type(exc).__name__ + (f": {exc}" if str(exc) else "")
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    name = f"rotation-tf {command}".strip()
    if debugging():
        sys.stderr.write(tb)
        where = "the traceback is above"
    else:
        header = f"{name} {__version__} (Python {sys.version.split()[0]}, {sys.platform})\nargv: {sys.argv!r}\n\n"
        try:
            fd, path = tempfile.mkstemp(prefix="rotation-tf-internal-error-", suffix=".txt")
            with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
                f.write(header + tb)
            where = f"the traceback is in {path}"
        except OSError as err:
            where = f"the traceback could not be saved ({one_line(str(err), 120)}; {DEBUG_ENV}=1 prints it)"
    sys.stderr.write(f"{name}: internal error: {one_line(what)}; {where}; please report it at {ISSUES_URL}\n")
    sys.stderr.flush()
    return int(Exit.INTERNAL)
