"""Console entry point. Kept free of heavy imports so that ``--version`` starts fast."""

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
    from generator.cli import run

    run()
