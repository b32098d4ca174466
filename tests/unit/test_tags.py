"""Tags on functions and on created secrets, merged over the manifest's, with the same
validation (issue 14): three teams in one manifest can be told apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers.paths import ROOT

from generator import api, render
from generator.errors import Failed


def load(tmp_path: Path, data: dict[str, Any]):
    path = tmp_path / "rotation.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return api.load(path)


def example() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "examples" / "rotation.yaml").read_text())


def errors(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    with pytest.raises(Failed) as info:
        load(tmp_path, data)
    return [d.render() for d in info.value.diagnostics]


def test_function_tags_merge_over_the_manifests(tmp_path: Path) -> None:
    data = example()
    data["functions"]["mysql-alt"]["tags"] = {"team": "orders", "owner": "db-team"}
    module, _ = load(tmp_path, data)
    fn = {f.key: f for f in module.functions}
    assert fn["mysql-alt"].tag_map == {"owner": "db-team", "team": "orders"}
    files = render.render(module, tmp_path / "out" / "rotation")
    iam = files["iam.tf"]
    role = iam[iam.index('resource "aws_iam_role" "mysql-alt"') :]
    role = role[: role.index("\n}\n")]
    assert 'tags = merge(local.tags, {\n    owner = "db-team"\n    team  = "orders"\n  })' in role
    # an existing function keeps its own role: the module creates (and tags) none for it
    assert 'resource "aws_iam_role" "pg-single"' not in iam


def test_tags_are_validated_like_the_manifests(tmp_path: Path) -> None:
    data = example()
    data["functions"]["mysql-alt"]["tags"] = {"aws:owner": "x", "ok": "bad\u0000value"}
    found = errors(tmp_path, data)
    assert any(
        "functions.mysql-alt.tags[\"aws:owner\"]: tag key 'aws:owner' uses the reserved prefix 'aws:'" in e
        for e in found
    ), found
    assert any("functions.mysql-alt.tags.ok: tag value" in e for e in found), found


def test_at_most_fifty_tags_once_merged(tmp_path: Path) -> None:
    data = example()
    data["tags"] = {f"k{i}": "v" for i in range(30)}
    data["functions"]["mysql-alt"]["tags"] = {f"f{i}": "v" for i in range(21)}
    found = errors(tmp_path, data)
    assert any(
        "functions.mysql-alt.tags: 51 tags once merged over the manifest's; AWS allows 50 per resource" in e
        for e in found
    ), found
    data["functions"]["mysql-alt"]["tags"] = {f"k{i}": "w" for i in range(30)}  # overriding keys do not add up
    load(tmp_path, data)


def test_tags_on_an_existing_function_are_an_error(tmp_path: Path) -> None:
    """The module creates nothing taggable for a function it did not create (its inline
    policy and permission take no tags), so tags there would silently tag nothing."""
    data = example()
    data["functions"]["pg-single"]["tags"] = {"team": "orders"}
    found = errors(tmp_path, data)
    assert any(
        "functions.pg-single.tags: tags on a function given by existing_function_arn tag nothing" in e for e in found
    ), found


def test_secret_tags_only_on_created_secrets(tmp_path: Path) -> None:
    data = example()
    data["secrets"]["prod/orders/db"]["tags"] = {"team": "orders"}
    found = errors(tmp_path, data)
    assert any(
        'secrets["prod/orders/db"].tags: tags on a secret are only used with create: true' in e for e in found
    ), found
    managed = yaml.safe_load((ROOT / "examples" / "managed-secrets.yaml").read_text())
    path = tmp_path / "managed.yaml"
    path.write_text(yaml.safe_dump(managed))
    module, _ = api.load(path)
    created = {s.name: s for s in module.managed}
    assert created["payments/app"].managed.tag_map == {"data-class": "confidential"}
