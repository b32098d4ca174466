"""What the rules see of a manifest with shape errors (issue 19): typed values, never the
mapping the file holds. ``manifest.Head`` mirrors the top level of ``manifest.Manifest``; a
new top-level field must be added to both, and the stand-ins must cover every required one."""

from __future__ import annotations

import dataclasses

from generator.manifest import HEAD_STAND_INS, Head, Manifest, Partial, Roles, validate_shape
from generator.source import Source

SECTIONS = {"functions", "secrets"}


def test_head_holds_every_top_level_field_of_the_manifest() -> None:
    assert {f.name for f in dataclasses.fields(Head)} == set(Manifest.model_fields) - SECTIONS


def test_the_stand_ins_cover_every_required_field_and_are_valid() -> None:
    required = {name for name, field in Manifest.model_fields.items() if field.is_required()}
    assert required <= set(HEAD_STAND_INS) <= required | SECTIONS
    Manifest.model_validate(HEAD_STAND_INS)  # raises if a stand-in went stale


def _partial(data: dict) -> Partial:
    manifest, diags = validate_shape(Source("m.yaml", data))
    assert diags, "the case must have a shape error"
    assert isinstance(manifest, Partial)
    return manifest


def test_a_bad_required_field_is_unknown_and_the_rest_is_typed() -> None:
    data = {
        "version": 2,
        "account_id": "FILL-IN-ACCOUNT-ID",
        "region": "us-east-1",
        "roles": {"path": "/rotation/", "permissions_boundary": "arn:aws:iam::111122223333:policy/b", "bogus": 1},
        "secrets": {"app/db": {"function": "f", "schedule": {"every_days": 7}}},
    }
    partial = _partial(data)
    head = partial.head
    assert head.version is None and head.account_id is None and head.region == "us-east-1"
    assert isinstance(head.roles, Roles) and head.roles.permissions_boundary == "arn:aws:iam::111122223333:policy/b"
    assert {("version",), ("account_id",), ("roles", "bogus")} <= partial.dropped
    assert list(partial.secrets) == ["app/db"]


def test_a_missing_required_field_is_unknown() -> None:
    partial = _partial({"version": 1, "region": "eu-west-1", "roles": {}, "secrets": {}})
    assert partial.head.account_id is None and partial.head.region == "eu-west-1"
    assert partial.head.roles == Roles()
