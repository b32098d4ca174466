"""Reordering a manifest's mappings without changing its meaning."""

from __future__ import annotations


def shuffled(data, rng):
    """``data`` with every mapping's keys in a random (seeded) order: same meaning."""
    if isinstance(data, dict):
        items = list(data.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(data, list):
        return [shuffled(v, rng) for v in data]
    return data
