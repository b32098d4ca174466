"""Which statements each rotation role gets, as plain data.

Everything here is decided in Python so that tests can inspect it; the templates only lay
the result out as HCL. The statements that AWS's rotation function needs come from the
table of its calls (:mod:`generator.aws_calls`, read from AWS's code), which agrees with
AWS's "Permissions for rotation" text where that text speaks, and wins where it is silent:

* the four rotation actions on exactly the secrets that use the function;
* ``GetSecretValue`` (read only) on master secrets, for the functions that read ``masterarn``
  (alternating users, and Db2 single user);
* for an RDS-managed master secret (``rds!db-...`` / ``rds!cluster-...``), ``DescribeSecret``
  on it and ``rds:DescribeDBInstances`` / ``rds:DescribeDBClusters`` on the account's DB
  instances / clusters in the region (the manifest does not name the database);
* ``GetRandomPassword`` on ``*`` (the action has no resource type);
* ``kms:Decrypt``/``kms:GenerateDataKey`` on customer managed keys (the seed's actions),
  conditioned on ``kms:EncryptionContext:SecretARN`` as AWS's current guidance shows;
  master-secret keys get no ``GenerateDataKey`` because the role must not write them;
* when the function runs in a VPC, what Lambda's VPC guide and the current
  AWSLambdaVPCAccessExecutionRole (v3) grant, scoped as tightly as IAM allows (resource
  types from the Service Authorization Reference for Amazon EC2):
  ``CreateNetworkInterface`` on the function's own subnets and security groups and on new
  network interfaces of the account and region; ``DeleteNetworkInterface``,
  ``AssignPrivateIpAddresses`` and ``UnassignPrivateIpAddresses`` on every network
  interface of the account and region (the guide warns that a narrower
  ``DeleteNetworkInterface`` resource can cut the function off from the VPC, and the
  interfaces' IDs are not known in advance); the seed's ``DetachNetworkInterface`` on
  network interfaces and instances of the account and region; ``DescribeNetworkInterfaces``
  and ``DescribeSubnets`` on ``*`` (no resource-level permissions);
* CloudWatch Logs for the function's own log group.

When listing every secret would overflow IAM's limit for a role's (aws.ROLE_INLINE_POLICIES_MAX)
inline policies, the function switches to the *compact* form used by AWS's published
rotation templates: the account-and-region secret wildcard, conditioned on
``secretsmanager:resource/AllowRotationLambdaArn`` equal to the function's ARN.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from generator import aws, aws_calls

# What every AWS function does to the secret it rotates (the same four for all of them:
# tests/rotation/test_aws_calls.py); a function's statement takes its own from the table.
ROTATION_ACTIONS = aws_calls.actions(aws_calls.ROTATE, engine="other", strategy="single_user")
# Network interfaces of a function in a VPC. Sources: the seed's four actions; Lambda's
# guide (LAMBDA_VPC_GUIDE) adds Assign/UnassignPrivateIpAddresses; the managed policy
# AWSLambdaVPCAccessExecutionRole v3 (VPC_MANAGED_POLICY) adds DescribeSubnets.
LAMBDA_VPC_GUIDE = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html"
VPC_MANAGED_POLICY = (
    "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html"
)
ENI_CREATE_ACTIONS = ("ec2:CreateNetworkInterface",)  # network-interface*, subnet*, security-group
ENI_MANAGE_ACTIONS = (  # network-interface* only; IDs unknown in advance
    "ec2:AssignPrivateIpAddresses",
    "ec2:DeleteNetworkInterface",
    "ec2:UnassignPrivateIpAddresses",
)
ENI_DETACH_ACTIONS = ("ec2:DetachNetworkInterface",)  # the seed's; instance* and network-interface*
ENI_DESCRIBE_ACTIONS = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")  # no resource-level permissions
ENI_SCOPED_ACTIONS = ENI_CREATE_ACTIONS + ENI_MANAGE_ACTIONS + ENI_DETACH_ACTIONS
ENI_ACTIONS = tuple(sorted(ENI_SCOPED_ACTIONS + ENI_DESCRIBE_ACTIONS))
# The seed's KMS actions. kms:DescribeKey is not granted: it carries no encryption
# context, so under the kms:EncryptionContext:SecretARN condition it could never match.
KMS_SECRET_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
KMS_MASTER_ACTIONS = ("kms:Decrypt",)
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
XRAY_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")  # no resource-level permissions

EXPLICIT = "explicit"
COMPACT = "compact"


@dataclass(frozen=True)
class Statement:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    reason: str
    condition: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = ""  # the AWS page the statement follows, where it is not the seed
    code: tuple[str, ...] = ()  # the AWS function and the calls behind it (aws_calls.citation)

    def document(self) -> dict[str, Any]:
        """The statement as IAM JSON (keys in a fixed order)."""
        out: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": "Allow",
            "Action": list(self.actions),
            "Resource": list(self.resources) if len(self.resources) != 1 else self.resources[0],
        }
        if self.condition:
            out["Condition"] = self.condition
        return out


@dataclass(frozen=True)
class SecretGrant:
    """What one secret contributes to its function's role: the secret, its master secret and
    their keys, and its path (the kinds of master and of replica host). The module builds it
    from the manifest; ``doctor`` from what the account holds (the real ARNs and keys, and in
    ``master_resource`` the database the master's tag names)."""

    arn: str  # full ARN, or AWS's partial-ARN pattern when only the name is known
    kms_key_arn: str | None
    master_arn: str | None
    master_kms_key_arn: str | None
    master_kind: str | None = None  # aws_calls.PLAIN / RDS_MANAGED_DB / ... (None: no master)
    replica: tuple[str, str] | None = None  # (aws_calls.REPLICA_INSTANCE or _CLUSTER, its identifier)
    master_resource: str | None = None  # the ARN a service-managed master's tag names, when known


@dataclass(frozen=True)
class Request:
    """One request a rotation makes for one secret: an action on a resource with the
    condition context that the grant's statement depends on, and the statement that grants
    it (:func:`secret_requests`). ``about`` is what it is for: ``secret`` (the secret, its
    replica check, GetRandomPassword), ``key`` (the secret's customer managed key) or
    ``master`` (the master secret, its key, its database)."""

    sid: str  # the statement; the KMS ones are numbered per key when built (UseSecretKey1, ...)
    action: str
    resource: str
    about: str
    context: tuple[tuple[str, str], ...] = ()

    @property
    def context_map(self) -> dict[str, str]:
        return dict(self.context)

    def __str__(self) -> str:
        return f"{self.action} on {self.resource}"


@dataclass(frozen=True)
class RolePolicy:
    form: str
    statements: tuple[Statement, ...]
    explicit_size: int | None = None  # for the compact form: what the explicit one would need

    def document(self) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": [s.document() for s in self.statements]}

    @property
    def size(self) -> int:
        """Characters IAM counts against the role's inline-policy quota (whitespace excluded)."""
        return policy_size(self.document())


def policy_size(document: dict[str, Any]) -> int:
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False))


