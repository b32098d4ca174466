"""Stage 3: from a validated manifest to the model that templates render.

The model is sorted once, here, so that every later stage is deterministic whatever the
order of the manifest. Templates never see the raw manifest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from pathlib import Path as FsPath

from generator import __version__, aws, aws_calls, engines, partners, policies, rotation_apps
from generator.errors import Diagnostic, Level
from generator.manifest import Function, Manifest, Secret
from generator.naming import Names, region_tag, secret_ident
from generator.source import Source


@dataclass(frozen=True)
class Schedule:
    every_days: int | None
    expression: str | None
    window: str | None


@dataclass(frozen=True)
class ManagedSecret:
    """A secret the module creates, with a first version that rotation then takes over."""

    description: str | None
    recovery_window_days: int
    replicas: tuple[tuple[str, str | None], ...]  # (region, kms key ARN)
    fields: tuple[tuple[str, object], ...]  # the first version's JSON fields, password excepted
    tags: tuple[tuple[str, str], ...] = ()  # its own tags, merged over the module's when rendered
    # The first password (GetRandomPassword, secrets.tf): 32 characters, none of / @ " ' \
    # (they break connection strings and shell quoting).
    password_length: int = 32
    password_excluded: str = "/@\"'\\"

    @property
    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)

    @property
    def field_map(self) -> dict[str, object]:
        return dict(self.fields)

    @property
    def replica_list(self) -> list[dict[str, str | None]]:
        return [{"region": r, "kms_key_id": k} for r, k in self.replicas]


@dataclass(frozen=True)
class ExternalPlan:
    """A managed external secret: Secrets Manager rotates it with its partner, as the module's
    external rotation role (generator/partners.py)."""

    secret_type: str
    partner: str
    page: str
    metadata: tuple[tuple[str, str], ...]  # sorted by key
    admin_arn: str | None  # what metadata adminSecretArn names
    admin_kms_key_arn: str | None

    @property
    def metadata_map(self) -> dict[str, str]:
        return dict(self.metadata)


@dataclass(frozen=True)
class ExternalRole:
    """The one role the module creates for all its managed external secrets."""

    role_name: str
    role_arn: str
    policy_name: str
    description: str
    trust: dict[str, object]
    trust_wide: bool  # the trust names the account's secrets: the exact list would not fit IAM's limit
    policy: policies.RolePolicy


@dataclass(frozen=True)
class SecretPlan:
    name: str
    function: str | None  # None: rotated by the service that owns the secret (service_rotated)
    arn: str | None  # the ARN given in the manifest; None means "look it up by name"
    policy_arn: str  # what IAM statements name: the ARN, or AWS's partial-ARN pattern
    kms_key_arn: str | None
    master_arn: str | None
    master_kms_key_arn: str | None
    schedule: Schedule
    rotate_immediately: bool
    managed: ManagedSecret | None = None
    adopt: bool = False  # import: true
    service_rotated: bool = False  # managed: true -- the owning service rotates it; schedule only
    rotates: bool = True  # False: created for a single_user function, password not yet in the database
    external: ExternalPlan | None = None  # a managed external secret
    master_kind: str | None = None  # aws_calls.PLAIN / RDS_MANAGED_DB / ... (None: no master secret)
    replica: tuple[str, str] | None = None  # replica_of_master: (aws_calls.REPLICA_INSTANCE or _CLUSTER, identifier)

    @property
    def grant(self) -> policies.SecretGrant:
        """What the secret contributes to its function's role, as the manifest says."""
        return policies.SecretGrant(
            self.policy_arn, self.kms_key_arn, self.master_arn, self.master_kms_key_arn, self.master_kind, self.replica
        )

    @cached_property
    def ident(self) -> str:
        """The Terraform name of this secret's blocks (naming.secret_ident); cached, as the
        templates read it several times per secret."""
        return secret_ident(self.name)


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
    environment: tuple[tuple[str, str], ...] = ()  # the function's environment variables, sorted

    @property
    def environment_map(self) -> dict[str, str]:
        return dict(self.environment)


