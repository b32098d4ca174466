"""The one home of every ``doctor`` check's metadata: its id, what it is about, title,
severity, help text, the AWS page its rule comes from, the Security Hub control it matches
(if one does) and the ASFF resource type of its subject.

The renderers (text and JSON today; SARIF and ASFF read ``title``, ``help``, ``severity``,
``controls`` and ``resource_type``) and the order of findings read this table; the checks
themselves live in :mod:`generator.live.checks`. Adding a check: add a row here and its
function there.

Security Hub's Secrets Manager controls
(https://docs.aws.amazon.com/securityhub/latest/userguide/secretsmanager-controls.html):
SecretsManager.1 "secrets should have automatic rotation enabled" (``rotation``),
SecretsManager.2 "secrets configured with automatic rotation should rotate successfully"
(``overdue``: not rotated within the schedule; ``pending``: a rotation that did not
finish; ``last-rotation``: why it failed), SecretsManager.4 "secrets should be rotated within a specified number of days"
(``overdue``).
"""

from __future__ import annotations

from dataclasses import dataclass

FUNCTION, SECRET, ACCOUNT = "function", "secret", "account"

# ASFF resource types (https://docs.aws.amazon.com/securityhub/latest/userguide/asff-resources.html)
ASFF_SECRET = "AwsSecretsManagerSecret"
ASFF_FUNCTION = "AwsLambdaFunction"
ASFF_ROLE = "AwsIamRole"
ASFF_KEY = "AwsKmsKey"
ASFF_ACCOUNT = "AwsAccount"

_SM = "https://docs.aws.amazon.com/secretsmanager/latest/userguide"
TROUBLESHOOT = f"{_SM}/troubleshoot_rotation.html"


@dataclass(frozen=True)
class Check:
    id: str
    about: str  # FUNCTION, SECRET or ACCOUNT: what a finding's subject is
    title: str
    severity: str  # ASFF severity label of a failure: CRITICAL, HIGH, MEDIUM, LOW
    help: str
    source: str  # the AWS page the rule comes from
    resource_type: str  # the ASFF resource type the finding is about
    controls: tuple[str, ...] = ()  # Security Hub controls that match


