"""``doctor --format asff``: the AWS Security Finding Format, and ``--to-security-hub``.

Built from the findings and the check registry only (:mod:`generator.live.registry`). One
finding per check that fails or could not run (``unknown``); passes and warnings are left
out. Each carries:

* ``AwsAccountId`` and ``Region`` of the audited account (with ``--security-hub-account``,
  the account that imports it: BatchImportFindings takes a default-product finding only
  from the account named in ``AwsAccountId``,
  https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html;
  the audited account is then in ``ProductFields`` and in the resources' ARNs);
* ``Resources``: the subject's ARN, typed ``AwsSecretsManagerSecret``, ``AwsLambdaFunction``,
  ``AwsIamRole`` or ``AwsKmsKey`` as the registry says for the check
  (https://docs.aws.amazon.com/securityhub/latest/userguide/asff-resources.html);
* ``Severity``: the check's severity for a failure, ``INFORMATIONAL`` for ``unknown`` (a
  check that could not look has not found anything);
* ``Compliance``: ``FAILED`` or ``NOT_AVAILABLE``, and ``RelatedRequirements`` naming the
  Security Hub controls that match (SecretsManager.1, .2, .4);
* a stable ``Id`` (the account, region, check and subject), so that a re-run updates the
  finding in Security Hub rather than adding another;
* ``ProductFields["rotation-tf/module"]``: the manifest's module, so that a later run of the
  same manifest knows which of the findings it sent before are its own to archive
  (:func:`archived`, :mod:`generator.live.securityhub`).

Required fields: https://docs.aws.amazon.com/securityhub/latest/userguide/asff-required-attributes.html.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from generator import aws

SCHEMA_VERSION = "2018-10-08"
TYPE = "Software and Configuration Checks/AWS Security Best Practices"
STATUS = {"fail": "FAILED", "unknown": "NOT_AVAILABLE"}
BATCH = 100  # BatchImportFindings takes at most 100 findings a call


def finding_id(f: Any) -> str:
    return f"rotation-tf/{f.account}/{f.region}/{f.check}/{f.subject}"


# What a finding's details carry into ProductFields (a map of strings: at most 50 pairs, keys of
# 128 characters; https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_AwsSecurityFinding.html):
# last-rotation's step, time, cause, fix, log line and where to find it.
DETAIL_FIELDS = ("step", "time", "cause_id", "cause", "fix", "log_line", "request_id", "log_group", "log_stream",
                 "attribution", "failures", "first_failure", "site")  # fmt: skip


def _detail_fields(f: Any) -> dict[str, str]:
    d = f.details or {}
    out = {}
    for key in DETAIL_FIELDS:
        value = d.get(key)
        if value not in (None, "", [], ()):
            text = str(value)
            out[f"rotation-tf/{key.replace('_', '-')}"] = text if len(text) <= 1024 else text[:1021] + "..."
    return out


def render(findings: list[Any], now: datetime, *, hub_account: str | None = None) -> list[dict[str, Any]]:
    from generator.live import registry
    from generator.live.findings import evidence

    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    out = []
    for f in findings:
        if f.status not in STATUS:
            continue
        check = registry.BY_ID.get(f.check)
        partition = aws.partition_of(f.region)
        account = hub_account or f.account
        severity = check.severity if check is not None and f.status == "fail" else "INFORMATIONAL"
        resource = f.resource or f"arn:{partition}:iam::{f.account}:root"
        resource_type = _type_of(resource, check.resource_type if check is not None else "Other")
        text = f.message + "".join(f" {label.capitalize()}: {line}." for label, line in evidence(f))
        text = text if len(text) <= 1024 else text[:1021] + "..."
        finding: dict[str, Any] = {
            "SchemaVersion": SCHEMA_VERSION,
            "Id": finding_id(f),
            "ProductArn": f"arn:{partition}:securityhub:{f.region}:{account}:product/{account}/default",
            "GeneratorId": f"rotation-tf/{f.check}",
            "AwsAccountId": account,
            "Region": f.region,
            "Types": [TYPE],
            "CreatedAt": stamp,
            "UpdatedAt": stamp,
            "Severity": {"Label": severity},
            "FindingProviderFields": {"Severity": {"Label": severity}, "Types": [TYPE]},
            "Title": (check.title if check is not None else f.check)[:256],
            "Description": text,
            "Resources": [
                {
                    "Type": resource_type,
                    "Id": resource,
                    "Partition": partition,
                    "Region": f.region,
                }
            ],
            "Compliance": {"Status": STATUS[f.status]},
            "RecordState": "ACTIVE",
            "ProductFields": {
                "rotation-tf/account": f.account,
                "rotation-tf/subject": f.subject,
                "rotation-tf/check": f.check,
                "rotation-tf/status": f.status,
            },
        }
        if check is not None and check.controls:
            finding["Compliance"]["RelatedRequirements"] = list(check.controls)
        if f.fix or check is not None:
            recommendation: dict[str, str] = {"Text": (f.fix or check.help if check else f.fix)[:512]}
            if check is not None:
                recommendation["Url"] = check.source
            finding["Remediation"] = {"Recommendation": recommendation}
        for key, value in _detail_fields(f).items():
            finding["ProductFields"][key] = value
        if f.module:
            finding["ProductFields"]["rotation-tf/module"] = f.module
        if f.file:
            finding["ProductFields"]["rotation-tf/manifest"] = f"{f.file}:{f.line}" if f.line else f.file
        out.append(finding)
    return out


# What a finding that rotation-tf sent carries back into BatchImportFindings when a later run
# archives it: the fields render() writes. GetFindings returns more (ProductName, Workflow,
# ProcessedAt, ...), which are Security Hub's own and not the provider's to send.
_OWN_FIELDS = (
    "SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Region", "Types", "CreatedAt",
    "Severity", "FindingProviderFields", "Title", "Description", "Resources", "Compliance", "ProductFields",
    "Remediation",
)  # fmt: skip
PASSED_NOW = "passes now"
GONE = "is no longer in the manifest"


def archived(previous: dict[str, Any], now: datetime, why: str) -> dict[str, Any]:
    """An earlier finding of rotation-tf's (as GetFindings returns it) updated to say that it
    no longer holds: ``Compliance.Status`` PASSED and ``RecordState`` ARCHIVED, the two fields
    a finding provider updates with BatchImportFindings (the same ``Id`` and ``ProductArn``
    update the finding in place; ``Workflow`` is the customer's and cannot be set by an
    import once the finding exists:
    https://docs.aws.amazon.com/securityhub/latest/userguide/finding-update-batchimportfindings.html).
    ``why``: :data:`PASSED_NOW` or :data:`GONE`."""
    out = {k: previous[k] for k in _OWN_FIELDS if k in previous}
    compliance = dict(out.get("Compliance") or {})
    compliance["Status"] = "PASSED"
    out["Compliance"] = compliance
    out["RecordState"] = "ARCHIVED"
    out["UpdatedAt"] = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    fields = dict(out.get("ProductFields") or {})
    subject = fields.get("rotation-tf/subject", "the subject")
    fields["rotation-tf/status"] = "pass" if why == PASSED_NOW else "gone"
    out["ProductFields"] = fields
    out["Description"] = f"resolved: {fields.get('rotation-tf/check', 'the check')} of {subject} {why}"[:1024]
    return out


def _type_of(arn: str, default: str) -> str:
    """The ASFF resource type of an ARN (the ARN decides where the registry's type does not fit,
    for example a function whose role the manifest does not name)."""
    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    if service == "iam":
        return "AwsIamRole" if ":role/" in arn else "AwsAccount" if arn.endswith(":root") else default
    return {"lambda": "AwsLambdaFunction", "secretsmanager": "AwsSecretsManagerSecret", "kms": "AwsKmsKey"}.get(
        service, default
    )


def batches(items: list[Any], size: int = BATCH) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
