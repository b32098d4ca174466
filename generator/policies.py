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
# tests/test_aws_calls.py); a function's statement takes its own from the table.
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
    """What one secret contributes to its function's role."""

    arn: str  # full ARN, or AWS's partial-ARN pattern when only the name is known
    kms_key_arn: str | None
    master_arn: str | None
    master_kms_key_arn: str | None
    master_kind: str | None = None  # aws_calls.PLAIN / RDS_MANAGED_DB / RDS_MANAGED_CLUSTER


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


def _kms_statements(
    grants: tuple[SecretGrant, ...],
    ctx: Context,
    compact: bool,
    reader: tuple[str, str] = ("ReadMasterSecretKey", "master"),
) -> list[Statement]:
    out: list[Statement] = []
    wildcard = f"arn:{ctx.partition}:secretsmanager:{ctx.region}:{ctx.account}:secret:*"
    by_key: dict[str, list[str]] = {}
    for g in grants:
        if g.kms_key_arn:
            by_key.setdefault(g.kms_key_arn, []).append(g.arn)
    for i, (key, arns) in enumerate(sorted(by_key.items()), 1):
        secret_arns = [wildcard] if compact else list(_uniq(arns))
        out.append(
            Statement(
                sid=f"UseSecretKey{i}",
                actions=KMS_SECRET_ACTIONS,
                resources=(key,),
                reason="customer managed key of rotated secrets",
                condition={
                    "StringLike": {
                        "kms:EncryptionContext:SecretARN": secret_arns if len(secret_arns) > 1 else secret_arns[0]
                    }
                },
            )
        )
    by_master_key: dict[str, list[str]] = {}
    for g in grants:
        if g.master_arn and g.master_kms_key_arn:
            by_master_key.setdefault(g.master_kms_key_arn, []).append(g.master_arn)
    for i, (key, arns) in enumerate(sorted(by_master_key.items()), 1):
        masters = list(_uniq(arns))
        out.append(
            Statement(
                sid=f"{reader[0]}{i}",
                actions=KMS_MASTER_ACTIONS,
                resources=(key,),
                reason=f"customer managed key of {reader[1]} secrets (decrypt only)",
                condition={
                    "StringLike": {"kms:EncryptionContext:SecretARN": masters if len(masters) > 1 else masters[0]}
                },
            )
        )
    return out


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
    compact = form == COMPACT
    statements: list[Statement] = []
    kinds = frozenset(g.master_kind or aws_calls.PLAIN for g in grants if g.master_arn)

    def calls(sid: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The actions of statement ``sid`` and its citation, from the table of AWS's calls."""
        return aws_calls.actions(sid, engine, strategy, kinds), aws_calls.citation(sid, engine, strategy, kinds)

    if grants:
        actions, code = calls(aws_calls.ROTATE)
        if compact:
            statements.append(
                Statement(
                    sid=aws_calls.ROTATE,
                    actions=actions,
                    resources=(f"arn:{ctx.partition}:secretsmanager:{ctx.region}:{ctx.account}:secret:*",),
                    reason="rotate the secrets whose rotation function is this function (compact form)",
                    condition={"StringEquals": {"secretsmanager:resource/AllowRotationLambdaArn": function_arn}},
                    code=code,
                )
            )
        else:
            statements.append(
                Statement(
                    sid=aws_calls.ROTATE,
                    actions=actions,
                    resources=_uniq([g.arn for g in grants]),
                    reason="rotate the secrets that use this function (seed)",
                    code=code,
                )
            )
    masters = _uniq([g.master_arn for g in grants if g.master_arn])
    actions, code = calls(aws_calls.READ_MASTER)
    if masters and not actions:
        # engine other: AWS's generic template reads no master, but your alternating-users
        # function does; the permissions page (seed) grants GetSecretValue on it
        actions = ("secretsmanager:GetSecretValue",)
    if masters:
        statements.append(
            Statement(
                sid=aws_calls.READ_MASTER,
                actions=actions,
                resources=masters,
                reason="read the master secret that sets the password (seed; read only)",
                code=code,
            )
        )
    rds_masters = _uniq([g.master_arn for g in grants if g.master_arn and g.master_kind in aws_calls.RDS_MANAGED_KINDS])
    actions, code = calls(aws_calls.DESCRIBE_MASTER)
    if rds_masters and actions:
        statements.append(
            Statement(
                sid=aws_calls.DESCRIBE_MASTER,
                actions=actions,
                resources=rds_masters,
                reason="read the RDS-managed master secret's aws:rds:primarydb* tag, which names its database "
                "(the secret holds only username and password)",
                code=code,
            )
        )
    rds = f"arn:{ctx.partition}:rds:{ctx.region}:{ctx.account}"
    for sid, resource, what in (
        (aws_calls.RDS_INSTANCES, f"{rds}:db:*", "DB instance"),
        (aws_calls.RDS_CLUSTERS, f"{rds}:cluster:*", "DB cluster"),
    ):
        actions, code = calls(sid)
        if actions:
            statements.append(
                Statement(
                    sid=sid,
                    actions=actions,
                    resources=(resource,),
                    reason=f"look up the host, port and engine of the RDS-managed master's {what}; every {what} "
                    "of the account and region, as the manifest names the master secret, not its database",
                    source=aws_calls.RDS_ACTIONS_PAGE,
                    code=code,
                )
            )
    actions, code = calls(aws_calls.RANDOM)
    if actions:
        statements.append(
            Statement(
                sid=aws_calls.RANDOM,
                actions=actions,
                resources=("*",),
                reason="create a new password (seed; the action has no resource type)",
                code=code,
            )
        )
    statements.extend(_kms_statements(grants, ctx, compact))
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
# Managed external secrets: the role Secrets Manager itself assumes (generator/external.py)


@dataclass(frozen=True)
class ExternalGrant:
    """What one managed external secret contributes to the external rotation role."""

    arn: str  # full ARN, or AWS's partial-ARN pattern when only the name is known
    secret_type: str
    kms_key_arn: str | None
    admin_arn: str | None  # the secret its metadata adminSecretArn names
    admin_kms_key_arn: str | None


def external_policy(grants: tuple[ExternalGrant, ...], ctx: Context) -> RolePolicy:
    """The external rotation role's inline policy. AWS's example (mes-security) grants the four
    rotation actions on every secret of the account whose ``secretsmanager:resource/Type`` is
    the partner's type; here one statement per type names exactly this manifest's secrets of
    that type and keeps the type condition on top, so a secret deleted and re-created under
    the same name with another type is not covered by a name pattern."""
    from generator import external

    statements = [
        Statement(
            sid=f"Rotate{secret_type}",
            actions=ROTATION_ACTIONS,
            resources=_uniq([g.arn for g in grants if g.secret_type == secret_type]),
            reason=f"rotate exactly this manifest's {secret_type} secrets (AWS's example: every secret of the type "
            "in the account)",
            condition={"StringEquals": {"secretsmanager:resource/Type": secret_type}},
            source=external.SECURITY_PAGE,
        )
        for secret_type in sorted({g.secret_type for g in grants})
    ]
    admins = _uniq([g.admin_arn for g in grants if g.admin_arn])
    if admins:
        statements.append(
            Statement(
                sid="ReadAdminSecrets",
                actions=("secretsmanager:GetSecretValue",),
                resources=admins,
                reason=f"read the admin secrets the metadata names ({external.ADMIN_SECRET_KEY}; read only)",
                source=external.PARTNERS_PAGE,
            )
        )
    statements.append(
        Statement(
            sid="GetRandomPassword",
            actions=("secretsmanager:GetRandomPassword",),
            resources=("*",),
            reason="create new credentials (AWS's example; the action has no resource type)",
            source=external.SECURITY_PAGE,
        )
    )
    kms = tuple(SecretGrant(g.arn, g.kms_key_arn, g.admin_arn, g.admin_kms_key_arn) for g in grants)
    statements.extend(_kms_statements(kms, ctx, compact=False, reader=("ReadAdminSecretKey", "admin")))
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
