"""versions.tf asks for what the module's own blocks need, and no more (generator/versions.py);
generated functions publish no versions and every rotation names the unqualified ARN."""

from __future__ import annotations

import re
from pathlib import Path

import hcl2
import pytest
from helpers.paths import EXAMPLES, ROOT

from generator import api, versions

EVERY_OPTION = ROOT / "tests" / "data" / "every-option.yaml"
HEAD = 'version: 1\naccount_id: "111122223333"\nregion: us-east-1\n'
EXISTING = "arn:aws:lambda:us-east-1:111122223333:function:rotator"


def _versions(manifest: Path) -> tuple[str, str]:
    files = api.render(manifest, Path("/nonexistent")).files
    tf = hcl2.loads(files["versions.tf"])["terraform"][0]
    return tf["required_version"].strip('"'), tf["required_providers"][0]["aws"]["version"].strip('"')


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(HEAD + body)
    return path


FN = f"functions:\n  f: {{strategy: single_user, engine: postgresql, existing_function_arn: {EXISTING}}}\n"
SECRET = "secrets:\n  s:\n    function: f\n    schedule: {every_days: 30}\n"


@pytest.mark.parametrize(
    "body,terraform,provider",
    [
        # Every module: rotate_immediately (5.33.0); Terraform 1.5.
        ("roles: {exclusive_policies: false}\n" + FN + SECRET, ">= 1.5.0", ">= 5.33.0, < 7.0.0"),
        # A role the module manages exclusively: aws_iam_role_policies_exclusive (5.68.0).
        (FN + SECRET, ">= 1.5.0", ">= 5.68.0, < 7.0.0"),
        # A created secret: write-only secret_string_wo (5.88.0) and Terraform 1.11.
        (
            "roles: {exclusive_policies: false}\n"
            + FN
            + SECRET
            + "    create: true\n    password_in_database: true\n    connection: {host: db, username: u}\n",
            ">= 1.11.0",
            ">= 5.88.0, < 7.0.0",
        ),
    ],
    ids=["base", "exclusive", "created"],
)
def test_each_feature_sets_its_own_minimum(tmp_path: Path, body: str, terraform: str, provider: str) -> None:
    assert _versions(_write(tmp_path, body)) == (terraform, provider)


def test_examples_without_created_secrets_do_not_need_terraform_1_11() -> None:
    for example in EXAMPLES:
        text = example.read_text()
        terraform, provider = _versions(example)
        if "create: true" in text and "external:" not in text:
            assert terraform == ">= 1.11.0" and provider.startswith(">= 5.88.0"), example.name
        else:
            assert terraform == ">= 1.5.0", example.name


def test_every_minimum_is_within_the_checked_schemas() -> None:
    """The schema tests check 5.100.0 and 6.69.1: a minimum above 5.100.0 would claim 5.x
    support that nobody checked."""
    for f in (versions.BASE, versions.EXCLUSIVE, versions.CREATED):
        assert tuple(map(int, f.provider.split("."))) <= (5, 100, 0), f
        assert "https://" in f.source
    # Managed external secrets exist in 6.x only: checked against the vendored 6.69.1 schema.
    assert (6, 0, 0) <= tuple(map(int, versions.EXTERNAL.provider.split("."))) <= (6, 69, 1)
    assert "https://" in versions.EXTERNAL.source


def test_external_secrets_need_their_provider_minimum_only_where_used() -> None:
    external = ROOT / "examples" / "external-secrets.yaml"
    assert _versions(external) == (">= 1.5.0", f">= {versions.EXTERNAL.provider}, < 7.0.0")
    for example in EXAMPLES:
        if "external:" not in example.read_text():
            assert not _versions(example)[1].startswith(">= 6."), example.name


def _modules() -> list[tuple[str, dict[str, str]]]:
    out = []
    for manifest in [*EXAMPLES, EVERY_OPTION]:
        files = api.render(manifest, Path("/nonexistent")).files
        out.append((manifest.name, files))
    return out


_FUNCTION_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+$")


def test_functions_publish_nothing_and_rotations_use_the_unqualified_arn() -> None:
    """Provider 6.x changed how `publish = true` functions plan; generated functions never
    publish, and each rotation (and permission) names the function itself, never a version
    or alias: a qualified ARN would pin rotation to a version that never updates."""
    seen = {"package": 0, "app": 0, "existing": 0}
    for name, files in _modules():
        code = "\n".join(t for n, t in files.items() if n.endswith(".tf"))
        assert "qualified_arn" not in code and "qualified_invoke_arn" not in code, name
        parsed = [hcl2.loads(t) for n, t in files.items() if n.endswith(".tf")]
        for doc in parsed:
            for entry in doc.get("resource", []):
                for rtype, named in entry.items():
                    for body in named.values():
                        if rtype == '"aws_lambda_function"':
                            assert body.get("publish", False) is False, name
                        if rtype == '"aws_lambda_permission"':
                            fn = body["function_name"]
                            assert ":" not in fn and "qualifier" not in body, (name, fn)
                        if rtype != '"aws_secretsmanager_secret_rotation"' or "rotation_lambda_arn" not in body:
                            continue
                        arn = body["rotation_lambda_arn"]
                        if re.fullmatch(r"\$\{aws_lambda_function\.[\w-]+\.arn\}", arn):
                            seen["package"] += 1
                        elif re.fullmatch(
                            r'\$\{aws_serverlessapplicationrepository_cloudformation_stack\.[\w-]+\.outputs\["RotationLambdaARN"\]\}',
                            arn,
                        ):
                            seen["app"] += 1
                        else:
                            assert _FUNCTION_ARN.match(arn.strip('"')), (name, arn)
                            seen["existing"] += 1
    assert all(seen.values()), seen
