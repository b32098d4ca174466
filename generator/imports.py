"""Import blocks that adopt existing resources into the module (``import: true``).

Terraform accepts ``import`` blocks only in the root module, so they cannot live in the
generated module: ``rotation-tf imports MANIFEST`` prints them for the root, addressed
through the module call: ``module.<name>`` of the manifest's module by default (``module:``,
else the file name: the folder ``generate`` writes, ``out/<name>/``), or ``--module-address``. Import IDs follow the AWS
provider: a role by name, a role policy as ``role:policy``, a permission as
``function/statement``, a rotation by the secret's ARN (or name, when no ARN is given).
An existing function's role is never imported (the module does not manage it): only the
policy the module puts on it, found on the role the function runs as.
"""

from __future__ import annotations

import re

from generator import hcl
from generator.model import Module

ADDRESS_RE = re.compile(r"module\.[A-Za-z_][A-Za-z0-9_-]*(\[[^\]]+\])?(\.module\.[A-Za-z_][A-Za-z0-9_-]*)*")
"""A module call's address in the root configuration: module.NAME, with an index or nested calls."""


def address(module: Module, given: str | None) -> tuple[str | None, str | None]:
    """(the address to import through, or None; why there is none). Without ``given``, the
    call named after the module, as ``generate`` names its folder."""
    if given is not None:
        if ADDRESS_RE.fullmatch(given):
            return given, None
        return None, f"{given!r} is not a module address such as module.{module.name}"
    default = f"module.{module.name}"
    if ADDRESS_RE.fullmatch(default):
        return default, None
    return None, (
        f"the module name {module.name!r} cannot name a module call (Terraform names start with a letter or "
        "'_'): give --module-address, the address your root configuration calls the module by"
    )


def blocks(module: Module, address: str) -> list[tuple[str, str]]:
    """(resource address, import id expression) pairs, in a stable order."""
    out: list[tuple[str, str]] = []
    for fn in module.functions:
        if not fn.adopt:
            continue
        # The import ID of each resource type the module declares for a function (the
        # provider's import syntax); a type without one here fails loudly (KeyError).
        if fn.role_name is not None:
            policy_id = hcl.string(f"{fn.role_name}:{fn.policy_name}")
        else:  # the role an existing function runs as, looked up by the data source render() prints
            role = f'reverse(split("/", data.aws_lambda_function.{_function_lookup(module, fn.key)}.role))[0]'
            policy_id = f'"${{{role}}}:{hcl.escape(fn.policy_name)}"'
        ids = {
            "aws_iam_role": hcl.string(fn.role_name or ""),
            "aws_iam_role_policy": policy_id,
            "aws_iam_role_policies_exclusive": hcl.string(fn.role_name or ""),
            "aws_lambda_function": hcl.string(fn.function_name),
            "aws_lambda_permission": hcl.string(f"{fn.function_name}/{fn.statement_id}"),
        }
        for rtype in module.resource_types(fn):
            out.append((f"{address}.{rtype}.{hcl.ident(fn.key)}", ids[rtype]))
    for s in module.secrets:
        if s.adopt:
            # A rotation imported by name plans a replacement; the ID must be the ARN.
            ident = (
                hcl.string(s.arn)
                if s.arn
                else f"data.aws_secretsmanager_secret.{_lookup_name(module)}[{hcl.string(s.name)}].arn"
            )
            out.append((f"{address}.aws_secretsmanager_secret_rotation.{s.ident}", ident))
    return out


def _lookup_name(module: Module) -> str:
    return f"rotation_tf_import_{module.name.replace('-', '_')}"


def _function_lookup(module: Module, key: str) -> str:
    return f"{_lookup_name(module)}_{key}"


def render(module: Module, address: str) -> str:
    lines = [f"# Import blocks for the root module, from rotation-tf {module.version} ({module.manifest_name})."]
    by_name = [s.name for s in module.secrets if s.adopt and not s.arn]
    if by_name:
        lines += [
            "",
            "# Secrets given by name: import needs their ARN.",
            f'data "aws_secretsmanager_secret" "{_lookup_name(module)}" {{',
            f"  for_each = toset({hcl.value(by_name, 1)})",
            "",
            "  name = each.key",
            "}",
        ]
    for fn in module.functions:
        if fn.adopt and fn.has_role and not fn.creates_role and fn.role_name is None:
            lines += [
                "",
                f"# The role {fn.function_name} runs as, read from the function: its policy is imported from there.",
                f'data "aws_lambda_function" "{_function_lookup(module, fn.key)}" {{',
                f"  function_name = {hcl.string(fn.function_name)}",
                "}",
            ]
    for to, ident in blocks(module, address):
        lines += ["", "import {", f"  to = {to}", f"  id = {ident}", "}"]
    return hcl.align("\n".join(lines)) + "\n"
