"""Policies for people other than the rotation functions, as plain data.

* The **deployer policy**: the least privilege a CI principal needs to apply the module.
  AWS warns that ``iam:CreateRole`` plus the right to attach policies lets an identity
  grant itself anything; here role creation and every change to a role's policies are
  allowed only with ``iam:PermissionsBoundary`` equal to the manifest's boundary, only for
  the rotation roles' names and path, and removing the boundary is denied. ``iam:PassRole``
  is limited to the rotation roles and to ``lambda.amazonaws.com``.
* **KMS key-policy statements**: for keys whose key policy does not delegate to IAM, the
  statement each key administrator must add so that the rotation roles may use the key
  (no ``kms:DescribeKey``: it carries no encryption context, so under the
  ``kms:EncryptionContext:SecretARN`` condition it could never be allowed).
  The module never manages foreign key policies.
"""

from __future__ import annotations

from typing import Any

from generator import aws
from generator.model import FunctionPlan, Module

ROLE_WRITE_BOUNDED = (
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
)
ROLE_MANAGE = (
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)
FUNCTION_MANAGE = (
    "lambda:CreateFunction",
    "lambda:DeleteFunction",
    "lambda:GetFunction",
    "lambda:GetFunctionCodeSigningConfig",
    "lambda:GetFunctionConfiguration",
    "lambda:ListTags",
    "lambda:ListVersionsByFunction",
    "lambda:TagResource",
    "lambda:UntagResource",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
)
EXISTING_FUNCTION_READ = ("lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig", "lambda:ListVersionsByFunction")
EXISTING_ROLE_POLICY = ("iam:DeleteRolePolicy", "iam:GetRolePolicy", "iam:PutRolePolicy")
PERMISSION_MANAGE = ("lambda:AddPermission", "lambda:GetPolicy", "lambda:RemovePermission")
ROTATION_MANAGE = (
    "secretsmanager:CancelRotateSecret",
    "secretsmanager:DescribeSecret",
    "secretsmanager:RotateSecret",
)
SECRET_MANAGE = (
    "secretsmanager:CreateSecret",
    "secretsmanager:DeleteSecret",
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:GetSecretValue",
    "secretsmanager:ListSecretVersionIds",
    "secretsmanager:PutSecretValue",
    "secretsmanager:RemoveRegionsFromReplication",
    "secretsmanager:ReplicateSecretToRegions",
    "secretsmanager:TagResource",
    "secretsmanager:UntagResource",
    "secretsmanager:UpdateSecret",
)
VPC_DESCRIBE = ("ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs")


def role_pattern(module: Module) -> str:
    """Every rotation role of the module, and nothing else the prefix does not cover."""
    tag = f"-{module.roles.region_tag}" if module.roles.region_tag else ""
    return f"arn:{module.partition}:iam::{module.account_id}:role{module.roles.path}{module.name_prefix}*-rotation{tag}"


def _st(
    sid: str,
    actions: tuple[str, ...] | list[str],
    resources: list[str],
    condition: dict[str, Any] | None = None,
    effect: str = "Allow",
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Sid": sid,
        "Effect": effect,
        "Action": sorted(set(actions)),
        "Resource": sorted(set(resources)) if len(set(resources)) > 1 else resources[0],
    }
    if condition:
        out["Condition"] = condition
    return out


