"""Console entry point. Kept free of heavy imports so that ``--version`` and the hook's
commands start fast."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from generator import __version__

        print(f"rotation-tf {__version__}")
        return
    # A run is short and what it builds (YAML nodes, models, rendered text) holds no
    # reference cycles, so reference counting frees it all; the cyclic collector would only
    # re-scan the growing heap, which cost about a quarter of `generate` at 10,000 secrets.
    # Peak memory is unchanged (bench/run.py measures it).
    import gc

    gc.disable()
    # pydantic looks for plugins in every installed distribution's entry points the first
    # time it builds a validator (a fifth of `validate` on a small manifest); manifests
    # need none. A user's own setting of the variable wins.
    import os

    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # A plain `generate` or `validate` (what a pre-commit hook runs on every commit) skips
    # the CLI framework's start-up; anything else, --help and usage errors included, goes
    # through typer.
    from generator import commands

    try:
        code = commands.fast_path(sys.argv[1:])
    except KeyboardInterrupt:
        from generator.exits import Exit

        sys.exit(int(Exit.INTERRUPTED))
    if code is not None:
        sys.stdout.flush()
        sys.exit(code)
    from generator.cli import run

    run()
