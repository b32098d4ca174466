"""What the tests share that is not a fixture: worlds, harnesses, tables and paths.

``pyproject.toml`` puts ``tests/`` on ``sys.path`` (pytest's ``pythonpath``), so that a test
imports ``from helpers.harness import Root``. Fixtures stay in ``tests/conftest.py`` (or a
folder's own conftest.py); constants such as ``ROOT`` and ``GOLDEN`` are in helpers/paths.py,
the in-process CLI runner in helpers/cli.py. See tests/README.md.
"""
