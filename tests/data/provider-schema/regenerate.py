"""Regenerate aws-6.json: the part of the hashicorp/aws 6.x schema that rotation-tf's
templates can emit, read from two registry packages generated from that schema.

    pip download --no-deps cdktn-provider-aws==25.8.1 pulumi-aws==7.51.1 -d /tmp/schema-src
    python tests/data/provider-schema/regenerate.py /tmp/schema-src

* cdktn-provider-aws (PyPI; "CDKTN prebuilt bindings for hashicorp/aws provider version
  6.69.1") bundles the jsii package of generated JavaScript. Each resource, data source and
  ephemeral resource class names its Terraform type (``tfResourceType``) and lists every
  argument and block it can send with its kind (``synthesizeHclAttributes``: isBlock, type,
  storageClassType), nested blocks in ``<Struct>ToHclTerraform`` functions; readable
  attributes appear as ``get<Kind>Attribute('name')``. That gives names and types.
* The cdktn generator drops the schema's deprecation flags (its only ``@deprecated``
  markers are on write-only getters), so deprecations come from pulumi-aws (PyPI), whose SDK
  is bridged from terraform-provider-aws 6.x and turns each deprecated argument into a
  ``warnings.warn(..., DeprecationWarning)`` in the resource's Args class (and in
  ``_inputs.py`` for nested blocks). Pulumi has no ephemeral resources: those are checked
  for names and types only.

Only the types in TYPES are kept. tests/terraform/test_provider_schema.py fails when a template emits
a type that is not here: add it to TYPES and run this script again.
"""

from __future__ import annotations

import io
import json
import re
import sys
import tarfile
import zipfile
from pathlib import Path

CDKTN = ("cdktn-provider-aws", "25.8.1")
PULUMI = ("pulumi-aws", "7.51.1")

# Terraform type -> (kind, pulumi module file, pulumi class name)
TYPES: dict[tuple[str, str], tuple[str, str]] = {
    ("resource", "aws_iam_policy"): ("iam/policy.py", "Policy"),
    ("resource", "aws_iam_role"): ("iam/role.py", "Role"),
    ("resource", "aws_iam_role_policy"): ("iam/role_policy.py", "RolePolicy"),
    ("resource", "aws_iam_role_policies_exclusive"): ("iam/role_policies_exclusive.py", "RolePoliciesExclusive"),
    ("resource", "aws_lambda_function"): ("lambda_/function.py", "Function"),
    ("resource", "aws_lambda_permission"): ("lambda_/permission.py", "Permission"),
    ("resource", "aws_secretsmanager_secret"): ("secretsmanager/secret.py", "Secret"),
    ("resource", "aws_secretsmanager_secret_rotation"): ("secretsmanager/secret_rotation.py", "SecretRotation"),
    ("resource", "aws_secretsmanager_secret_version"): ("secretsmanager/secret_version.py", "SecretVersion"),
    ("resource", "aws_serverlessapplicationrepository_cloudformation_stack"): (
        "serverlessrepository/cloud_formation_stack.py",
        "CloudFormationStack",
    ),
    ("data", "aws_lambda_function"): ("lambda_/get_function.py", "GetFunction"),
    ("data", "aws_secretsmanager_secret"): ("secretsmanager/get_secret.py", "GetSecret"),
    ("ephemeral", "aws_secretsmanager_random_password"): ("", ""),
}

_ATTR = re.compile(
    r"(\w+): \{\s*value: (.*?),\s*isBlock: (true|false),\s*type: \"(\w+)\",\s*storageClassType: \"([\w.]+)\",\s*\}",
    re.S,
)
_GETTER = re.compile(r"get\w*Attribute\('([a-z0-9_]+)'\)|new cdktn\.\w+\(this, \"([a-z0-9_]+)\"\)")


def _attrs(segment: str, functions: dict[str, str]) -> dict:
    out: dict = {"attributes": {}, "block_types": {}}
    for name, value, is_block, kind, storage in _ATTR.findall(segment):
        if is_block == "true":
            m = re.search(r"(\w+)ToHclTerraform", value)
            assert m, (name, value)
            nested = _attrs(functions[m.group(1)], functions)
            out["block_types"][name] = {"nesting": kind, "block": nested}
        else:
            out["attributes"][name] = {"type": f"{kind}:{storage}"}
    return out


def _cdktn_schema(js: str) -> tuple[dict, list[str]]:
    functions = {}
    for m in re.finditer(r"function (\w+)ToHclTerraform\(struct\) \{", js):
        end = js.index("return Object.fromEntries", m.end())
        functions[m.group(1)] = js[m.end() : end]
    start = js.index("synthesizeHclAttributes() {")
    end = js.index("return Object.fromEntries", start)
    return _attrs(js[start:end], functions), sorted({a or b for a, b in _GETTER.findall(js)})