@dataclass(frozen=True)
class AppPlan:
    """AWS's published rotation application, deployed as a CloudFormation stack."""

    stack_name: str
    application_id: str
    semantic_version: str
    capabilities: tuple[str, ...]
    parameters: tuple[tuple[str, str], ...]

    @property
    def parameter_map(self) -> dict[str, str]:
        return dict(self.parameters)


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
    role_name: str | None  # None: an existing function's role, read from the function at plan time
    policy_name: str
    statement_id: str
    secrets: tuple[SecretPlan, ...]
    policy: policies.RolePolicy | None  # None: the rotation application brings its own role
    role_description: str
    function_description: str
    permission_size: int  # bytes of the Lambda resource policy this module creates
    role_arn: str | None = None  # None: no role (rotation_app), or read at plan time
    app: AppPlan | None = None
    lock_secret: str | None = None  # lock_to_secret: the one secret the permission is tied to
    previous_names: tuple[str, ...] = ()
    adopt: bool = False  # import: true
    tags: tuple[tuple[str, str], ...] = ()  # its own tags, merged over the module's when rendered

    @property
    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)

    @property
    def in_vpc(self) -> bool:
        return bool(self.subnet_ids)

    @property
    def has_role(self) -> bool:
        """The module puts this function's grants on a role (every source but rotation_app)."""
        return self.app is None

    @property
    def creates_role(self) -> bool:
        """The module creates the role (package). An existing function keeps the role it runs
        as: the module adds its inline policy there and manages nothing else of that role."""
        return self.package is not None

    @property
    def role_text(self) -> str:
        """The role in words, for explain, the module README and error messages."""
        if self.role_name is not None:
            return self.role_name
        return f"the role {self.function_name} runs as (read at plan time)"

    @property
    def source(self) -> str:
        return "existing" if self.existing else "rotation_app" if self.app else "package"


@dataclass(frozen=True)
class RoleSettings:
    path: str
    permissions_boundary: str | None
    max_session_duration: int
    exclusive_policies: bool
    region_tag: str = ""  # naming.region_tag: the end of every IAM name the module creates


