"""The IAM actions ``doctor`` and ``discover`` call, as a policy document for the caller.

All of them are read-only. ``secretsmanager:GetSecretValue`` (and ``kms:Decrypt`` for
secrets under a customer managed key, which Secrets Manager calls on the caller's behalf)
are needed only with ``--read-values``; leave them out and the commands never read a value.
"""

from __future__ import annotations

from typing import Any

DOCTOR = (
    "sts:GetCallerIdentity",
    "lambda:GetFunctionConfiguration",
    "lambda:GetPolicy",
    "iam:GetRole",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:SimulatePrincipalPolicy",
    "secretsmanager:ListSecrets",
    "secretsmanager:DescribeSecret",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeRouteTables",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeNatGateways",
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusters",
    "redshift:DescribeClusters",
    # last-rotation: a failing secret's rotation function's log (one paged call per failing
    # secret, none for a healthy one), and CloudTrail's RotationFailed and RotationAbandoned
    # events (once a run; optional: without it doctor judges from the versions and says so)
    "logs:FilterLogEvents",
    "cloudtrail:LookupEvents",
)
DISCOVER = (
    "sts:GetCallerIdentity",
    "secretsmanager:ListSecrets",
    "lambda:GetFunction",
    "lambda:GetPolicy",
    "iam:ListRolePolicies",
)
READ_VALUES = ("secretsmanager:GetSecretValue", "kms:Decrypt")
# doctor --to-security-hub only: the one write, in the account that imports the findings, and
# the read of what earlier runs sent there (to archive what no longer holds).
SECURITY_HUB = ("securityhub:BatchImportFindings", "securityhub:GetFindings")

COMMANDS = {"doctor": DOCTOR, "discover": DISCOVER}


def actions(command: str, read_values: bool = False) -> tuple[str, ...]:
    base = DOCTOR + DISCOVER if command == "all" else COMMANDS[command]
    return tuple(sorted(set(base + (READ_VALUES if read_values else ()))))


def policy(command: str, read_values: bool = False, security_hub: bool = False) -> dict[str, Any]:
    """An identity policy that lets the caller run ``command``. Resource ``*``: every action
    here is a read, and most of them (the Describe and List calls) have no resource type."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "RotationTfReadOnly",
            "Effect": "Allow",
            "Action": [a for a in actions(command) if a not in READ_VALUES],
            "Resource": "*",
        }
    ]
    if read_values:
        statements.append(
            {
                "Sid": "RotationTfReadValues",
                "Effect": "Allow",
                "Action": list(READ_VALUES),
                "Resource": "*",
            }
        )
    if security_hub:
        statements.append(
            {
                "Sid": "RotationTfImportFindings",
                "Effect": "Allow",
                "Action": list(SECURITY_HUB),
                "Resource": "*",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def cross_account(
    command: str, role_name: str, read_values: bool = False, security_hub: bool = False
) -> dict[str, Any]:
    """For ``--assume-role NAME``: ``role`` is the policy of the read-only role that every
    account holds (:func:`policy`), ``caller`` what the caller's own identity needs: to assume
    that role in any account, and to list the organization's accounts (``discover
    --organization``, from the management account or a delegated administrator). The role's
    trust policy, which names the caller, is in docs/organization.md. The wildcards stand for
    any partition and account (IAM allows them in every ARN segment,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html)."""
    caller: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RotationTfAssumeReadOnlyRole",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": f"arn:*:iam::*:role/{role_name}",
            },
            {
                "Sid": "RotationTfListAccounts",
                "Effect": "Allow",
                "Action": ["organizations:ListAccounts", "sts:GetCallerIdentity"],
                "Resource": "*",
            },
        ],
    }
    return {"role": policy(command, read_values, security_hub), "caller": caller}