CHECKS: tuple[Check, ...] = (
    Check("account", ACCOUNT, "The credentials are for the manifest's account", "HIGH",
          "doctor reads the account the manifest describes; other credentials would judge another account.",
          "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html", ASFF_ACCOUNT),
    # per function
    Check("function", FUNCTION, "The rotation function exists", "HIGH",
          "The function the manifest names (existing_function_arn) must exist; one the module creates may not, before apply.",
          f"{_SM}/rotate-secrets_lambda.html", ASFF_FUNCTION),
    Check("runtime", FUNCTION, "The function's runtime is not deprecated", "MEDIUM",
          "Lambda stops patching a deprecated runtime and later blocks updating the function.",
          "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html", ASFF_FUNCTION),
    Check("vpc-config", FUNCTION, "The function's VPC is the manifest's", "MEDIUM",
          "The module grants network-interface actions only when the manifest gives the function's VPC.",
          "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html", ASFF_FUNCTION),
    Check("network", FUNCTION, "The function reaches Secrets Manager", "HIGH",
          "From its subnets: an interface endpoint with private DNS whose security groups admit 443 from the "
          "function's, or a 0.0.0.0/0 route to a public NAT gateway. A function in a VPC has no public IP address.",
          f"{_SM}/vpc-endpoint-overview.html", ASFF_FUNCTION),
    Check("egress", FUNCTION, "The function's security groups allow outbound 443", "HIGH",
          "Without outbound TCP 443 the function cannot call Secrets Manager; rotation times out.",
          "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html", ASFF_FUNCTION),
    Check("permission", FUNCTION, "Secrets Manager may invoke the function, only for this account", "HIGH",
          "Every statement letting secretsmanager.amazonaws.com invoke the function carries aws:SourceAccount "
          "(the confused deputy).",
          f"{_SM}/rotating-secrets-required-permissions-function.html", ASFF_FUNCTION),
    Check("role", FUNCTION, "The function's real execution role exists and is the manifest's", "HIGH",
          "The module's policy goes on the role the function runs as; it must exist and match execution_role_arn.",
          "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html", ASFF_ROLE),
    # per secret
    Check("secret", SECRET, "The secret exists", "HIGH",
          "The secret the manifest names exists in the region (a secret the module creates may not, before apply).",
          f"{_SM}/manage_search-secret.html", ASFF_SECRET),
    Check("kms-key", SECRET, "The secret's KMS key is the manifest's", "MEDIUM",
          "The module grants kms:Decrypt and kms:GenerateDataKey on the manifest's kms_key_arn only.",
          f"{_SM}/security-encryption.html", ASFF_KEY),
    Check("key-state", SECRET, "The secret's KMS key is enabled", "CRITICAL",
          "A disabled key, or one pending deletion, cannot decrypt the secret.",
          "https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html", ASFF_KEY),
    Check("key-policy", SECRET, "The key policy lets the function's role use the key", "HIGH",
          "The key policy delegates to IAM (the account's root principal) or names the function's role.",
          "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html", ASFF_KEY),
    Check("master-secret", SECRET, "The master secret exists and its key lets the role decrypt", "HIGH",
          "Alternating users: the function reads the master secret, so it must exist with the manifest's key.",
          f"{_SM}/rotating-secrets_strategies.html", ASFF_SECRET),
    Check("grants", SECRET, "The function's real role may rotate the secret", "HIGH",
          "The role's inline, attached and boundary policies allow every request the rotation makes for the secret "
          "on its path, the module's own list: on the secret, its key, its master secret and the master's key and "
          "database, and a replica host's instance or cluster.",
          f"{_SM}/rotating-secrets-required-permissions-function.html", ASFF_ROLE),
    Check("grants-judges", SECRET, "IAM's policy simulator and doctor's evaluator agree on the grants", "LOW",
          "Where the caller may call iam:SimulatePrincipalPolicy, grants follows IAM's answer; doctor's own evaluator "
          "judges too, and a disagreement is reported with both answers.",
          "https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html", ASFF_ROLE),
    Check("rotation", SECRET, "Rotation is on, with the manifest's function", "MEDIUM",
          "Rotation is enabled and points at the manifest's function.",
          f"{_SM}/rotating-secrets.html", ASFF_SECRET, ("SecretsManager.1",)),
    Check("schedule", SECRET, "The rotation schedule is the manifest's", "LOW",
          "The rotation rules (days or expression, and window) are the manifest's schedule.",
          f"{_SM}/rotate-secrets_schedule.html", ASFF_SECRET),
    Check("overdue", SECRET, "The secret was rotated within its schedule", "HIGH",
          "LastRotatedDate (or, never rotated, CreatedDate) is within the schedule's period and window.",
          TROUBLESHOOT, ASFF_SECRET, ("SecretsManager.2", "SecretsManager.4")),
    Check("pending", SECRET, "No rotation is left unfinished", "HIGH",
          "A version holding AWSPENDING without AWSCURRENT makes the next rotation fail.",
          TROUBLESHOOT, ASFF_SECRET, ("SecretsManager.2",)),
    Check("last-rotation", SECRET, "The last rotation did not fail, or why it did", "HIGH",
          "For a secret whose rotation shows a sign of failure (a version left in AWSPENDING, overdue, its next "
          "rotation past due, a RotationFailed in CloudTrail), the rotation function's own log around it: the step "
          "that failed and when, the cause and the fix from AWS's code, the log line and the request id.",
          TROUBLESHOOT, ASFF_SECRET, ("SecretsManager.2",)),
    Check("secret-type", SECRET, "A managed external secret has the manifest's type", "HIGH",
          "external: Secrets Manager sets a secret's type at CreateSecret; rotation with a partner needs the type the "
          "manifest names.",
          f"{_SM}/mes-partners.html", ASFF_SECRET),
    Check("external-trust", SECRET, "Secrets Manager may assume the external rotation role, only for this account and these secrets",
          "HIGH",
          "external: the role trusts secretsmanager.amazonaws.com for this secret, guarded by aws:SourceAccount and "
          "aws:SourceArn (the confused deputy).",
          f"{_SM}/mes-security.html", ASFF_ROLE),
    Check("external-grants", SECRET, "The external rotation role may rotate the secret", "HIGH",
          "external: the role's inline, attached and boundary policies allow the rotation actions on the secret, "
          "its key and its admin secret.",
          f"{_SM}/mes-security.html", ASFF_ROLE),
    Check("external-rotation", SECRET, "Rotation is on with the manifest's role and metadata", "MEDIUM",
          "external: rotation is enabled with ExternalSecretRotationRoleArn the module's role, the manifest's "
          "metadata, and no Lambda function.",
          f"{_SM}/mes-partners.html", ASFF_SECRET, ("SecretsManager.1",)),
    Check("database", SECRET, "The database admits the function on its port", "HIGH",
          "The security groups of the RDS or Redshift endpoint the secret names admit the function's groups.",
          TROUBLESHOOT, ASFF_SECRET),
    Check("value", SECRET, "The secret's value has what the rotation function reads", "MEDIUM",
          "--read-values: the value is JSON with the keys the engine's function needs; it is never shown.",
          f"{_SM}/reference_secret_json_structure.html", ASFF_SECRET),
    Check("replica", SECRET, "The secret's host is its master's, or the manifest says it is a replica", "HIGH",
          "--read-values: AWS's alternating-users function refuses a host other than the master's unless RDS says it "
          "is a read replica or an Aurora reader of the master's database, which the role may ask only where "
          "replica_of_master names the instance or cluster.",
          f"{_SM}/rotating-secrets_strategies.html", ASFF_SECRET),
)  # fmt: skip

BY_ID = {c.id: c for c in CHECKS}
FUNCTION_CHECKS = tuple(c.id for c in CHECKS if c.about == FUNCTION)
SECRET_CHECKS = tuple(c.id for c in CHECKS if c.about == SECRET)
ORDER = {c.id: i for i, c in enumerate(CHECKS)}  # the order of findings of one subject