@dataclass(frozen=True)
class Module:
    name: str
    source: Source = field(compare=False, repr=False)  # the manifest as loaded: text, positions, folder
    digest: str
    version: str
    account_id: str
    region: str
    partition: str
    name_prefix: str
    tags: tuple[tuple[str, str], ...]
    functions: tuple[FunctionPlan, ...]
    secrets: tuple[SecretPlan, ...]
    roles: RoleSettings = RoleSettings("/", None, 3600, True)
    external_role: ExternalRole | None = None

    @property
    def manifest_name(self) -> str:
        """The manifest's file name, as the generated files' headers name it."""
        return self.source.file_name

    @property
    def manifest_dir(self) -> FsPath:
        """Where the manifest's relative paths (a package's zip) start."""
        return self.source.base_dir

    @property
    def externals(self) -> tuple[SecretPlan, ...]:
        """Managed external secrets: Secrets Manager rotates them as external_role."""
        return tuple(s for s in self.secrets if s.external is not None)

    @property
    def valued(self) -> tuple[SecretPlan, ...]:
        """Created secrets with a first version (the module writes a generated password)."""
        return tuple(s for s in self.secrets if s.managed is not None and s.external is None)

    def resource_types(self, fn: FunctionPlan) -> tuple[str, ...]:
        """The resource types the module declares for ``fn``, each block named after the
        function's key. The one list behind lambda.tf and iam.tf's blocks as the README's
        resource table lists them, the moved blocks of a rename and the import blocks."""
        types: list[str] = []
        if fn.creates_role:
            types.append("aws_iam_role")
        if fn.has_role:  # an existing function: only the policy on the role it runs as
            types.append("aws_iam_role_policy")
        if fn.app:
            types.append("aws_serverlessapplicationrepository_cloudformation_stack")
        types.append("aws_lambda_permission")
        if fn.creates_role and self.roles.exclusive_policies:
            types.append("aws_iam_role_policies_exclusive")
        if fn.package:
            types.append("aws_lambda_function")
        return tuple(types)

    @property
    def moves(self) -> tuple[tuple[str, str, str], ...]:
        """(kind, from, to) for every function rename, oldest name first, as a chain.
        Secrets have none: Secrets Manager cannot rename a secret (generator/rules refuses
        previous_names on secrets), so a new name is a new secret and a new rotation."""
        out: list[tuple[str, str, str]] = []
        for f in self.functions:
            out.extend(("function", a, b) for a, b in pairwise([*f.previous_names, f.key]))
        return tuple(out)

    @property
    def lookups(self) -> tuple[SecretPlan, ...]:
        """Secrets without an ARN that the module does not create: it looks them up by name."""
        return tuple(s for s in self.secrets if s.arn is None and s.managed is None)

    @property
    def service_rotated(self) -> tuple[SecretPlan, ...]:
        """Secrets whose own service rotates them (managed: true): a schedule, no function."""
        return tuple(s for s in self.secrets if s.service_rotated)

    @property
    def managed(self) -> tuple[SecretPlan, ...]:
        return tuple(s for s in self.secrets if s.managed is not None)

    @property
    def rotated(self) -> tuple[SecretPlan, ...]:
        """Secrets whose rotation the module turns on."""
        return tuple(s for s in self.secrets if s.rotates)

    @property
    def awaiting_password(self) -> tuple[SecretPlan, ...]:
        """Created secrets without rotation until their password is set in the database."""
        return tuple(s for s in self.secrets if not s.rotates and s.external is None)

    @property
    def awaiting_credentials(self) -> tuple[SecretPlan, ...]:
        """Created external secrets without rotation until the partner's fields are put in them."""
        return tuple(s for s in self.secrets if not s.rotates and s.external is not None)

    @property
    def deployer_policy_name(self) -> str:
        """Default name of the deployer's managed policy (deployer.tf); global like a role's."""
        tag = f"-{self.roles.region_tag}" if self.roles.region_tag else ""
        return f"{self.name_prefix}{self.name}-rotation-deployer{tag}"

    @property
    def global_names(self) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
        """(kind, name, manifest field) of every IAM name this module creates: IAM names are
        unique per account across all regions, so no two modules for one account may share one."""
        # An existing function's role is not the module's: only the roles it creates count.
        out = [
            ("IAM role", f.role_name, ("functions", f.key)) for f in self.functions if f.creates_role and f.role_name
        ]
        if self.external_role is not None:
            out.append(("IAM role", self.external_role.role_name, ("secrets", self.externals[0].name)))
        if self.roles.permissions_boundary is not None:  # the deployer module is generated
            out.append(("IAM managed policy", self.deployer_policy_name, ("roles", "permissions_boundary")))
        return tuple(out)

    @property
    def policy_context(self) -> policies.Context:
        return policies.Context(self.partition, self.region, self.account_id)

    def requests(
        self, fn: FunctionPlan, grant: policies.SecretGrant, function_arn: str | None = None
    ) -> tuple[policies.Request, ...]:
        """Every request ``fn``'s rotation makes for a secret (policies.secret_requests): with
        ``s.grant``, as the manifest says; doctor passes a grant of what the account holds."""
        return policies.secret_requests(
            grant,
            ctx=self.policy_context,
            engine=fn.engine,
            strategy=fn.strategy,
            function_arn=function_arn or fn.function_arn,
        )

    @property
    def switched(self) -> tuple[FunctionPlan, ...]:
        return tuple(f for f in self.functions if f.policy is not None and f.policy.form == policies.COMPACT)


def _managed(s: Secret, manifest: Manifest) -> ManagedSecret:
    if s.external is not None:  # the partner's fields are the user's to put in: no first version
        return ManagedSecret(
            description=s.description,
            recovery_window_days=s.recovery_window_days,
            replicas=tuple(sorted((r.region, r.kms_key_arn) for r in s.replicas)),
            fields=(),
            tags=tuple(sorted(s.tags.items())),
        )
    assert s.connection is not None and s.function is not None  # rules: create needs both
    fn = manifest.functions[s.function]
    fields: dict[str, object] = {"engine": engines.secret_engine(fn.engine), "host": s.connection.host}
    if s.connection.port is not None:
        fields["port"] = s.connection.port
    fields["username"] = s.connection.username
    if s.connection.dbname is not None:
        fields["dbname"] = s.connection.dbname
    if s.master_secret is not None:
        fields["masterarn"] = s.master_secret.arn
    return ManagedSecret(
        description=s.description,
        recovery_window_days=s.recovery_window_days,
        replicas=tuple(sorted((r.region, r.kms_key_arn) for r in s.replicas)),
        fields=tuple(fields.items()),
        tags=tuple(sorted(s.tags.items())),
    )


