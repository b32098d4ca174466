"""The module README (terraform-docs layout) says what the .tf files beside it declare:
its Resources, Outputs and Requirements tables are compared with python-hcl2 parses of the
golden modules, and its role tables with the model's statements."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.hclparse import load_module
from helpers.paths import EXAMPLES, GOLDEN, ROOT

from generator import api


def _table(readme: str, heading: str) -> list[list[str]]:
    section = readme.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[2:]]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_module_readme_matches_the_tf_files(example: Path) -> None:
    module, _ = api.load(example)
    folder = GOLDEN / module.name
    readme = (folder / "README.md").read_text(encoding="utf-8")
    parsed = load_module(folder)

    # who rotates what, each secret counted once (issue 25 §4: an external secret was counted as a function's)
    by_function = sum(len(f.secrets) for f in module.functions)
    said = {
        "function": re.search(r"\b(\d+) rotation function\(s\) rotate (\d+) secret\(s\)", readme),
        "external": re.search(r"Secrets Manager rotates (\d+) managed external secret\(s\)", readme),
        "service": re.search(r"(\d+) secret\(s\) are rotated by their own service", readme),
    }
    assert (said["function"] and said["function"].groups()) == (
        (str(len(module.functions)), str(by_function)) if module.functions else None
    )
    assert (said["external"] and said["external"][1]) == (str(len(module.externals)) if module.externals else None)
    service = module.service_rotated
    assert (said["service"] and said["service"][1]) == (str(len(service)) if service else None)

    headings = re.findall(r"^## (.+)$", readme, re.M)
    assert headings[:7] == [
        "Requirements",
        "Providers",
        "Modules",
        "Resources",
        "Inputs",
        "Outputs",
        "Rotation functions",
    ]

    # Per-secret blocks are listed once per type, e.g. "aws_secretsmanager_secret_rotation
    # (one per secret)"; the .tf files must declare exactly one of them per such secret.
    per_secret = {
        ("resource", "aws_secretsmanager_secret_rotation"): ("one per secret", module.secrets),
        ("data source", "aws_secretsmanager_secret"): ("one per secret given by name only", module.lookups),
        ("resource", "aws_secretsmanager_secret"): ("one per created secret", module.managed),
        ("resource", "aws_secretsmanager_secret_version"): ("one per created secret", module.managed),
        ("ephemeral resource", "aws_secretsmanager_random_password"): ("one per created secret", module.managed),
    }
    listed = set()
    for name, kind in _table(readme, "Resources"):
        m = re.fullmatch(
            r"\[(\w+)(?:\.([\w-]+)| \(([a-z ]+)\))\]\(https://registry\.terraform\.io/providers/hashicorp/aws/latest/docs/(resources|data-sources|ephemeral-resources)/(\w+)\)",
            name,
        )
        assert m, name
        rtype, rname, note, folder_kind, short = m.groups()
        assert short == rtype[len("aws_") :]
        assert (kind, folder_kind) in (
            ("resource", "resources"),
            ("data source", "data-sources"),
            ("ephemeral resource", "ephemeral-resources"),
        )
        listed.add((kind, rtype, rname or note))
    declared = set()
    for kind, section in (("resource", "resource"), ("data source", "data"), ("ephemeral resource", "ephemeral")):
        names_by_type: dict[str, set[str]] = {}
        for t, n in parsed[section]:
            names_by_type.setdefault(t, set()).add(n)
        for t, names in names_by_type.items():
            if (kind, t) in per_secret:
                note, secrets = per_secret[(kind, t)]
                assert names == {s.ident for s in secrets}, (kind, t)
                declared.add((kind, t, note))
            else:
                declared |= {(kind, t, n) for n in names}
    assert ("resource", "aws_secretsmanager_secret_rotation", "one per secret") in declared
    assert listed == declared
    m = re.search(r"`([^`]+)` is `aws_secretsmanager_secret_rotation\.([\w-]+)`", readme)
    assert m, "the README shows how a secret's name becomes its blocks' name"
    named = next(s for s in module.secrets if s.name == m.group(1))
    assert m.group(2) == named.ident and ("resource", "aws_secretsmanager_secret_rotation") in per_secret
    assert ("aws_secretsmanager_secret_rotation", named.ident) in parsed["resource"]

    outputs = dict(_table(readme, "Outputs"))
    assert outputs == {name: body["description"] for name, body in parsed["output"].items()}

    requirements = dict(_table(readme, "Requirements"))
    versions = (folder / "versions.tf").read_text()
    assert f'required_version = "{requirements["terraform"]}"' in versions
    assert f'version = "{requirements["aws"]}"' in versions
    assert "\n## Inputs\n\nNo inputs.\n" in readme and not list(folder.glob("variables.tf"))

    for fn in module.functions:
        if fn.policy is None:  # a rotation application brings its own role
            assert f"(function `{fn.key}`)" not in readme
            continue
        heading = (
            f"### `{fn.role_name}` (function `{fn.key}`)"
            if fn.role_name is not None
            else f"### The role `{fn.function_name}` runs as (function `{fn.key}`)"
        )
        section = readme.split(heading, 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
        rows = [r for r in section.splitlines() if r.startswith("| ") and not r.startswith("| Sid")]
        assert [r.split("|")[1].strip() for r in rows] == [st.sid for st in fn.policy.statements]
        for st, row in zip(fn.policy.statements, rows, strict=True):
            assert st.reason in row
            for item in (*st.actions, *st.resources):
                assert f"`{item}`" in row


def test_the_readme_draws_who_may_touch_what(tmp_path) -> None:
    """A Mermaid flowchart: every function, each secret it rotates (up to 50 secrets), the
    master secrets it reads and the keys it decrypts with; above 50, counts per function."""
    import re

    import yaml

    from generator import api, explain, render

    module, _ = api.load(ROOT / "examples" / "rotation.yaml")
    readme = render.render(module, tmp_path / "out" / "rotation")["README.md"]
    block = readme[readme.index("```mermaid\n") + len("```mermaid\n") :]
    block = block[: block.index("```")]
    lines = block.splitlines()
    assert lines[0] == "flowchart LR" and lines == explain.diagram(module)
    assert "None" not in block
    for fn in module.functions:
        # an existing function without execution_role_arn: its role is read at plan time (issue 25 §4: "role None")
        role = f"role {fn.role_name}" if fn.role_name else f"the role {fn.function_name} runs as (read at plan time)"
        assert f'["function {fn.key}<br/>{role}"]' in block
        for s in fn.secrets:
            assert f'["{s.name}"]' in block
    assert sum(1 for line in lines if "-->|rotates|" in line) == len(module.secrets)
    assert block.count("-.->|reads|") == len({s.master_arn for s in module.secrets if s.master_arn})
    keys = {s.kms_key_arn for s in module.secrets if s.kms_key_arn} | {
        s.master_kms_key_arn for s in module.secrets if s.master_kms_key_arn
    }
    assert len(re.findall(r"\[\(\"key ", block)) == len(keys)

    data = yaml.safe_load((ROOT / "examples" / "minimal.yaml").read_text())
    for n, drawn in ((50, True), (51, False)):
        data["secrets"] = {
            f"prod/svc-{i:03d}/db": {"function": "rotator", "schedule": {"every_days": 7}} for i in range(n)
        }
        path = tmp_path / f"m{n}.yaml"
        path.write_text(yaml.safe_dump(data))
        big, _ = api.load(path)
        lines = explain.diagram(big)
        if drawn:
            assert sum(1 for line in lines if "-->|rotates|" in line) == 50
        else:
            assert lines == [
                "flowchart LR",
                '  f0["function rotator<br/>the role SecretsManagerRotator runs as (read at plan time)"]',
                '  f0_s["51 secrets"]',
                "  f0 -->|rotates| f0_s",
            ], lines
