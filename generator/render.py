"""Stage 4: the model becomes file contents, in memory. Nothing here touches the disk.

One Jinja environment factory serves the CLI and the tests. Each template is named after
the file it produces (``iam.tf.j2`` renders ``iam.tf``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path as FsPath
from typing import Any

import jinja2

from generator import aws, aws_calls, explain, hcl, markdown, naming, other_policies, rotation_apps, versions
from generator.model import FunctionPlan, Module, SecretPlan
from generator.writer import MARKER, TOOL

_HERE = FsPath(__file__).resolve().parent


def templates_dir() -> FsPath:
    """Templates ship inside the wheel as generator/templates; in a checkout they are ../templates."""
    for candidate in (_HERE / "templates", _HERE.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("rotation-tf templates are missing from this installation")  # pragma: no cover


FILTERS = {
    "hcl": hcl.value,
    "q": hcl.string,
    "ident": hcl.ident,
    "key": hcl.key,
    "code": markdown.code,
    "code_cell": lambda value: markdown.code(value, cell=True),
    "text": markdown.text,
    "cell": lambda value: markdown.text(value, cell=True),
}


def requirements(module: Module) -> versions.Requirements:
    """What versions.tf requires and the module README explains: only what the module's own
    blocks need (generator/versions.py)."""
    features = [versions.BASE]
    if module.roles.exclusive_policies and any(f.has_role for f in module.functions):
        features.append(versions.EXCLUSIVE)
    if module.valued:
        features.append(versions.CREATED)
    if module.externals:
        features.append(versions.EXTERNAL)
    return versions.combine(features)


# Output name -> description, for outputs.tf and the module README alike.
OUTPUTS = {
    "role_arns": "ARN of the execution role that holds each rotation function's grants, keyed by function: the role the module creates, or the role an existing function runs as (read at plan time). None for a rotation_app.",
    "role_names": "Name of the execution role that holds each rotation function's grants, keyed by function (as role_arns).",
    "function_arns": "ARN of each rotation function, keyed by function.",
    "secret_arns": "ARN of each rotated secret, keyed by secret name.",
}
# Only in modules with managed external secrets.
EXTERNAL_OUTPUTS = {
    "external_rotation_role_arn": "ARN of the role Secrets Manager assumes to rotate the managed external secrets.",
    "credentials_to_store": "Created external secrets whose rotation is off until you put the partner's fields in "
    "them (external.credentials_stored: false), keyed by secret name: ARN.",
}
# Only in modules with such secrets (password_in_database: false).
PASSWORDS_TO_SET = (
    "Created secrets whose rotation is off until you set the database user's password to the "
    "secret's password (password_in_database: false), keyed by secret name: ARN."
)

EXTERNAL_BLOCK = "_external_secrets"
"""The name of the external rotation role's blocks: function keys start with a letter, so no
function's blocks can take it."""

_REGISTRY = "https://registry.terraform.io/providers/hashicorp/aws/latest/docs"


def resource_table(module: Module) -> list[dict[str, str]]:
    """Every resource and data source the module declares, sorted as terraform-docs sorts
    them (by type, then name), with its provider documentation link."""
    items: list[tuple[str, str, str]] = []
    for fn in module.functions:
        items += [(rtype, hcl.ident(fn.key), "resource") for rtype in module.resource_types(fn)]
        if fn.has_role and not fn.creates_role:  # the function's own role, read from it
            items.append(("aws_lambda_function", hcl.ident(fn.key), "data source"))
    if module.external_role is not None:
        items += [
            (rtype, EXTERNAL_BLOCK, "resource")
            for rtype in ("aws_iam_role", "aws_iam_role_policy")
            + (("aws_iam_role_policies_exclusive",) if module.roles.exclusive_policies else ())
        ]
    labels = {item: f"{item[0]}.{item[1]}" for item in items}
    # Per-secret blocks are named after their secret (naming.secret_ident): one row each
    # type, not one per secret, so the table stays short at thousands of secrets.
    per_secret = [
        (
            "aws_secretsmanager_secret_rotation",
            "resource",
            "one per secret" if not module.awaiting_password else "one per secret with rotation on",
        )
    ]
    if module.lookups:
        per_secret.append(("aws_secretsmanager_secret", "data source", "one per secret given by name only"))
    if module.managed:
        per_secret.append(("aws_secretsmanager_secret", "resource", "one per created secret"))
    if module.valued:
        note = (
            "one per created secret"
            if len(module.valued) == len(module.managed)
            else "one per created secret with a first version"
        )
        per_secret += [
            (rtype, kind, note)
            for rtype, kind in (
                ("aws_secretsmanager_secret_version", "resource"),
                ("aws_secretsmanager_random_password", "ephemeral resource"),
            )
        ]
    for rtype, kind, note in per_secret:
        items.append((rtype, note, kind))
        labels[(rtype, note, kind)] = f"{rtype} ({note})"
    rows = []
    for item in sorted(items):
        rtype, _, kind = item
        short = rtype[len("aws_") :]
        folder = {"resource": "resources", "data source": "data-sources", "ephemeral resource": "ephemeral-resources"}[
            kind
        ]
        rows.append({"label": labels[item], "kind": kind, "url": f"{_REGISTRY}/{folder}/{short}"})
    return rows