def _master_arn(s: Secret, partition: str, manifest: Manifest) -> str | None:
    """The master secret's ARN as IAM statements name it: the ARN given, or for a name AWS's
    partial-ARN pattern (the same form as a rotated secret known by name)."""
    if s.master_secret is None:
        return None
    if s.master_secret.arn is not None:
        return s.master_secret.arn
    assert s.master_secret.name is not None
    return aws.secret_pattern(partition, manifest.region, manifest.account_id, s.master_secret.name)


def _master_kind(s: Secret, partition: str, manifest: Manifest) -> str | None:
    """The kind of the master secret (aws_calls.master_kind): from its name, and for a
    Redshift-managed one from ``managed_by``."""
    arn = _master_arn(s, partition, manifest)
    if arn is None or s.master_secret is None:
        return None
    return aws_calls.master_kind(aws.secret_name(arn), s.master_secret.managed_by)


def _replica(s: Secret) -> tuple[str, str] | None:
    r = s.replica_of_master
    if r is None:
        return None
    if r.db_instance is not None:
        return (aws_calls.REPLICA_INSTANCE, r.db_instance)
    assert r.db_cluster is not None  # rules.secrets: exactly one
    return (aws_calls.REPLICA_CLUSTER, r.db_cluster)


def _app_plan(f: Function, names: Names, mine: tuple[SecretPlan, ...], manifest: Manifest, partition: str) -> AppPlan:
    assert f.rotation_app is not None
    app = f.rotation_app
    params: dict[str, str] = {
        "endpoint": app.endpoint or aws.secretsmanager_endpoint(partition, manifest.region),
        "functionName": names.function,
    }
    if f.vpc is not None:
        params["vpcSubnetIds"] = ",".join(sorted(set(f.vpc.subnet_ids)))
        params["vpcSecurityGroupIds"] = ",".join(sorted(set(f.vpc.security_group_ids)))
    keys = sorted({s.kms_key_arn for s in mine if s.kms_key_arn})
    masters = sorted({s.master_arn for s in mine if s.master_arn})
    master_keys = sorted({s.master_kms_key_arn for s in mine if s.master_kms_key_arn})
    if keys:
        params["kmsKeyArn"] = keys[0]
    if masters:
        params["masterSecretArn"] = masters[0]
    if master_keys:
        params["masterSecretKmsKeyArn"] = master_keys[0]
    if app.exclude_characters is not None:
        params["excludeCharacters"] = app.exclude_characters
    return AppPlan(
        stack_name=f"{names.function}-rotation-app",
        application_id=rotation_apps.application_id(f.engine, f.strategy, partition),
        semantic_version=app.semantic_version or rotation_apps.pinned_version(f.engine, f.strategy, partition),
        capabilities=rotation_apps.CAPABILITIES,
        parameters=tuple(sorted(params.items())),
    )


def _environment(f: Function, partition: str, region: str) -> tuple[tuple[str, str], ...]:
    """A packaged function's environment: the regional endpoint AWS's functions require, and
    the password options and user name limit the manifest sets (aws_calls.PASSWORD_OPTIONS),
    as the text the function parses (booleans 'true'/'false')."""
    assert f.package is not None
    env = {"SECRETS_MANAGER_ENDPOINT": aws.secretsmanager_endpoint(partition, region)}
    password = f.package.password
    if password is not None:
        for name, value in password.model_dump().items():
            if value is not None:
                env[name.upper() if name != "length" else "PASSWORD_LENGTH"] = (
                    str(value).lower() if isinstance(value, bool) else str(value)
                )
    if f.package.username_character_limit is not None:
        env["USERNAME_CHARACTER_LIMIT"] = str(f.package.username_character_limit)
    assert set(env) <= {"SECRETS_MANAGER_ENDPOINT", "USERNAME_CHARACTER_LIMIT", *aws_calls.PASSWORD_OPTIONS}
    return tuple(sorted(env.items()))


def _external(s: Secret) -> ExternalPlan | None:
    if s.external is None:
        return None
    p = partners.partner(s.external.type)
    return ExternalPlan(
        secret_type=s.external.type,
        partner=p.partner,
        page=p.page,
        metadata=tuple(sorted(s.external.metadata.items())),
        admin_arn=s.external.metadata.get(partners.ADMIN_SECRET_KEY),
        admin_kms_key_arn=s.external.admin_kms_key_arn,
    )


