"""Stage 3: from a validated manifest to the model that templates render.

The model is sorted once, here, so that every later stage is deterministic whatever the
order of the manifest. Templates never see the raw manifest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path as FsPath

from generator import __version__, aws, checks, policies
from generator.errors import Diagnostic, Failed, Level
from generator.manifest import Manifest, validate_shape
from generator.naming import Names
from generator.source import Source


@dataclass(frozen=True)
class Schedule:
    every_days: int | None
    expression: str | None
    window: str | None


@dataclass(frozen=True)
class SecretPlan:
    name: str
    function: str
    arn: str | None  # the ARN given in the manifest; None means "look it up by name"
    policy_arn: str  # what IAM statements name: the ARN, or AWS's partial-ARN pattern
    kms_key_arn: str | None
    master_arn: str | None
    master_kms_key_arn: str | None
    schedule: Schedule
    rotate_immediately: bool


@dataclass(frozen=True)
class PackagePlan:
    filename: str  # relative to the manifest, with forward slashes
    handler: str
    runtime: str
    timeout: int
    memory_size: int
    tracing_mode: str
    reserved_concurrency: int | None
    code_signing_config_arn: str | None


@dataclass(frozen=True)
class FunctionPlan:
    key: str
    strategy: str
    engine: str
    function_name: str
    function_arn: str  # literal ARN (for packaged functions: the ARN it will have)
    existing: bool
    package: PackagePlan | None
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    role_name: str
    policy_name: str
    statement_id: str
    secrets: tuple[SecretPlan, ...]
    policy: policies.RolePolicy

    @property
    def in_vpc(self) -> bool:
        return bool(self.subnet_ids)


@dataclass(frozen=True)
class Module:
    name: str
    manifest_name: str
    manifest_dir: FsPath
    digest: str
    version: str
    account_id: str
    region: str
    partition: str
    name_prefix: str
    tags: tuple[tuple[str, str], ...]
    functions: tuple[FunctionPlan, ...]
    secrets: tuple[SecretPlan, ...]

    @property
    def lookups(self) -> tuple[SecretPlan, ...]:
        """Secrets without an ARN: the module looks their ARN up by name."""
        return tuple(s for s in self.secrets if s.arn is None)

    @property
    def switched(self) -> tuple[FunctionPlan, ...]:
        return tuple(f for f in self.functions if f.policy.form == policies.COMPACT)


def _digest(manifest: Manifest) -> str:
    canonical = json.dumps(manifest.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def default_module_name(manifest_path: FsPath) -> str:
    return manifest_path.stem


def build(manifest: Manifest, source: Source, module_name: str) -> tuple[Module, list[Diagnostic]]:
    partition = aws.partition_of(manifest.region)
    ctx = policies.Context(partition, manifest.region, manifest.account_id)
    notes: list[Diagnostic] = []
    secrets: list[SecretPlan] = []
    for name in sorted(manifest.secrets):
        s = manifest.secrets[name]
        secrets.append(
            SecretPlan(
                name=name,
                function=s.function,
                arn=s.arn,
                policy_arn=s.arn or aws.secret_pattern(partition, manifest.region, manifest.account_id, name),
                kms_key_arn=s.kms_key_arn,
                master_arn=s.master_secret.arn if s.master_secret else None,
                master_kms_key_arn=s.master_secret.kms_key_arn if s.master_secret else None,
                schedule=Schedule(s.schedule.every_days, s.schedule.expression, s.schedule.window),
                rotate_immediately=s.rotate_immediately,
            )
        )
    functions: list[FunctionPlan] = []
    for key in sorted(manifest.functions):
        f = manifest.functions[key]
        names = Names(manifest.name_prefix, key)
        mine = tuple(s for s in secrets if s.function == key)
        if f.existing_function_arn:
            arn = f.existing_function_arn
            function_name = arn.rsplit(":", 1)[1]
        else:
            function_name = names.function
            arn = aws.function_arn(partition, manifest.region, manifest.account_id, function_name)
        grants = tuple(
            policies.SecretGrant(s.policy_arn, s.kms_key_arn, s.master_arn, s.master_kms_key_arn) for s in mine
        )
        policy = policies.choose(
            grants, ctx=ctx, function_name=function_name, function_arn=arn, in_vpc=f.vpc is not None,
            traced=f.package is not None and f.package.tracing_mode == "Active",
        )
        path = ("functions", key)
        if policy.size > aws.ROLE_INLINE_POLICIES_MAX:
            notes.append(
                source.diag(
                    path,
                    f"the role policy needs {policy.size:,} characters even in compact form; "
                    f"IAM allows {aws.ROLE_INLINE_POLICIES_MAX:,}. Split the secrets over more functions",
                )
            )
        elif policy.form == policies.COMPACT:
            notes.append(
                source.diag(
                    path,
                    f"{len(mine)} secrets would need more than IAM's {aws.ROLE_INLINE_POLICIES_MAX:,} characters "
                    "of inline policy; the role grants the account's secrets whose rotation function is this "
                    f"function instead (compact form, {policy.size:,} characters)",
                    level=Level.WARNING,
                )
            )
        pkg = None
        if f.package:
            pkg = PackagePlan(
                f.package.filename.replace("\\", "/"),
                f.package.handler,
                f.package.runtime,
                f.package.timeout,
                f.package.memory_size,
                f.package.tracing_mode,
                f.package.reserved_concurrency,
                f.package.code_signing_config_arn,
            )
        functions.append(
            FunctionPlan(
                key=key,
                strategy=f.strategy,
                engine=f.engine,
                function_name=function_name,
                function_arn=arn,
                existing=f.existing_function_arn is not None,
                package=pkg,
                subnet_ids=tuple(sorted(set(f.vpc.subnet_ids))) if f.vpc else (),
                security_group_ids=tuple(sorted(set(f.vpc.security_group_ids))) if f.vpc else (),
                role_name=names.role,
                policy_name=names.policy,
                statement_id=names.statement_id,
                secrets=mine,
                policy=policy,
            )
        )
    module = Module(
        name=manifest.module or module_name,
        manifest_name=source.display_name.replace("\\", "/").rsplit("/", 1)[-1],
        manifest_dir=source.base_dir,
        digest=_digest(manifest),
        version=__version__,
        account_id=manifest.account_id,
        region=manifest.region,
        partition=partition,
        name_prefix=manifest.name_prefix,
        tags=tuple(sorted(manifest.tags.items())),
        functions=tuple(functions),
        secrets=tuple(secrets),
    )
    return module, notes


def load(path: FsPath, display_name: str | None = None) -> tuple[Module, list[Diagnostic]]:
    """Read, validate and model a manifest. Raises :class:`Failed` with every error found."""
    from generator import source as source_mod

    src = source_mod.load(path, display_name)
    manifest, parts, diags = validate_shape(src)
    if manifest is not None:
        diags = checks.run(src, manifest, dict(manifest.functions), dict(manifest.secrets))
    else:
        diags = diags + checks.run(src, parts["head"], parts["functions"], parts["secrets"])
    errors = [d for d in diags if d.level is Level.ERROR]
    if errors or manifest is None:
        raise Failed(sorted(errors, key=_order))
    import re

    module_name = manifest.module or default_module_name(path)
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", module_name):
        raise Failed(
            [
                src.diag(
                    ("module",),
                    f"the file name gives the module name {module_name!r}, which is not a safe folder name; "
                    "set `module:` to 1-64 letters, digits, '-' or '_'",
                )
            ]
        )
    module, notes = build(manifest, src, module_name)
    diags = diags + notes
    errors = [d for d in diags if d.level is Level.ERROR]
    if errors:
        raise Failed(sorted(errors, key=_order))
    return module, sorted(diags, key=_order)


def _order(d: Diagnostic) -> tuple[int, int, str, str]:
    return (d.line or 0, d.column or 0, str(d.path), d.message)
