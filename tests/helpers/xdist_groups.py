"""A pytest plugin (registered by tests/conftest.py) that keeps each xdist_group on one worker.

Tests that share a fixture built once (the lifecycle root, the plan-only root, the traps,
checkov's run, the wheelhouse) carry ``pytest.mark.xdist_group``, and pytest runs with
``--dist loadgroup`` (pyproject.toml), which sends a group to one worker: the group is the
suffix ``@name`` that pytest-xdist adds to each test's node id on the workers. pytest 9.2
reads a node id from a structured id (``Node._id``), which pytest-xdist 3.8 does not set, so
the suffix is lost and each group is split between the workers (each then builds the shared
fixture: correct, but twice). This carries the suffix over until pytest-xdist does; where
either has changed, it does nothing. tests/unit/test_xdist_groups.py checks that a group stays
on one worker with the installed versions.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(trylast=True)  # after pytest-xdist's own hook has named the group
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # pytest before 9.2 reads _nodeid itself
        return
    for item in items:
        wanted = item.__dict__.get("_nodeid")
        if isinstance(wanted, str) and wanted != item.nodeid and isinstance(getattr(item, "_id", None), NodeId):
            item._id = NodeId.parse(wanted)