_ENV_OPTIONS: dict[str, Any] = {
    "undefined": jinja2.StrictUndefined,
    "keep_trailing_newline": True,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "autoescape": False,
}


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's own cache of compiled templates, in its private per-user temporary folder.

    Compiling the templates is a third of a small ``generate --check`` (what a pre-commit
    hook runs on every commit); loading their compiled code is almost free. Jinja keys each
    entry by the template's path and checks the source's SHA-1, its own version and
    Python's; the key here adds the environment's options, which change the compiled code
    without changing the source. A cache that cannot be read or written is skipped.
    Set ROTATION_TF_NO_TEMPLATE_CACHE=1 to turn it off.
    """

    _options = repr(sorted((k, getattr(v, "__name__", v)) for k, v in _ENV_OPTIONS.items()))

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return super().get_cache_key(f"{name}|{self._options}", filename)

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:  # pragma: no cover - unreadable cache: compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:  # pragma: no cover - read-only or full disk: just don't cache
            pass


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    if os.environ.get("ROTATION_TF_NO_TEMPLATE_CACHE"):
        return None
    try:
        return _BytecodeCache()
    except (OSError, RuntimeError):  # pragma: no cover - no safe temporary folder
        return None


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        bytecode_cache=_bytecode_cache(),
        **_ENV_OPTIONS,
    )
    env.filters.update(FILTERS)
    return env


def header(module: Module, comment: str = "#") -> str:
    """The first line of every generated file. The manifest's file name is the user's, and a
    file name may hold a line break (which would end the comment and start code) or, in the
    README's HTML comment, ``-->``: both are shown escaped instead."""
    name = markdown.one_line(module.manifest_name)
    if comment == "<!--":
        name = name.replace(">", "&gt;")
    return f"{comment} Code generated by {TOOL} {module.version} from {name}. {MARKER}."


def _function_ref(fn: FunctionPlan) -> hcl.Raw | str:
    if fn.existing:
        return fn.function_arn
    if fn.app:
        stack = f"aws_serverlessapplicationrepository_cloudformation_stack.{hcl.ident(fn.key)}"
        return hcl.Raw(f'{stack}.outputs["{rotation_apps.OUTPUT}"]')
    return hcl.Raw(f"aws_lambda_function.{hcl.ident(fn.key)}.arn")


def _zip_expr(fn: FunctionPlan, module: Module, module_dir: FsPath) -> str:
    assert fn.package is not None
    target = (module.manifest_dir / fn.package.filename).resolve()
    rel = os.path.relpath(target, module_dir.resolve()).replace(os.sep, "/")
    return hcl.template_path("${path.module}/", rel)


def _trust_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def _role_ref(fn: FunctionPlan) -> hcl.Raw | str:
    """The name of the role that gets a function's inline policy."""
    if fn.creates_role:
        return hcl.Raw(f"aws_iam_role.{hcl.ident(fn.key)}.name")
    if fn.role_name is not None:
        return fn.role_name
    # A role ARN may carry a path (arn:aws:iam::123456789012:role/some/path/name): the name
    # is its last segment.
    return hcl.Raw(f'reverse(split("/", data.aws_lambda_function.{hcl.ident(fn.key)}.role))[0]')


def _role_arn_ref(fn: FunctionPlan) -> hcl.Raw | str:
    if fn.creates_role:
        return hcl.Raw(f"aws_iam_role.{hcl.ident(fn.key)}.arn")
    return hcl.Raw(f"data.aws_lambda_function.{hcl.ident(fn.key)}.role")


def _role_check(fn: FunctionPlan, module: Module) -> str:
    """The postcondition's error message: a template that names the role the function really runs as."""
    before = f"Function {fn.function_name} runs as "
    after = (
        f", not as {fn.role_arn} (execution_role_arn of function {fn.key!r} in {module.manifest_name}): "
        "grants on that role would not reach the function. Set execution_role_arn to the role the "
        "function runs as, or give the function that role again, then regenerate."
    )
    return f'"{hcl.escape(before)}${{self.role}}{hcl.escape(after)}"'


