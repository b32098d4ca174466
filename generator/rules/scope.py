"""What every rule sees (:class:`Scope`), and the value rules several concerns share:
ARNs, KMS keys, descriptions and tags. Each rule returns its diagnostics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from generator import aws, runtimes
from generator.errors import Diagnostic, Level, Path
from generator.manifest import ACCOUNT_PLACEHOLDER, PLACEHOLDERS, Head, placeholder_message
from generator.source import Source


@dataclass(frozen=True)
class Scope:
    """The manifest being checked. ``head`` may be partial (manifest.Head): a required field
    that is missing or had a shape error is None, and the path of every value with a shape
    error is in ``dropped`` (already reported)."""

    source: Source
    head: Head
    partition: str | None  # None when the region or partition is bad: ARN rules then skip it
    raw_function_keys: frozenset[str] | None  # None when `functions` is not a mapping
    dropped: frozenset[tuple[Any, ...]]
    today: date  # what runtime deprecation warnings are relative to

    def err(self, path: tuple[Any, ...], message: str) -> Diagnostic:
        return self.source.diag(path, message)

    def warn(self, path: tuple[Any, ...], message: str) -> Diagnostic:
        return self.source.diag(path, message, level=Level.WARNING)

    def is_dropped(self, path: tuple[Any, ...]) -> bool:
        """Whether ``path`` or a value inside it had a shape error."""
        n = len(path)
        return any(d[:n] == path for d in self.dropped)

    @property
    def ready(self) -> bool:
        """Whether ARNs can be compared with the manifest's partition and region."""
        return self.partition is not None and self.head.region is not None

    @property
    def manifest_tags(self) -> dict[str, str]:
        return self.head.tags


def scope(
    source: Source, head: Head, raw_function_keys: frozenset[str] | None, dropped: frozenset[tuple[Any, ...]]
) -> Scope:
    partition = None
    if head.region is not None and head.region in aws.REGIONS:
        implied = aws.partition_of(head.region)
        if (head.partition is None or head.partition == implied) and not any(d[:1] == ("partition",) for d in dropped):
            partition = implied
    return Scope(source, head, partition, raw_function_keys, dropped, runtimes.today())


def arn(sc: Scope, path: Path, text: str, service: str, what: str) -> tuple[aws.Arn | None, list[Diagnostic]]:
    """``text`` parsed as an ARN of ``service`` in the manifest's partition and region; None
    (with the reason) when it is not one."""
    parsed = aws.parse_arn(text)
    if parsed is None and ACCOUNT_PLACEHOLDER in text:
        return None, [sc.err(path, f"replace {ACCOUNT_PLACEHOLDER} in this ARN with your 12-digit AWS account id")]
    if parsed is None and text in PLACEHOLDERS:  # discover's FILL-IN-MASTER-SECRET-ARN
        return None, [sc.err(path, placeholder_message(text))]
    if parsed is None:
        return None, [sc.err(path, _bare(sc, text, service) or f"{text!r} is not a valid ARN")]
    if parsed.service != service:
        return None, [sc.err(path, f"{text!r} is a {parsed.service} ARN; expected {what} ({service})")]
    if not sc.ready:
        return parsed, []
    if parsed.partition != sc.partition:
        return None, [
            sc.err(path, f"{text!r} is in partition {parsed.partition!r}, but the manifest's is {sc.partition!r}")
        ]
    if parsed.region != sc.head.region:
        return None, [
            sc.err(path, f"{text!r} is in region {parsed.region!r}, but the manifest's region is {sc.head.region!r}")
        ]
    return parsed, []


def _bare(sc: Scope, text: str, service: str) -> str | None:
    """What a value that is not an ARN probably means: a bare KMS key id or function name is
    the ARN of that key or function in this manifest's partition, region and account."""
    if service == "kms" and text.startswith("alias/"):
        return f"{text!r} is an alias name, not an ARN; IAM grants need the key ARN (arn:...:key/<key id>)"
    if service == "kms" and aws.KEY_RESOURCE_RE.match(f"key/{text}"):
        what, resource = "a KMS key id", f"key/{text}"
    elif service == "lambda" and (m := aws.LAMBDA_RESOURCE_RE.match(f"function:{text}")) and not m.group(2):
        what, resource = "a function name", f"function:{text}"
    else:
        return None
    if sc.ready and sc.head.account_id is not None:
        assert sc.partition is not None and sc.head.region is not None
        full = str(aws.Arn(sc.partition, service, sc.head.region, sc.head.account_id, resource))
        return f"{text!r} is {what}, not an ARN; did you mean {full!r} (in this manifest's account and region)?"
    return f"{text!r} is {what}, not an ARN; give its ARN, arn:<partition>:{service}:<region>:<account>:{resource}"


