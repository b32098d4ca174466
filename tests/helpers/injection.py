"""Hostile manifests for the injection tests (tests/hostile/test_injection.py, without
terraform, and tests/hostile/test_terraform_injection.py, with it): a hypothesis strategy of
manifests whose descriptions, tags, handlers, zip names and secret names hold what HCL, YAML
and terraform treat specially, one fixed manifest with all of it, and what the generated
module must say of them."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import aws
from generator.naming import secret_ident
from helpers.hclparse import decode_string, load_module, resources

ACCOUNT = "111122223333"
DESCRIPTION_CHARS = [chr(c) for c in (0x09, 0x0A, 0x0D, *range(0x20, 0x7F), *range(0xA1, 0x100))]
description_text = (
    st.lists(
        st.one_of(
            st.sampled_from(['"', "\\", "${", "%{", "$${", "<<EOF\n", "\r\n", "\t"]),
            st.text(st.sampled_from(DESCRIPTION_CHARS), max_size=6),
        ),
        max_size=10,
    )
    .map("".join)
    .filter(lambda s: len(s.encode()) <= aws.DESCRIPTION_MAX_BYTES)
)
tag_char = st.one_of(st.sampled_from(list(" .:/=+-@_")), st.characters(categories=("Lu", "Ll", "Lo", "Nd")))
tag_key = st.text(tag_char, min_size=1, max_size=20).filter(
    lambda k: aws.TAG_CHARS_RE.match(k) and not k.lower().startswith("aws:")
)
tag_value = st.text(tag_char, max_size=30).filter(lambda v: bool(aws.TAG_CHARS_RE.match(v)))
handler = st.text(st.characters(exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=40).filter(
    lambda h: not any(c.isspace() for c in h)
)
secret_name = st.text(st.sampled_from(list("abcXYZ019/_+=.@-")), min_size=1, max_size=30)
zip_name = st.text(st.sampled_from(list("ab$%{}\"' é日")), min_size=1, max_size=12).map(lambda s: f"build/{s}.zip")


@st.composite
def manifests(draw) -> dict:
    return {
        "version": 1,
        "account_id": ACCOUNT,
        "region": "us-east-1",
        "tags": draw(st.dictionaries(tag_key, tag_value, max_size=5)),
        "module": "hostile",
        "functions": {
            "packaged": {
                "strategy": "single_user",
                "engine": "other",
                "description": draw(description_text),
                "package": {"filename": draw(zip_name), "handler": draw(handler), "runtime": "python3.12"},
            },
            "existing": {
                "strategy": "single_user",
                "engine": "postgresql",
                "existing_function_arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rotator",
            },
        },
        "secrets": {
            name: {"function": draw(st.sampled_from(["packaged", "existing"])), "schedule": {"every_days": 7}}
            # distinct Terraform names: two names that share one are a manifest error (rules/renames.py)
            for name in draw(st.lists(secret_name, min_size=1, max_size=4, unique_by=secret_ident))
        },
    }


def write_manifest(work: Path, data: dict) -> Path:
    path = work / "hostile.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _template_literal(raw: str, prefix: str = '"${path.module}/') -> str:
    """The literal tail of ``"${path.module}/<escaped>"``, decoded."""
    assert raw.startswith(prefix) and raw.endswith('"'), raw
    return decode_string('"' + raw[len(prefix) :])


def assert_module_says(module_dir: Path, data: dict, manifest: Path) -> None:
    parsed = load_module(module_dir)
    roles = resources(parsed, "aws_iam_role")
    lambdas = resources(parsed, "aws_lambda_function")
    for key, fn in data["functions"].items():
        if "package" in fn:  # an existing function keeps its role: the module creates none
            assert roles[key]["description"] == fn["description"]
        else:
            assert key not in roles
    pkg = data["functions"]["packaged"]
    fnres = lambdas["packaged"]
    assert fnres["description"] == pkg["description"]
    assert fnres["handler"] == pkg["package"]["handler"]
    zip_rel = os.path.relpath(manifest.parent / pkg["package"]["filename"], module_dir)
    assert _template_literal(fnres["filename"]) == zip_rel
    h = fnres["source_code_hash"]
    assert h.startswith("filebase64sha256(") and h.endswith(")")
    assert _template_literal(h[len("filebase64sha256(") : -1]) == zip_rel
    assert parsed["locals"]["tags"] == data["tags"]
    # secrets without an ARN are looked up by name; each gets its own rotation block
    lookups = {n: body["name"] for (t, n), body in parsed["data"].items() if t == "aws_secretsmanager_secret"}
    assert lookups == {secret_ident(name): name for name, sec in data["secrets"].items() if "arn" not in sec}
    rotations = resources(parsed, "aws_secretsmanager_secret_rotation")
    assert set(rotations) == {secret_ident(name) for name in data["secrets"]}
    for name, sec in data["secrets"].items():
        r = rotations[secret_ident(name)]
        assert r["secret_id"] == sec.get("arn", f"data.aws_secretsmanager_secret.{secret_ident(name)}.arn")
        fn = data["functions"][sec["function"]]
        assert r["rotation_lambda_arn"] == fn.get("existing_function_arn", f"aws_lambda_function.{sec['function']}.arn")


def hostile_samples(n: int) -> list[dict]:
    """n manifests drawn from the same strategy, reproducibly (seeded)."""
    out: list[dict] = []

    @settings(max_examples=n, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(manifests())
    def collect(data: dict) -> None:
        if len(out) < n:
            out.append(data)

    collect()
    return out


FIXED = {
    "version": 1,
    "account_id": ACCOUNT,
    "region": "us-east-1",
    "module": "hostile",
    "tags": {"café": "naïve", "日本語キー": "値", "ключ": "значение", "a": "b:c/d=e+f-g@h i", "x.y": ""},
    "functions": {
        "packaged": {
            "strategy": "single_user",
            "engine": "other",
            "description": 'q"uote \\back ${var.x} %{ if true }y%{ endif } $${z} <<EOF\nline2\tTab\r\nÆØÅ ~',
            "package": {"filename": 'build/we$ird {x} "q".zip', "handler": 'idx.${h}%{i}"\\', "runtime": "python3.12"},
        },
        "existing": {
            "strategy": "single_user",
            "engine": "postgresql",
            "existing_function_arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rotator",
        },
    },
    "secrets": {
        "a/b+c=d.e@f-g_h": {
            "function": "packaged",
            "arn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:a/b+c=d.e@f-g_h-AbCdEf",
            "schedule": {"every_days": 7},
        },
        "x": {
            "function": "existing",
            "arn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:x-AbCdEf",
            "schedule": {"expression": "rate(5 days)"},
        },
    },
}