def _secret_ref(s: SecretPlan) -> hcl.Raw | str:
    """What the module passes as a secret's ARN: the manifest's ARN, the created secret's,
    or the looked-up one."""
    if s.managed is not None:
        return hcl.Raw(f"aws_secretsmanager_secret.{s.ident}.arn")
    if s.arn is not None:
        return s.arn
    return hcl.Raw(f"data.aws_secretsmanager_secret.{s.ident}.arn")


README_MAX_RESOURCES = 20
"""Resources listed per statement in the module README; iam.tf always has them all."""

README_MAX_SECRETS = 200
"""Secrets listed in the module README's table; locals.tf and rotation.tf have them all."""


@dataclass(frozen=True)
class Context:
    """Everything the templates see, typed. The templates lay these values out; what to
    write, and how much of it, is decided here and in the model."""

    m: Module
    header: str
    md_header: str
    tags: dict[str, str]
    trust_policy: dict[str, Any]
    secret_refs: dict[str, hcl.Raw | str]
    secret_ident_rule: str
    function_refs: dict[str, hcl.Raw | str]
    role_refs: dict[str, hcl.Raw | str]  # the name of the role that gets each function's policy
    role_arn_refs: dict[str, hcl.Raw | str]
    role_checks: dict[str, str]  # postcondition messages for execution_role_arn
    zip_exprs: dict[str, str]
    functions_by_key: dict[str, FunctionPlan]
    deployer_policy: dict[str, Any] | None
    requirements: versions.Requirements
    deployer_requirements: versions.Requirements
    outputs: dict[str, str]
    resource_table: list[dict[str, str]]
    explain: dict[str, Any]
    statement_rows: dict[str, list[str]]  # module README: per function, one table row per statement
    external_statement_rows: list[str]  # module README: the external rotation role's statements
    secret_rows: list[str]  # module README: one table row per secret, at most README_MAX_SECRETS
    secrets_not_listed: int
    role_policy_limit: str  # IAM's limit on a role's inline policies, as the README writes it
    diagram: list[str]  # the module README's Mermaid diagram, line by line
    diagram_max: int
    aws_functions_text: str  # which version of AWS's rotation functions the grants come from
    who_rotates: str  # module README: which secrets the functions rotate, and which others do
    external_block: str  # the name of the external rotation role's blocks

    def variables(self) -> dict[str, Any]:
        """The context as Jinja's variables (shallow: the model objects stay themselves)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _statement_row(st: dict[str, Any]) -> str:
    """One module-README table row for one statement of :func:`explain.facts`."""
    actions = "<br>".join(f"`{a}`" for a in st["actions"])
    resources = "<br>".join(markdown.code(r, cell=True) for r in st["resources"])
    if st["resources_total"] > len(st["resources"]):
        resources += f"<br>…and {st['resources_total'] - len(st['resources'])} more (see `iam.tf`)"
    condition = "<br>".join(markdown.code(c, cell=True) for c in st["condition_text"]) or "-"
    why = markdown.text(st["reason"], cell=True) + (f" ([source]({st['source']}))" if st["source"] else "")
    if st["code"]:
        why += f"; calls of AWS's `{st['code']['function']}`: " + ", ".join(
            markdown.text(c, cell=True) for c in st["code"]["calls"]
        )
    return f"| {st['sid']} | {actions} | {resources} | {condition} | {why} |"


def _secret_row(s: SecretPlan) -> str:
    function = (
        markdown.code(s.function, cell=True)
        if s.function
        else f"external ({s.external.secret_type})"
        if s.external
        else "managed by its service"
    )
    schedule = (
        f"every {s.schedule.every_days} days"
        if s.schedule.every_days
        else markdown.code(s.schedule.expression, cell=True)
    )
    if not s.rotates:
        schedule = f"off until `password_in_database: true`; then {schedule}"
    return (
        f"| {markdown.code(s.name, cell=True)} | {function} | {schedule} | {s.schedule.window or 'default'} | "
        f"{'yes' if s.rotate_immediately else 'no'} |"
    )


def _outputs(module: Module) -> dict[str, str]:
    """Every output of the module and its description, in outputs.tf's order."""
    out = dict(OUTPUTS)
    if module.awaiting_password:
        out["passwords_to_set"] = PASSWORDS_TO_SET
    if module.awaiting_credentials:
        out["credentials_to_store"] = EXTERNAL_OUTPUTS["credentials_to_store"]
    if module.external_role is not None:
        out["external_rotation_role_arn"] = EXTERNAL_OUTPUTS["external_rotation_role_arn"]
    return out