def _external_role(
    manifest: Manifest, module_name: str, mine: list[SecretPlan], ctx: policies.Context, source: Source
) -> tuple[ExternalRole | None, list[Diagnostic]]:
    """One role for every managed external secret of the manifest (docs/rotation-surface.md
    says why one, not one per partner)."""
    if not mine:
        return None, []
    grants = tuple(
        policies.ExternalGrant(
            s.policy_arn, s.external.secret_type, s.kms_key_arn, s.external.admin_arn, s.external.admin_kms_key_arn
        )
        for s in mine
        if s.external is not None
    )
    tag = region_tag(manifest.region, manifest.roles.region_in_names)
    name = f"{manifest.name_prefix}{module_name}-external-rotation" + (f"-{tag}" if tag else "")
    notes: list[Diagnostic] = []
    path = ("secrets", mine[0].name, "external")
    if len(name) > aws.ROLE_NAME_MAX:
        notes.append(
            source.diag(
                path,
                f"the external rotation role's name {name!r} is {len(name)} characters; IAM allows "
                f"{aws.ROLE_NAME_MAX}: shorten name_prefix or the module name",
            )
        )
    trust = policies.external_trust(grants, ctx)
    wide = policies.policy_size(trust) > aws.TRUST_POLICY_MAX
    if wide:
        trust = policies.external_trust(grants, ctx, wide=True)
        notes.append(
            source.diag(
                path,
                f"listing the {len(grants)} external secrets in the role's trust policy (aws:SourceArn) would "
                f"exceed IAM's {aws.TRUST_POLICY_MAX:,} characters; the trust names the account's secrets in "
                "the region instead (AWS's example form); the inline policy still names each secret",
                level=Level.WARNING,
            )
        )
    policy = policies.external_policy(grants, ctx)
    if policy.size > aws.ROLE_INLINE_POLICIES_MAX:
        notes.append(
            source.diag(
                path,
                f"the external rotation role's policy needs {policy.size:,} characters; IAM allows "
                f"{aws.ROLE_INLINE_POLICIES_MAX:,}: split the external secrets over more manifests",
            )
        )
    role = ExternalRole(
        role_name=name,
        role_arn=f"arn:{ctx.partition}:iam::{manifest.account_id}:role{manifest.roles.path}{name}",
        policy_name=f"{manifest.name_prefix}{module_name}-external-rotation",
        description="Secrets Manager assumes this role to rotate the managed external secrets of "
        f"{module_name} with their partners",
        trust=trust,
        trust_wide=wide,
        policy=policy,
    )
    return role, notes


