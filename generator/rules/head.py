"""Rules on the manifest's top level: region and partition, name prefix, permissions
boundary, tags."""

from __future__ import annotations

from generator import aws
from generator.errors import Diagnostic
from generator.rules.scope import Scope, tags


def check(sc: Scope) -> list[Diagnostic]:
    m = sc.head
    out = []
    if m.region is not None:
        if m.region not in aws.REGIONS:
            out.append(sc.err(("region",), aws.not_a_region(m.region)))
        else:
            implied = aws.partition_of(m.region)
            if m.partition is not None and m.partition != implied:
                out.append(
                    sc.err(("partition",), f"region {m.region} is in partition {implied!r}, not {m.partition!r}")
                )
    if m.name_prefix and not aws.IAM_NAME_RE.match(m.name_prefix):
        out.append(sc.err(("name_prefix",), f"{m.name_prefix!r} may only hold letters, digits and +=,.@_-"))
    elif m.name_prefix and not aws.STATEMENT_ID_RE.match(m.name_prefix):
        out.append(
            sc.err(
                ("name_prefix",),
                f"{m.name_prefix!r} is part of each Lambda permission's statement id, which may only hold "
                "letters, digits, '-' and '_'",
            )
        )
    if m.roles.permissions_boundary is not None:
        arn = aws.parse_arn(m.roles.permissions_boundary)
        path = ("roles", "permissions_boundary")
        if arn is None or arn.service != "iam" or arn.region or not arn.resource.startswith("policy/"):
            out.append(
                sc.err(
                    path,
                    f"{m.roles.permissions_boundary!r} is not an IAM managed policy ARN (arn:aws:iam::<account>:policy/<name>)",
                )
            )
        elif sc.partition is not None and arn.partition != sc.partition:
            out.append(
                sc.err(
                    path, f"{m.roles.permissions_boundary!r} is in partition {arn.partition!r}, not {sc.partition!r}"
                )
            )
    out += tags(sc, ("tags",), m.tags)
    return out