def missing_suffix(text: str, name: str) -> str:
    """A secret ARN that ends with the secret's name: Secrets Manager appends a hyphen and six
    random characters to the name in every secret's ARN
    (https://docs.aws.amazon.com/secretsmanager/latest/userguide/whats-in-a-secret.html), so
    this names no secret."""
    return (
        f"{text!r} lacks the six random characters that Secrets Manager appends to the secret's name in its ARN "
        f"(…:secret:{name}-AbCdEf)"
    )


def same_account(sc: Scope, path: Path, parsed: aws.Arn) -> list[Diagnostic]:
    if sc.ready and sc.head.account_id is not None and parsed.account != sc.head.account_id:
        return [
            sc.err(
                path,
                f"{str(parsed)!r} is in account {parsed.account}, but the manifest's account_id is {sc.head.account_id}",
            )
        ]
    return []


def secret_arn(sc: Scope, path: Path, text: str, name: str) -> list[Diagnostic]:
    """A secret's own ARN: a secret ARN, of the secret named ``name``, in the account."""
    parsed, out = arn(sc, path, text, "secretsmanager", "a Secrets Manager secret")
    if parsed is not None:
        m = aws.SECRET_RESOURCE_RE.match(parsed.resource)
        if parsed.resource == f"secret:{name}":  # before m: a name may itself end in -<6 characters>
            out.append(
                sc.err(
                    path,
                    missing_suffix(text, name) + "; leave arn out and the module looks the secret up by its name "
                    "(data.aws_secretsmanager_secret) and grants on AWS's partial ARN, name-??????",
                )
            )
        elif not m:
            out.append(sc.err(path, f"{text!r} is not a secret ARN (…:secret:<name>-<6 characters>)"))
        elif m.group(1) != name:
            out.append(sc.err(path, f"{text!r} is the ARN of secret {m.group(1)!r}, not {name!r}"))
        else:
            out += same_account(sc, path, parsed)
    return out


def kms_key(sc: Scope, path: Path, text: str) -> list[Diagnostic]:
    parsed, out = arn(sc, path, text, "kms", "a KMS key")
    if parsed is None:
        return out
    if parsed.resource.startswith("alias/"):
        out.append(sc.err(path, f"{text!r} is an alias; IAM grants need the key ARN (arn:...:key/<key id>)"))
    elif not aws.KEY_RESOURCE_RE.match(parsed.resource):
        out.append(sc.err(path, f"{text!r} is not a KMS key ARN (arn:...:key/<key id>)"))
    return out


def description(sc: Scope, path: Path, text: str) -> list[Diagnostic]:
    out = []
    size = len(text.encode("utf-8"))
    if size > aws.DESCRIPTION_MAX_BYTES:
        out.append(sc.err(path, f"is {size} bytes long in UTF-8; Lambda allows {aws.DESCRIPTION_MAX_BYTES}"))
    if not aws.DESCRIPTION_RE.match(text):
        bad = sorted({c for c in text if not aws.DESCRIPTION_CHAR_RE.match(c)})
        shown = " ".join(f"U+{ord(c):04X}" for c in bad[:10])
        out.append(
            sc.err(
                path,
                f"holds characters that IAM role descriptions do not allow ({shown}); "
                "use tab, newline, printable ASCII or Latin-1 letters",
            )
        )
    return out


def tags(sc: Scope, path: Path, values: dict[str, str], merged_over: dict[str, str] | None = None) -> list[Diagnostic]:
    """Tag keys and values as IAM, Lambda and Secrets Manager accept them; with
    ``merged_over`` (the manifest's tags), the merged set must fit AWS's 50 per resource."""
    out = []
    for key, value in values.items():
        p = path + (key,)
        if not key or len(key) > aws.TAG_KEY_MAX or not aws.TAG_CHARS_RE.match(key):
            out.append(sc.err(p, f"tag key {key!r} must be 1-{aws.TAG_KEY_MAX} letters, digits, spaces or _.:/=+-@"))
        elif key.lower().startswith("aws:"):
            out.append(sc.err(p, f"tag key {key!r} uses the reserved prefix 'aws:'"))
        if len(value) > aws.TAG_VALUE_MAX or not aws.TAG_CHARS_RE.match(value):
            out.append(
                sc.err(p, f"tag value {value!r} must be 0-{aws.TAG_VALUE_MAX} letters, digits, spaces or _.:/=+-@")
            )
    total = len({**(merged_over or {}), **values})
    if total > aws.TAGS_MAX:
        out.append(
            sc.err(path, f"{total} tags once merged over the manifest's; AWS allows {aws.TAGS_MAX} per resource")
        )
    return out