def deployer_policy(module: Module) -> dict[str, Any] | None:
    """The deployer's policy document, or None when the manifest sets no boundary."""
    boundary = module.roles.permissions_boundary
    if boundary is None:
        return None
    roles = role_pattern(module)
    statements: list[dict[str, Any]] = [
        _st("CallerIdentity", ("sts:GetCallerIdentity",), ["*"]),
    ]
    with_role = [f for f in module.functions if f.creates_role]
    if with_role or module.external_role is not None:
        statements += [
            _st(
                "WriteRotationRolesOnlyWithTheBoundary",
                ROLE_WRITE_BOUNDED,
                [roles],
                {"StringEquals": {"iam:PermissionsBoundary": boundary}},
            ),
            _st("ManageRotationRoles", ROLE_MANAGE, [roles]),
            _st("KeepTheBoundary", ("iam:DeleteRolePermissionsBoundary",), [roles], effect="Deny"),
            _st("NoManagedPolicies", ("iam:AttachRolePolicy", "iam:DetachRolePolicy"), [roles], effect="Deny"),
        ]
    existing = [f for f in module.functions if f.has_role and not f.creates_role]
    if existing:
        # generator/rules requires execution_role_arn for existing functions when a boundary is set,
        # so every role named here is known; the module never creates, tags or deletes them.
        statements += [
            _st("ReadExistingFunctions", EXISTING_FUNCTION_READ, [f.function_arn for f in existing]),
            _st(
                "ManageOwnPolicyOnExistingRoles",
                EXISTING_ROLE_POLICY,
                sorted({f.role_arn for f in existing if f.role_arn}),
            ),
        ]
    packaged = [f for f in module.functions if f.package]
    if packaged:
        statements += [
            _st(
                "PassRotationRolesToLambdaOnly",
                ("iam:PassRole",),
                [roles],
                {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
            ),
            _st("ManageRotationFunctions", FUNCTION_MANAGE, [f.function_arn for f in packaged]),
        ]
        if any(f.in_vpc for f in packaged):
            statements.append(_st("DescribeNetworkForVpcFunctions", VPC_DESCRIBE, ["*"]))
    if module.external_role is not None:
        # RotateSecret with ExternalSecretRotationRoleArn passes the role to Secrets Manager.
        statements.append(
            _st(
                "PassExternalRotationRoleToSecretsManagerOnly",
                ("iam:PassRole",),
                [module.external_role.role_arn],
                {"StringEquals": {"iam:PassedToService": "secretsmanager.amazonaws.com"}},
            )
        )
    fn_arns = [f.function_arn for f in module.functions]
    if fn_arns:
        statements.append(_st("ManageInvokePermissions", PERMISSION_MANAGE, fn_arns))
        statements.append(_st("AttachRotationFunctions", ("lambda:InvokeFunction",), fn_arns))
    statements.append(_st("ConfigureRotation", ROTATION_MANAGE, [s.policy_arn for s in module.secrets]))
    lookups = [s.policy_arn for s in module.lookups]
    if lookups:
        statements.append(
            _st("LookUpSecretsByName", ("secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"), lookups)
        )
    managed = module.managed
    if managed:
        statements.append(_st("ManageCreatedSecrets", SECRET_MANAGE, [s.policy_arn for s in managed]))
        if module.valued:
            statements.append(_st("GenerateInitialPasswords", ("secretsmanager:GetRandomPassword",), ["*"]))
        keys = sorted(
            {s.kms_key_arn for s in managed if s.kms_key_arn}
            | {k for s in managed if s.managed for _, k in s.managed.replicas if k}
        )
        if keys:
            statements.append(
                _st(
                    "EncryptCreatedSecrets",
                    ("kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"),
                    keys,
                    {"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}},
                )
            )
    return {"Version": "2012-10-17", "Statement": statements}


def principal(fn: FunctionPlan) -> str:
    """The role ARN a key policy names; for a role read at plan time, a placeholder that says
    where to find it (a key policy with it is refused by KMS, never silently wrong)."""
    if fn.role_arn:
        return fn.role_arn
    return f'<the role {fn.function_name} runs as: terraform output role_arns["{fn.key}"]>'


def key_policy_statements(module: Module) -> dict[str, list[dict[str, Any]]]:
    """For each customer managed key: the key-policy statements for the rotation roles."""
    via = f"secretsmanager.{module.region}.{aws.dns_suffix(module.partition)}"
    fns = {f.key: f for f in module.functions}
    out: dict[str, list[dict[str, Any]]] = {}
    uses: dict[str, dict[str, set[str]]] = {}
    for s in module.secrets:
        if s.function is None:
            continue  # rotated by its own service: no role to grant
        fn = fns[s.function]
        if s.kms_key_arn and fn.has_role:
            u = uses.setdefault(s.kms_key_arn, {"roles": set(), "secrets": set(), "mroles": set(), "masters": set()})
            u["roles"].add(principal(fn))
            u["secrets"].add(s.policy_arn)
        if s.master_kms_key_arn and s.master_arn and fn.has_role:
            u = uses.setdefault(
                s.master_kms_key_arn, {"roles": set(), "secrets": set(), "mroles": set(), "masters": set()}
            )
            u["mroles"].add(principal(fn))
            u["masters"].add(s.master_arn)
    xr = module.external_role
    for s in module.externals:
        if xr is None or s.external is None:
            continue
        if s.kms_key_arn:
            u = uses.setdefault(s.kms_key_arn, {"roles": set(), "secrets": set(), "mroles": set(), "masters": set()})
            u["roles"].add(xr.role_arn)
            u["secrets"].add(s.policy_arn)
        if s.external.admin_kms_key_arn and s.external.admin_arn:
            u = uses.setdefault(
                s.external.admin_kms_key_arn, {"roles": set(), "secrets": set(), "mroles": set(), "masters": set()}
            )
            u["mroles"].add(xr.role_arn)
            u["masters"].add(s.external.admin_arn)
    for key in sorted(uses):
        u = uses[key]
        stmts = []
        if u["roles"]:
            stmts.append(
                {
                    "Sid": "RotationRolesUseKeyForRotatedSecrets",
                    "Effect": "Allow",
                    "Principal": {"AWS": sorted(u["roles"])},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"kms:ViaService": via},
                        "StringLike": {"kms:EncryptionContext:SecretARN": sorted(u["secrets"])},
                    },
                }
            )
        if u["mroles"]:
            stmts.append(
                {
                    "Sid": "RotationRolesReadMasterSecrets",
                    "Effect": "Allow",
                    "Principal": {"AWS": sorted(u["mroles"])},
                    "Action": ["kms:Decrypt"],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"kms:ViaService": via},
                        "StringLike": {"kms:EncryptionContext:SecretARN": sorted(u["masters"])},
                    },
                }
            )
        out[key] = stmts
    return out