def _pulumi_deprecations(files: dict[str, str], module: str, cls: str) -> tuple[str | None, dict[str, str]]:
    """(resource deprecation message, {argument: message}) from a pulumi module and its _inputs.py."""
    text = files[module]
    whole = re.search(r'warnings\.warn\("""(.*?)""", DeprecationWarning\)\s*\n\s*\n\s*@pulumi\.type_token', text, re.S)
    found: dict[str, str] = {}
    pattern = re.compile(r'if (\w+) is not None:\s*\n\s*warnings\.warn\("""(.*?)""", DeprecationWarning\)', re.S)

    def scan(body: str, prefix: str) -> None:
        for prop, msg in pattern.findall(body):
            found[prefix + prop] = msg

    m = re.search(rf"class {cls}Args:(.*?)\n(?:class |@pulumi)", text, re.S)
    if m:
        scan(m.group(1), "")
    inputs = files.get(module.rsplit("/", 1)[0] + "/_inputs.py", "")
    for m in re.finditer(rf"class ({cls}\w+)Args:(.*?)(?=\nclass |\Z)", inputs, re.S):
        scan(m.group(2), f"{m.group(1)[len(cls) :]}.")
    return (whole.group(1) if whole else None), found


def _control(pulumi_files: dict[str, str]) -> None:
    """The deprecation scan must find a deprecation that 6.x is known to have: aws_instance's
    network_interface (6.x docs: use primary_network_interface); otherwise it finds nothing
    anywhere and the test would pass for the wrong reason."""
    _, found = _pulumi_deprecations(pulumi_files, "ec2/instance.py", "Instance")
    assert "network_interfaces" in found, "the pulumi deprecation scan found nothing: the SDK's layout changed"


def main(src: Path) -> None:
    cdktn_whl = next(src.glob("cdktn_provider_aws-*.whl"))
    pulumi_whl = next(src.glob("pulumi_aws-*.whl"))
    with zipfile.ZipFile(cdktn_whl) as z:
        tgz = next(n for n in z.namelist() if n.endswith(".jsii.tgz"))
        blob = z.read(tgz)
        readme = z.read(next(n for n in z.namelist() if n.endswith("METADATA"))).decode()
    provider_version = re.search(r"hashicorp/aws provider version ([0-9.]+)", readme).group(1)  # type: ignore[union-attr]
    sources: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        for member in tar:
            if member.name.endswith("/index.js") and "/lib/" in member.name:
                js = tar.extractfile(member).read().decode()  # type: ignore[union-attr]
                m = re.search(r'tfResourceType = "([a-z0-9_]+)"', js)
                if m:
                    folder = member.name.split("/")[-2]
                    kind = (
                        "ephemeral"
                        if folder.startswith("ephemeral-")
                        else "data"
                        if folder.startswith("data-")
                        else "resource"
                    )
                    sources[f"{kind}:{m.group(1)}"] = js
    with zipfile.ZipFile(pulumi_whl) as z:
        pulumi_files = {
            n[len("pulumi_aws/") :]: z.read(n).decode()
            for n in z.namelist()
            if n.endswith(".py") and n.startswith("pulumi_aws/")
        }
    _control(pulumi_files)
    out: dict = {
        "_comment": (
            "Generated by tests/data/provider-schema/regenerate.py: the hashicorp/aws "
            f"{provider_version} schema of the types rotation-tf emits. Names and types from "
            f"{CDKTN[0]} {CDKTN[1]}, deprecations from {PULUMI[0]} {PULUMI[1]} (see regenerate.py)."
        ),
        "provider_version": provider_version,
        "sources": {"names_and_types": f"{CDKTN[0]}=={CDKTN[1]}", "deprecations": f"{PULUMI[0]}=={PULUMI[1]}"},
        "resource_schemas": {},
        "data_source_schemas": {},
        "ephemeral_resource_schemas": {},
    }
    section = {"resource": "resource_schemas", "data": "data_source_schemas", "ephemeral": "ephemeral_resource_schemas"}
    for (kind, rtype), (module, cls) in sorted(TYPES.items()):
        block, readable = _cdktn_schema(sources[f"{kind}:{rtype}"])
        entry: dict = {"block": block, "readable_attributes": readable}
        if module:
            whole, deprecated = _pulumi_deprecations(pulumi_files, module, cls)
            token = re.search(r'type_token\("([^"]+)"\)', pulumi_files[module])
            entry["pulumi"] = {"module": f"pulumi_aws/{module}", "token": token.group(1) if token else None}
            entry["deprecated"] = whole
            entry["deprecated_arguments"] = deprecated
        else:
            entry["pulumi"] = None
        out[section[kind]][rtype] = entry
    target = Path(__file__).with_name("aws-6.json")
    target.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {target} ({target.stat().st_size:,} bytes, provider {provider_version})")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