def context(module: Module, module_dir: FsPath) -> Context:
    facts = explain.facts(module, max_resources=README_MAX_RESOURCES)
    return Context(
        m=module,
        header=header(module),
        md_header=header(module, "<!--") + " -->",
        tags=dict(module.tags),
        trust_policy=_trust_policy(),
        secret_refs={s.name: _secret_ref(s) for s in module.secrets},
        secret_ident_rule=naming.SECRET_IDENT_RULE,
        function_refs={f.key: _function_ref(f) for f in module.functions},
        role_refs={f.key: _role_ref(f) for f in module.functions if f.has_role},
        role_arn_refs={f.key: _role_arn_ref(f) for f in module.functions if f.has_role},
        role_checks={
            f.key: _role_check(f, module) for f in module.functions if f.has_role and not f.creates_role and f.role_arn
        },
        zip_exprs={f.key: _zip_expr(f, module, module_dir) for f in module.functions if f.package},
        functions_by_key={f.key: f for f in module.functions},
        deployer_policy=other_policies.deployer_policy(module),
        requirements=requirements(module),
        deployer_requirements=versions.deployer(),
        outputs=_outputs(module),
        external_block=EXTERNAL_BLOCK,
        resource_table=resource_table(module),
        explain=facts,
        statement_rows={role["function"]: [_statement_row(st) for st in role["statements"]] for role in facts["roles"]},
        external_statement_rows=[_statement_row(st) for st in facts["external_role"]["statements"]]
        if facts["external_role"]
        else [],
        secret_rows=[_secret_row(s) for s in module.secrets[:README_MAX_SECRETS]],
        secrets_not_listed=max(0, len(module.secrets) - README_MAX_SECRETS),
        role_policy_limit=f"{aws.ROLE_INLINE_POLICIES_MAX:,}",
        diagram=explain.diagram(module),
        diagram_max=explain.DIAGRAM_MAX_SECRETS,
        aws_functions_text=(
            f"AWS's rotation functions ([{aws_calls.SOURCE_REPOSITORY}]({aws_calls.SOURCE_URL}) at "
            f"commit `{aws_calls.SOURCE_COMMIT[:12]}`)"
        ),
        who_rotates=who_rotates(module),
    )


def who_rotates(module: Module) -> str:
    """One sentence: how many secrets the module's functions rotate, and the secrets that no
    function rotates (managed external secrets: Secrets Manager with the partner; managed:
    true: their own service), each counted once."""
    by_function = sum(len(f.secrets) for f in module.functions)
    parts = []
    if module.functions or by_function:
        parts.append(f"{len(module.functions)} rotation function(s) rotate {by_function} secret(s)")
    if module.externals:
        parts.append(f"Secrets Manager rotates {len(module.externals)} managed external secret(s) with their partners")
    if module.service_rotated:
        parts.append(f"{len(module.service_rotated)} secret(s) are rotated by their own service (managed rotation)")
    assert by_function + len(module.externals) + len(module.service_rotated) == len(module.secrets)
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


FILES = (
    "versions.tf",
    "locals.tf",
    "iam.tf",
    "lambda.tf",
    "secrets.tf",
    "rotation.tf",
    "moved.tf",
    "outputs.tf",
    "README.md",
)


def render(module: Module, module_dir: FsPath) -> dict[str, str]:
    """Every file of the module, keyed by its name inside the module folder."""
    env = environment()
    ctx = context(module, module_dir)
    variables = ctx.variables()
    files: dict[str, str] = {}
    for name in FILES:
        if (name == "moved.tf" and not module.moves) or (name == "secrets.tf" and not module.managed):
            continue
        text = env.get_template(f"{name}.j2").render(variables)
        if name.endswith(".tf"):
            text = hcl.align(text)
        text = text.rstrip("\n") + "\n"
        files[name] = text
    if ctx.deployer_policy is not None:
        files["deployer/main.tf"] = hcl.align(env.get_template("deployer.tf.j2").render(variables)).rstrip("\n") + "\n"
    key_statements = other_policies.key_policy_statements(module)
    if key_statements:
        doc = {
            "_comment": f"{header(module, '').strip()} Add each key's statements to that key's policy "
            "when the key policy does not delegate to IAM (principals must exist first)."
            + (
                " A principal in <...> is the role an existing function runs as, read at plan time: replace it "
                "with that value of `terraform output role_arns`, or set execution_role_arn in the manifest."
                if any(f.has_role and not f.role_arn for f in module.functions)
                else ""
            ),
            "keys": key_statements,
        }
        files["kms-key-policy-statements.json"] = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return files