@dataclass(frozen=True)
class Context:
    partition: str
    region: str
    account: str


def _uniq(values: list[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


SECRET_KEY = "UseSecretKey"  # statements on the rotated secrets' customer managed keys, numbered per key
MASTER_KEY = "ReadMasterSecretKey"  # ... on the master secrets' keys (decrypt only)
ADMIN_KEY = "ReadAdminSecretKey"  # ... on the admin secrets' keys of managed external secrets
ALLOW_ROTATION = "secretsmanager:resource/AllowRotationLambdaArn"
SECRET_ID = "secretsmanager:SecretId"
SECRET_TYPE = "secretsmanager:resource/Type"
ENCRYPTION_CONTEXT = "kms:EncryptionContext:SecretARN"


def _kms_statements(requests: list[Request], ctx: Context, compact: bool, reader: tuple[str, str] = (MASTER_KEY, "master")) -> list[Statement]:  # fmt: skip
    """One statement per customer managed key of the rotated secrets (both actions), then one
    per key of the secrets they read (decrypt only), each conditioned on the secrets' ARNs
    as Secrets Manager's encryption context (the account's secrets in the compact form)."""
    out: list[Statement] = []
    wildcard = f"arn:{ctx.partition}:secretsmanager:{ctx.region}:{ctx.account}:secret:*"
    for sid, reason in ((SECRET_KEY, "customer managed key of rotated secrets"),
                        (reader[0], f"customer managed key of {reader[1]} secrets (decrypt only)")):  # fmt: skip
        by_key: dict[str, list[str]] = {}
        actions: dict[str, list[str]] = {}
        for r in requests:
            if r.sid == sid:
                by_key.setdefault(r.resource, []).append(r.context_map[ENCRYPTION_CONTEXT])
                actions.setdefault(r.resource, []).append(r.action)
        for i, (key, arns) in enumerate(sorted(by_key.items()), 1):
            secret_arns = [wildcard] if compact and sid == SECRET_KEY else list(_uniq(arns))
            out.append(
                Statement(
                    sid=f"{sid}{i}",
                    actions=_uniq(actions[key]),
                    resources=(key,),
                    reason=reason,
                    condition={
                        "StringLike": {ENCRYPTION_CONTEXT: secret_arns if len(secret_arns) > 1 else secret_arns[0]}
                    },
                )
            )
    return out


def secret_requests(
    g: SecretGrant, *, ctx: Context, engine: str, strategy: str, function_arn: str
) -> tuple[Request, ...]:
    """Every request the rotation function for ``engine`` x ``strategy`` makes for the secret
    of ``g``, on its path (aws_calls.Path): the calls of AWS's function that the secret's
    master and replica kinds lead to, each on its resource, and the KMS calls Secrets Manager
    makes on the function's behalf with a customer managed key. The one enumeration: the
    module's statements are built from these (:func:`build`), and ``doctor`` evaluates them
    against the role the function really runs as."""
    master = (g.master_kind or aws_calls.PLAIN) if g.master_arn else None
    path = aws_calls.Path(engine, strategy, master, g.replica[0] if g.replica else None)
    rds = f"arn:{ctx.partition}:rds:{ctx.region}:{ctx.account}"
    on_secret = ((ALLOW_ROTATION, function_arn), (SECRET_ID, g.arn))
    out: dict[tuple[str, str, str], Request] = {}

    def add(sid: str, action: str, resource: str, about: str, context: tuple[tuple[str, str], ...] = ()) -> None:
        out.setdefault((sid, action, resource), Request(sid, action, resource, about, context))

    for use in path.needs():
        assert use.sid is not None
        target = use.call[2]
        if target == aws_calls.SECRET:
            add(use.sid, use.action, g.arn, "secret", on_secret)
        elif target == aws_calls.NO_RESOURCE:
            add(use.sid, use.action, "*", "secret")
        elif target == aws_calls.MASTER:
            assert g.master_arn is not None
            add(use.sid, use.action, g.master_arn, "master", ((SECRET_ID, g.master_arn),))
        elif target in (aws_calls.RDS_DB, aws_calls.RDS_CLUSTER):
            kind = "db" if target == aws_calls.RDS_DB else "cluster"
            if use.sid in (aws_calls.REPLICA_INSTANCES, aws_calls.REPLICA_CLUSTERS):
                assert g.replica is not None
                add(use.sid, use.action, f"{rds}:{kind}:{g.replica[1]}", "secret")
            else:
                add(use.sid, use.action, g.master_resource or f"{rds}:{kind}:*", "master")
        elif target == aws_calls.REDSHIFT_CLUSTER:
            redshift = f"arn:{ctx.partition}:redshift:{ctx.region}:{ctx.account}:cluster:*"
            add(use.sid, use.action, g.master_resource or redshift, "master")
        elif target == aws_calls.REDSHIFT_SERVERLESS:
            add(use.sid, use.action, "*", "master")
        else:  # pragma: no cover - tests/rotation/test_aws_calls.py: every granted call has a known target
            raise AssertionError(f"no resource for {use}")
    if master and not any(r.sid == aws_calls.READ_MASTER for r in out.values()):
        # engine other: AWS's generic template reads no master, but your alternating-users
        # function does; the permissions page (seed) grants GetSecretValue on it
        assert g.master_arn is not None
        add(
            aws_calls.READ_MASTER, "secretsmanager:GetSecretValue", g.master_arn, "master", ((SECRET_ID, g.master_arn),)
        )
    if g.kms_key_arn:
        for action in KMS_SECRET_ACTIONS:
            add(SECRET_KEY, action, g.kms_key_arn, "key", ((ENCRYPTION_CONTEXT, g.arn),))
    if g.master_arn and g.master_kms_key_arn:
        for action in KMS_MASTER_ACTIONS:
            add(MASTER_KEY, action, g.master_kms_key_arn, "master", ((ENCRYPTION_CONTEXT, g.master_arn),))
    return tuple(out.values())


def _vpc_statements(ctx: Context, subnet_ids: tuple[str, ...], security_group_ids: tuple[str, ...]) -> list[Statement]:
    ec2 = f"arn:{ctx.partition}:ec2:{ctx.region}:{ctx.account}"
    return [
        Statement(
            sid="CreateNetworkInterfaces",
            actions=ENI_CREATE_ACTIONS,
            resources=(
                f"{ec2}:network-interface/*",
                *(f"{ec2}:security-group/{g}" for g in sorted(set(security_group_ids))),
                *(f"{ec2}:subnet/{n}" for n in sorted(set(subnet_ids))),
            ),
            reason="Lambda creates the function's network interfaces in its subnets with its security groups "
            "(only those the manifest lists)",
            source=LAMBDA_VPC_GUIDE,
        ),
        Statement(
            sid="ManageNetworkInterfaces",
            actions=ENI_MANAGE_ACTIONS,
            resources=(f"{ec2}:network-interface/*",),
            reason="Lambda deletes the function's network interfaces and moves their private IP addresses; "
            "every interface of the account and region, as AWS warns that a narrower DeleteNetworkInterface "
            "resource can cut the function off from the VPC",
            source=LAMBDA_VPC_GUIDE,
        ),
        Statement(
            sid="DetachNetworkInterfaces",
            actions=ENI_DETACH_ACTIONS,
            resources=(f"{ec2}:instance/*", f"{ec2}:network-interface/*"),
            reason="detach network interfaces (seed; scoped to the account and region)",
        ),
        Statement(
            sid="DescribeNetworking",
            actions=ENI_DESCRIBE_ACTIONS,
            resources=("*",),
            reason="Lambda looks up network interfaces and subnets (the actions have no resource-level permissions)",
            source=VPC_MANAGED_POLICY,
        ),
    ]


# Why each table-driven statement is there (its calls, with lines, are in its ``code``).
_REASONS = {
    aws_calls.ROTATE: "rotate the secrets that use this function (seed)",
    aws_calls.READ_MASTER: "read the master secret that sets the password (seed; read only)",
    aws_calls.DESCRIBE_MASTER: "read the RDS-managed master secret's aws:rds:primarydb* tag, which names its database "
    "(the secret holds only username and password)",
    aws_calls.RDS_INSTANCES: "look up the host, port and engine of the RDS-managed master's DB instance; every DB "
    "instance of the account and region, as the manifest names the master secret, not its database",
    aws_calls.RDS_CLUSTERS: "look up the host, port and engine of the RDS-managed master's DB cluster; every DB "
    "cluster of the account and region, as the manifest names the master secret, not its database",
    aws_calls.DESCRIBE_ADMIN: "read the admin secret's tags: a Redshift-managed one's aws:redshift:primaryclusterarn / "
    "aws:redshift-serverless:namespacearn names its database (AWS's function reads them for every admin secret)",
    aws_calls.REDSHIFT_CLUSTERS: "look up the host and port of the provisioned cluster whose Redshift-managed admin "
    "secret is the master; every cluster of the account and region, as the manifest names the secret, not its cluster",
    aws_calls.REDSHIFT_NAMESPACES: "find the namespace and workgroup of the Redshift Serverless admin secret that is "
    "the master (the list actions have no resource type)",
    aws_calls.REPLICA_INSTANCES: "check that the secret's host is a read replica of its master's DB instance "
    "(replica_of_master.db_instance: that instance only)",
    aws_calls.REPLICA_CLUSTERS: "check that the secret's host is an Aurora reader of its master's DB cluster "
    "(replica_of_master.db_cluster: that cluster only)",
    aws_calls.RANDOM: "create a new password (seed; the action has no resource type)",
}
_SOURCES = {
    aws_calls.RDS_INSTANCES: aws_calls.RDS_ACTIONS_PAGE,
    aws_calls.RDS_CLUSTERS: aws_calls.RDS_ACTIONS_PAGE,
    aws_calls.REPLICA_INSTANCES: aws_calls.RDS_ACTIONS_PAGE,
    aws_calls.REPLICA_CLUSTERS: aws_calls.RDS_ACTIONS_PAGE,
    aws_calls.REDSHIFT_CLUSTERS: aws_calls.REDSHIFT_ACTIONS_PAGE,
    aws_calls.REDSHIFT_NAMESPACES: aws_calls.REDSHIFT_SERVERLESS_ACTIONS_PAGE,
}
# A replica's own grant is left out where the RDS-managed master's covers the account's instances (clusters).
_COVERED_BY = {aws_calls.REPLICA_INSTANCES: aws_calls.RDS_INSTANCES, aws_calls.REPLICA_CLUSTERS: aws_calls.RDS_CLUSTERS}


def build(
    grants: tuple[SecretGrant, ...],
    *,
    ctx: Context,
    function_name: str,
    function_arn: str,
    in_vpc: bool,
    traced: bool = False,
    form: str = EXPLICIT,
    subnet_ids: tuple[str, ...] = (),
    security_group_ids: tuple[str, ...] = (),
    engine: str = "other",
    strategy: str = "single_user",
) -> RolePolicy:
    """The role's policy: the statements that grant the requests of every secret
    (:func:`secret_requests`), then what Lambda itself needs."""
    compact = form == COMPACT
    requests = [
        r
        for g in grants
        for r in secret_requests(g, ctx=ctx, engine=engine, strategy=strategy, function_arn=function_arn)
    ]
    masters = frozenset(g.master_kind or aws_calls.PLAIN for g in grants if g.master_arn)
    replicas = frozenset(g.replica[0] for g in grants if g.replica)
    statements: list[Statement] = []
    for sid in aws_calls.TABLE_SIDS:
        mine = [r for r in requests if r.sid == sid]
        resources = _uniq([r.resource for r in mine])
        cover = next((st.resources for st in statements if st.sid == _COVERED_BY.get(sid)), ())
        resources = tuple(r for r in resources if r.rsplit(":", 1)[0] + ":*" not in cover)
        if not resources:
            continue
        code = aws_calls.citation(sid, engine, strategy, masters, replicas)
        if sid == aws_calls.ROTATE and compact:
            statements.append(
                Statement(
                    sid=sid,
                    actions=_uniq([r.action for r in mine]),
                    resources=(f"arn:{ctx.partition}:secretsmanager:{ctx.region}:{ctx.account}:secret:*",),
                    reason="rotate the secrets whose rotation function is this function (compact form)",
                    condition={"StringEquals": {ALLOW_ROTATION: function_arn}},
                    code=code,
                )
            )
            continue
        statements.append(
            Statement(
                sid=sid,
                actions=_uniq([r.action for r in mine if r.resource in resources]),
                resources=resources,
                reason=_REASONS[sid],
                source=_SOURCES.get(sid, ""),
                code=code,
            )
        )
    statements.extend(_kms_statements(requests, ctx, compact))
    if in_vpc:
        statements.extend(_vpc_statements(ctx, subnet_ids, security_group_ids))
    if traced:
        statements.append(
            Statement(
                sid="WriteTraces",
                actions=XRAY_ACTIONS,
                resources=("*",),
                reason="send X-Ray traces (package tracing_mode Active; the actions have no resource type)",
            )
        )
    log_group = f"arn:{ctx.partition}:logs:{ctx.region}:{ctx.account}:log-group:/aws/lambda/{function_name}"
    statements.append(
        Statement(
            sid="WriteOwnLogs",
            actions=LOG_ACTIONS,
            resources=(log_group, f"{log_group}:*"),
            reason="write the function's own CloudWatch logs",
        )
    )
    return RolePolicy(form, tuple(statements))


def permission_document(*, function_arn: str, account: str, statement_id: str) -> dict[str, Any]:
    """The function's resource policy as the ``aws_lambda_permission`` leaves it (AWS's
    seed policy): one statement letting Secrets Manager invoke it from this account only.
    For an existing function this is what the module adds to its current policy."""
    return {
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [
            {
                "Sid": statement_id,
                "Effect": "Allow",
                "Principal": {"Service": "secretsmanager.amazonaws.com"},
                "Action": "lambda:InvokeFunction",
                "Resource": function_arn,
                "Condition": {"StringEquals": {"AWS:SourceAccount": account}},
            }
        ],
    }


def permission_size(**kw: str) -> int:
    """Bytes of the resource policy against Lambda's 20 KB quota (UTF-8, no whitespace)."""
    return len(json.dumps(permission_document(**kw), separators=(",", ":")).encode("utf-8"))


def choose(grants: tuple[SecretGrant, ...], **kw: Any) -> RolePolicy:
    """The explicit policy when it fits IAM's quota, else the compact one."""
    explicit = build(grants, form=EXPLICIT, **kw)
    if explicit.size <= aws.ROLE_INLINE_POLICIES_MAX:
        return explicit
    compact = build(grants, form=COMPACT, **kw)
    return RolePolicy(compact.form, compact.statements, explicit_size=explicit.size)


# --------------------------------------------------------------------------------------
# Managed external secrets: the role Secrets Manager itself assumes (generator/partners.py)


@dataclass(frozen=True)
class ExternalGrant:
    """What one managed external secret contributes to the external rotation role."""

    arn: str  # full ARN, or AWS's partial-ARN pattern when only the name is known
    secret_type: str
    kms_key_arn: str | None
    admin_arn: str | None  # the secret its metadata adminSecretArn names
    admin_kms_key_arn: str | None


def external_requests(g: ExternalGrant) -> tuple[Request, ...]:
    """Every request Secrets Manager makes as the external rotation role for one managed
    external secret (AWS's example role, mes-security): the four rotation actions on the
    secret, of its type; GetRandomPassword; reading the admin secret its metadata names;
    and the KMS calls on the keys of both. ``external_policy`` is built from these, and
    ``doctor``'s ``external-grants`` evaluates them."""
    from generator import partners

    on_secret = ((SECRET_ID, g.arn), (SECRET_TYPE, g.secret_type))
    out = [Request(f"Rotate{g.secret_type}", a, g.arn, "secret", on_secret) for a in ROTATION_ACTIONS]
    out.append(Request(aws_calls.RANDOM, "secretsmanager:GetRandomPassword", "*", "secret"))
    if g.admin_arn:
        out.append(Request(partners.ADMIN_SECRETS, "secretsmanager:GetSecretValue", g.admin_arn, "master", ((SECRET_ID, g.admin_arn),)))  # fmt: skip
    if g.kms_key_arn:
        out += [
            Request(SECRET_KEY, a, g.kms_key_arn, "key", ((ENCRYPTION_CONTEXT, g.arn),)) for a in KMS_SECRET_ACTIONS
        ]
    if g.admin_arn and g.admin_kms_key_arn:
        out += [Request(ADMIN_KEY, a, g.admin_kms_key_arn, "master", ((ENCRYPTION_CONTEXT, g.admin_arn),)) for a in KMS_MASTER_ACTIONS]  # fmt: skip
    return tuple(out)


def external_policy(grants: tuple[ExternalGrant, ...], ctx: Context) -> RolePolicy:
    """The external rotation role's inline policy, built from :func:`external_requests`. AWS's
    example (mes-security) grants the four rotation actions on every secret of the account whose
    ``secretsmanager:resource/Type`` is the partner's type; here one statement per type names
    exactly this manifest's secrets of that type and keeps the type condition on top, so a
    secret deleted and re-created under the same name with another type is not covered by a
    name pattern."""
    from generator import partners

    requests = [r for g in grants for r in external_requests(g)]
    statements = [
        Statement(
            sid=f"Rotate{secret_type}",
            actions=ROTATION_ACTIONS,
            resources=_uniq([r.resource for r in requests if r.sid == f"Rotate{secret_type}"]),
            reason=f"rotate exactly this manifest's {secret_type} secrets (AWS's example: every secret of the type "
            "in the account)",
            condition={"StringEquals": {SECRET_TYPE: secret_type}},
            source=partners.SECURITY_PAGE,
        )
        for secret_type in sorted({g.secret_type for g in grants})
    ]
    admins = _uniq([r.resource for r in requests if r.sid == partners.ADMIN_SECRETS])
    if admins:
        statements.append(
            Statement(
                sid=partners.ADMIN_SECRETS,
                actions=("secretsmanager:GetSecretValue",),
                resources=admins,
                reason=f"read the admin secrets the metadata names ({partners.ADMIN_SECRET_KEY}; read only)",
                source=partners.PARTNERS_PAGE,
            )
        )
    statements.append(
        Statement(
            sid=aws_calls.RANDOM,
            actions=("secretsmanager:GetRandomPassword",),
            resources=("*",),
            reason="create new credentials (AWS's example; the action has no resource type)",
            source=partners.SECURITY_PAGE,
        )
    )
    statements.extend(_kms_statements(requests, ctx, compact=False, reader=(ADMIN_KEY, "admin")))
    return RolePolicy(EXPLICIT, tuple(statements))


def external_trust(grants: tuple[ExternalGrant, ...], ctx: Context, *, wide: bool = False) -> dict[str, Any]:
    """Who may assume the role: Secrets Manager, from this account (aws:SourceAccount), for
    these secrets (aws:SourceArn, the secret being rotated, ArnLike as in AWS's example). With
    ``wide`` the account's and region's secrets (AWS's example form), for a trust policy that
    would not fit IAM's limit."""
    arns = (
        [f"arn:{ctx.partition}:secretsmanager:{ctx.region}:{ctx.account}:secret:*"]
        if wide
        else list(_uniq([g.arn for g in grants]))
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SecretsManagerRotatesTheseSecrets",
                "Effect": "Allow",
                "Principal": {"Service": "secretsmanager.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": ctx.account},
                    "ArnLike": {"aws:SourceArn": arns if len(arns) > 1 else arns[0]},
                },
            }
        ],
    }
