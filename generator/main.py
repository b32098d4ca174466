"""Console entry point. Kept free of heavy imports so that ``--version`` starts fast."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from generator import __version__

        print(f"rotation-tf {__version__}")
        return
    from generator.cli import run

    run()