def _digest(manifest: Manifest) -> str:
    data = manifest.model_dump(mode="json")
    for secret in data["secrets"].values():
        for later in ("external", "replica_of_master"):  # added later: a manifest without them keeps its digest
            if secret.get(later) is None:
                secret.pop(later, None)
        if isinstance(secret.get("master_secret"), dict) and secret["master_secret"].get("managed_by") is None:
            secret["master_secret"].pop("managed_by", None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
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
                master_arn=_master_arn(s, partition, manifest),
                master_kms_key_arn=s.master_secret.kms_key_arn if s.master_secret else None,
                schedule=Schedule(s.schedule.every_days, s.schedule.expression, s.schedule.window),
                # An external secret rotates when rotation is turned on (rules/external.py)
                rotate_immediately=s.rotate_immediately or s.external is not None,
                managed=_managed(s, manifest) if s.create else None,
                adopt=s.import_,
                service_rotated=s.managed,
                rotates=s.password_in_database is not False
                and not (s.external is not None and s.external.credentials_stored is False),
                external=_external(s),
                master_kind=_master_kind(s, partition, manifest),
                replica=_replica(s),
            )
        )
    by_function: dict[str, list[SecretPlan]] = {}
    for plan in secrets:  # one pass, in name order: each function's secrets stay sorted
        if plan.function is not None:
            by_function.setdefault(plan.function, []).append(plan)
    functions: list[FunctionPlan] = []
    for key in sorted(manifest.functions):
        f = manifest.functions[key]
        # After a rename, AWS names keep deriving from the oldest key: nothing is replaced.
        names = Names(
            manifest.name_prefix,
            f.previous_names[0] if f.previous_names else key,
            region_tag(manifest.region, manifest.roles.region_in_names),
        )
        mine = tuple(by_function.get(key, ()))
        if f.existing_function_arn:
            arn = f.existing_function_arn
            function_name = arn.rsplit(":", 1)[1]
        else:
            function_name = names.function
            arn = aws.function_arn(partition, manifest.region, manifest.account_id, function_name)
        grants = tuple(s.grant for s in mine)
        policy: policies.RolePolicy | None = None
        app = None
        if f.rotation_app is not None:
            app = _app_plan(f, names, mine, manifest, partition)
        else:
            policy = policies.choose(
                grants,
                ctx=ctx,
                function_name=function_name,
                function_arn=arn,
                in_vpc=f.vpc is not None,
                subnet_ids=tuple(f.vpc.subnet_ids) if f.vpc else (),
                security_group_ids=tuple(f.vpc.security_group_ids) if f.vpc else (),
                traced=f.package is not None and f.package.tracing_mode == "Active",
                engine=f.engine,
                strategy=f.strategy,
            )
        path = ("functions", key)
        permission_size = policies.permission_size(
            function_arn=arn, account=manifest.account_id, statement_id=names.statement_id
        )
        if permission_size > aws.LAMBDA_RESOURCE_POLICY_MAX:  # pragma: no cover - one statement is ~400 bytes
            notes.append(
                source.diag(
                    path,
                    f"the Lambda resource policy needs {permission_size:,} bytes; Lambda allows {aws.LAMBDA_RESOURCE_POLICY_MAX:,}",
                )
            )
        if policy is None:
            pass
        elif policy.size > aws.ROLE_INLINE_POLICIES_MAX:
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
                    f"listing its {len(mine)} secrets would take {policy.explicit_size:,} characters of inline "
                    f"policy, over IAM's {aws.ROLE_INLINE_POLICIES_MAX:,} per role; switched to the compact form "
                    f"({policy.size:,} characters), which grants the account's secrets whose rotation function "
                    "is this function (secretsmanager:resource/AllowRotationLambdaArn)",
                    level=Level.WARNING,
                )
            )
        role_name: str | None = None
        role_arn: str | None = None
        if f.package is not None:
            role_name = names.role
            role_arn = f"arn:{partition}:iam::{manifest.account_id}:role{manifest.roles.path}{names.role}"
        elif f.execution_role_arn is not None:
            role_arn = f.execution_role_arn
            role_name = aws.role_name_of(role_arn)
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
                _environment(f, partition, manifest.region),
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
                role_name=role_name,
                policy_name=names.policy if f.existing_function_arn is None else names.policy_on_existing_role,
                statement_id=names.statement_id,
                secrets=mine,
                policy=policy,
                role_arn=role_arn,
                app=app,
                lock_secret=mine[0].name if f.lock_to_secret and len(mine) == 1 else None,
                previous_names=tuple(f.previous_names),
                adopt=f.import_,
                tags=tuple(sorted(f.tags.items())),
                permission_size=permission_size,
                role_description=(
                    f.description
                    if f.description is not None
                    else f"Execution role of the Secrets Manager rotation function {function_name}"
                ),
                function_description=(
                    f.description
                    if f.description is not None
                    else f"Rotates Secrets Manager secrets ({f.engine}, {f.strategy})"
                ),
            )
        )
    external_role, external_notes = _external_role(
        manifest, manifest.module or module_name, [s for s in secrets if s.external is not None], ctx, source
    )
    notes += external_notes
    module = Module(
        name=manifest.module or module_name,
        source=source,
        digest=_digest(manifest),
        version=__version__,
        account_id=manifest.account_id,
        region=manifest.region,
        partition=partition,
        name_prefix=manifest.name_prefix,
        tags=tuple(sorted(manifest.tags.items())),
        functions=tuple(functions),
        secrets=tuple(secrets),
        roles=RoleSettings(
            manifest.roles.path,
            manifest.roles.permissions_boundary,
            manifest.roles.max_session_duration,
            manifest.roles.exclusive_policies,
            region_tag(manifest.region, manifest.roles.region_in_names),
        ),
        external_role=external_role,
    )
    return module, notes
