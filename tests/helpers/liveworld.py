"""Worlds in moto for ``doctor`` and ``discover``: an account that already rotates secrets.

:func:`build` creates, through boto3 against a moto server, everything a healthy rotation
needs: a VPC with two private subnets, the function's security group (egress open), an
interface endpoint for Secrets Manager with private DNS whose security group admits 443
from the function's, a customer managed key with AWS's default key policy, the function's
execution role with an inline policy granting the rotation actions, the function (in the
VPC) with a permission for ``secretsmanager.amazonaws.com`` guarded by
``aws:SourceAccount``, and secrets (one under the key, one under ``aws/secretsmanager``,
one alternating-users secret with its master secret) with rotation on, every 30 days.
:func:`manifest` writes the manifest that describes it. Each fault in ``FAULTS`` breaks one
thing; the tests plant them one at a time.

moto limits worked around here (and only here):

* ``PENDING``: moto's RotateSecret cannot run the function (no Docker), so it leaves the
  new version labelled ``AWSPENDING`` (without ``AWSCURRENT``) behind. The harness removes
  that label, which is what a finished rotation leaves; the ``pending`` fault keeps it.
* ``NO_DOCKER``: functions are created from a dummy zip and never run.
* ``CLOCK``: moto sets ``LastRotatedDate`` to now; the ``overdue`` fault moves doctor's
  clock forward instead (``ROTATION_TF_TODAY``), which is the same thing seen from doctor.
* ``ENDPOINT_DNS``: moto's ModifyVpcEndpoint keeps ``PrivateDnsEnabled`` as it was;
  :func:`enable_private_dns` makes the endpoint again with it on (same VPC, subnets and groups).
* ``KMS_KEY_ARN``: moto's EnableKey and DisableKey answer 500 to a key ARN (AWS takes the
  ID or the ARN); :func:`enable_key` passes the key ID.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from helpers.lifecycle import dummy_zip

__all__ = ["dummy_zip"]

ACCOUNT = "111122223333"
REGION = "us-east-1"
FUNCTION = "legacy-rotator"
ALT_FUNCTION = "legacy-alt-rotator"
ROLE = "legacy-rotator-role"
SECRETS = ("prod/orders/db", "prod/billing/db")
ALT_SECRET = "prod/users/db"
MASTER = "prod/users/db-admin"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@dataclass
class World:
    server: Any
    region: str = REGION
    account: str = ACCOUNT
    ids: dict[str, str] = field(default_factory=dict)
    secret_arns: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return self.server.client(service, self.region)


def _role_policy(w: World, key_arns: list[str], secret_arns: list[str], master_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Rotate", "Effect": "Allow", "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
             "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"], "Resource": secret_arns},
            {"Sid": "Master", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": master_arn},
            {"Sid": "Password", "Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"},
            {"Sid": "Key", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key_arns},
            {"Sid": "Eni", "Effect": "Allow", "Action": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
             "ec2:DescribeNetworkInterfaces", "ec2:DetachNetworkInterface"], "Resource": "*"},
        ],
    }  # fmt: skip


def build(
    server: Any, *, runtime: str = "python3.12", value: dict[str, str] | None = None, account: str = ACCOUNT
) -> World:
    """``server`` is anything with ``client(service, region)``; ``account`` is the account its
    clients act in (tests/moto/test_moto_accounts.py builds worlds in several)."""
    w = World(server, account=account)
    ec2 = w.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    w.ids["vpc"] = vpc
    w.ids["subnet-a"] = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=f"{w.region}a")[
        "Subnet"
    ]["SubnetId"]
    w.ids["subnet-b"] = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24", AvailabilityZone=f"{w.region}b")[
        "Subnet"
    ]["SubnetId"]
    fn_sg = ec2.create_security_group(GroupName="rotator", Description="rotation function", VpcId=vpc)["GroupId"]
    ep_sg = ec2.create_security_group(GroupName="sm-endpoint", Description="secrets manager endpoint", VpcId=vpc)[
        "GroupId"
    ]
    ec2.authorize_security_group_ingress(
        GroupId=ep_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": fn_sg}]}],
    )
    w.ids["fn-sg"], w.ids["ep-sg"] = fn_sg, ep_sg
    w.ids["endpoint"] = ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName=f"com.amazonaws.{w.region}.secretsmanager", VpcEndpointType="Interface",
        SubnetIds=[w.ids["subnet-a"], w.ids["subnet-b"]], SecurityGroupIds=[ep_sg], PrivateDnsEnabled=True,
    )["VpcEndpoint"]["VpcEndpointId"]  # fmt: skip

    kms = w.client("kms")
    key = kms.create_key(Description="rotation test key")["KeyMetadata"]
    w.ids["key"] = key["Arn"]
    master_key = kms.create_key(Description="master secret key")["KeyMetadata"]
    w.ids["master-key"] = master_key["Arn"]

    sm = w.client("secretsmanager")
    value = value or {
        "engine": "postgres",
        "host": "db.example.internal",
        "username": "app",
        "password": "initial-password",
    }
    for name in SECRETS:
        kwargs = {"KmsKeyId": key["Arn"]} if name == SECRETS[0] else {}
        w.secret_arns[name] = sm.create_secret(Name=name, SecretString=json.dumps(value), **kwargs)["ARN"]
    w.secret_arns[MASTER] = sm.create_secret(
        Name=MASTER, KmsKeyId=master_key["Arn"],
        SecretString=json.dumps({"engine": "postgres", "host": "db.example.internal", "username": "admin", "password": "admin-password"}),
    )["ARN"]  # fmt: skip
    alt_value = dict(value, masterarn=w.secret_arns[MASTER])
    w.secret_arns[ALT_SECRET] = sm.create_secret(Name=ALT_SECRET, SecretString=json.dumps(alt_value))["ARN"]

    iam = w.client("iam")
    role_arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    w.ids["role"] = role_arn
    rotated = [w.secret_arns[n] for n in (*SECRETS, ALT_SECRET)]
    iam.put_role_policy(RoleName=ROLE, PolicyName="rotation",
                        PolicyDocument=json.dumps(_role_policy(w, [key["Arn"], master_key["Arn"]], rotated, w.secret_arns[MASTER])))  # fmt: skip

    lam = w.client("lambda")
    for ident, name in (("function", FUNCTION), ("alt-function", ALT_FUNCTION)):
        w.ids[ident] = lam.create_function(
            FunctionName=name, Runtime=runtime, Role=role_arn, Handler="lambda_function.lambda_handler",
            Code={"ZipFile": dummy_zip()},
            VpcConfig={"SubnetIds": [w.ids["subnet-a"], w.ids["subnet-b"]], "SecurityGroupIds": [fn_sg]},
        )["FunctionArn"]  # fmt: skip
        lam.add_permission(
            FunctionName=name, StatementId="SecretsManagerAccess", Action="lambda:InvokeFunction",
            Principal="secretsmanager.amazonaws.com", SourceAccount=w.account,
        )  # fmt: skip
    for name in SECRETS:
        rotate(w, name)
    rotate(w, ALT_SECRET, function="alt-function")
    return w


def rotate(w: World, name: str, days: int = 30, keep_pending: bool = False, function: str = "function") -> None:
    sm = w.client("secretsmanager")
    sm.rotate_secret(SecretId=w.secret_arns[name], RotationLambdaARN=w.ids[function],
                     RotationRules={"AutomaticallyAfterDays": days}, RotateImmediately=False)  # fmt: skip
    if not keep_pending:
        finish_rotation(w, name)


def finish_rotation(w: World, name: str) -> None:
    """moto limit PENDING: what a finished rotation leaves (no AWSPENDING on its own)."""
    sm = w.client("secretsmanager")
    stages = sm.describe_secret(SecretId=w.secret_arns[name]).get("VersionIdsToStages", {})
    for version, labels in stages.items():
        if "AWSPENDING" in labels and "AWSCURRENT" not in labels:
            sm.update_secret_version_stage(
                SecretId=w.secret_arns[name], VersionStage="AWSPENDING", RemoveFromVersionId=version
            )


def enable_private_dns(w: World, endpoint_id: str) -> str:
    """What ``aws ec2 modify-vpc-endpoint --private-dns-enabled`` does (moto limit ENDPOINT_DNS)."""
    ec2 = w.client("ec2")
    ep = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]
    ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint_id])
    new = ec2.create_vpc_endpoint(
        VpcId=ep["VpcId"], ServiceName=ep["ServiceName"], VpcEndpointType="Interface", SubnetIds=ep["SubnetIds"],
        SecurityGroupIds=[g["GroupId"] for g in ep["Groups"]], PrivateDnsEnabled=True,
    )["VpcEndpoint"]["VpcEndpointId"]  # fmt: skip
    if w.ids.get("endpoint") == endpoint_id:
        w.ids["endpoint"] = new
    return str(new)


def enable_key(w: World, key: str) -> None:
    """``aws kms enable-key --key-id KEY`` (moto limit KMS_KEY_ARN: by the key's ID)."""
    w.client("kms").enable_key(KeyId=key.rsplit("/", 1)[-1])


def before_the_module(w: World) -> None:
    """The account as it is before this module's first apply: the functions, their roles,
    network and secrets exist, but the role has no grants for the secrets (only the ENI
    statement the VPC needs), no permission lets Secrets Manager invoke the functions, and
    rotation of the second secret is off."""
    iam, lam = w.client("iam"), w.client("lambda")
    own = {
        "Version": "2012-10-17",
        "Statement": [s for s in _role_policy(w, [], [], "")["Statement"] if s["Sid"] == "Eni"],
    }
    iam.put_role_policy(RoleName=ROLE, PolicyName="rotation", PolicyDocument=json.dumps(own))
    for name in (FUNCTION, ALT_FUNCTION):
        lam.remove_permission(FunctionName=name, StatementId="SecretsManagerAccess")
    w.client("secretsmanager").cancel_rotate_secret(SecretId=w.secret_arns[SECRETS[1]])


def manifest(w: World, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1,
        "account_id": w.account,
        "region": w.region,
        "functions": {
            "legacy": {
                "strategy": "single_user",
                "engine": "postgresql",
                "existing_function_arn": w.ids["function"],
                "vpc": {"subnet_ids": sorted([w.ids["subnet-a"], w.ids["subnet-b"]]), "security_group_ids": [w.ids["fn-sg"]]},
            },
            "legacy-alt": {
                "strategy": "alternating_users",
                "engine": "postgresql",
                "existing_function_arn": w.ids["alt-function"],
                "vpc": {"subnet_ids": sorted([w.ids["subnet-a"], w.ids["subnet-b"]]), "security_group_ids": [w.ids["fn-sg"]]},
            },
        },
        "secrets": {
            SECRETS[0]: {"function": "legacy", "arn": w.secret_arns[SECRETS[0]], "kms_key_arn": w.ids["key"], "schedule": {"every_days": 30}},
            SECRETS[1]: {"function": "legacy", "arn": w.secret_arns[SECRETS[1]], "schedule": {"every_days": 30}},
            ALT_SECRET: {"function": "legacy-alt", "arn": w.secret_arns[ALT_SECRET], "schedule": {"every_days": 30},
                         "master_secret": {"arn": w.secret_arns[MASTER], "kms_key_arn": w.ids["master-key"]}},
        },
    }  # fmt: skip
    for path, value in overrides.items():
        node = data
        *head, last = path.split(".")
        for part in head:
            node = node[part.replace("~", ".")]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return data


def dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False)


def placeholder_messages(path: Any) -> list[str]:
    """validate's errors for a manifest discover wrote: every one must be a FILL-IN placeholder
    it left (naming discover --read-values), or the test fails; [] when it validates."""
    from generator import api

    result = api.validate(path)
    messages = [f"{'.'.join(map(str, d.path))}: {d.message}" for d in result.diagnostics if d.level.name == "ERROR"]
    assert all("replace the placeholder FILL-IN-" in m and "discover --read-values" in m for m in messages), messages
    return messages


def fill_in(text: str, strategy: str = "single_user", engine: str = "postgresql", master: str = "") -> str:
    """A discovered manifest with its FILL-IN placeholders replaced, as its user would."""
    out = text.replace("FILL-IN-STRATEGY", strategy).replace("FILL-IN-ENGINE", engine)
    return out.replace("FILL-IN-MASTER-SECRET-ARN", json.dumps(master)) if master else out
