"""``doctor --format sarif``: SARIF 2.1.0 for GitHub code scanning.

Built from the findings and the check registry only (:mod:`generator.live.registry`): one
rule per check with its title, help text and source page; one result per finding that is
not a pass, at the exact manifest field it is about (the line and column of ``window:``
for a window that differs, of ``kms_key_arn:`` for a key, else of the entry's key; stamped
on the finding by :mod:`generator.live.commands`), so that code scanning annotates the
manifest in the pull request.

Locations are rooted at the repository: each URI is relative to the git root holding the
manifest (or the working directory outside a repository), percent-encoded, with
``uriBaseId`` ``%SRCROOT%`` and the root's absolute ``file:`` URI in the run's
``originalUriBaseIds`` (SARIF 2.1.0, 3.4.4 and 3.14.14), so that a run from ``out/`` still
names ``infra/rotation.yaml``, never ``../rotation.yaml``. A manifest outside the root is an
absolute ``file:`` URI. A result's message starts with what it is about ("The secret
prod/orders/db in account ..."), never with its rule id: a common viewer takes a leading
rule id for the message's description.

Levels: ``fail`` -> ``error``, ``warn`` -> ``warning``, ``unknown`` -> ``note``
(https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/sarif-v2.1.0-errata01-os-complete.html#_Toc141790898).
GitHub reads ``properties.security-severity`` (a number as a string) to rank security
alerts, and ``partialFingerprints`` to follow an alert from one run to the next
(https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning).
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from generator import __version__

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"fail": "error", "warn": "warning", "unknown": "note"}
# GitHub's bands: critical >= 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9.
SECURITY_SEVERITY = {"CRITICAL": "9.5", "HIGH": "8.0", "MEDIUM": "5.5", "LOW": "3.0", "INFORMATIONAL": "0.0"}
HOME = "https://github.com/rotation-tf/rotation-tf"
ROOT_ID = "%SRCROOT%"  # the uriBaseId of the repository's root (CodeQL's name for it)


def fingerprint(f: Any) -> str:
    """Stable across runs: the account, region, subject and check (not the message)."""
    return hashlib.sha256(f"{f.account}\0{f.region}\0{f.subject}\0{f.check}".encode()).hexdigest()[:32]


def _no_links(text: str) -> str:
    """Plain SARIF message text in which no embedded link (``[text](target)``) can start: its
    brackets escaped as ``\\[`` and ``\\]``, which a viewer shows as the characters themselves,
    and every backslash doubled, so that none in the text escapes an escape (SARIF 2.1.0
    section 3.11.6, "Messages with embedded links":
    https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/sarif-v2.1.0-errata01-os-complete.html)."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def render(findings: list[Any]) -> dict[str, Any]:
    from generator.live import registry
    from generator.live.findings import evidence

    rules = [
        {
            "id": c.id,
            "name": "".join(part.capitalize() for part in c.id.split("-")),
            "shortDescription": {"text": c.title},
            "fullDescription": {"text": c.help},
            "help": {
                "text": f"{c.help} Source: {c.source}",
                "markdown": f"{c.help}\n\nSource: [{c.source}]({c.source})",
            },
            "helpUri": c.source,
            "defaultConfiguration": {"level": "error"},
            "properties": {
                "security-severity": SECURITY_SEVERITY.get(c.severity, "5.5"),
                "tags": ["security", "secrets-manager", "rotation", *c.controls],
            },
        }
        for c in registry.CHECKS
    ]
    index = {c.id: i for i, c in enumerate(registry.CHECKS)}
    roots: dict[str, str] = {}  # absolute root -> its uriBaseId
    for f in findings:
        if f.status in LEVELS and f.file and f.root and f.root not in roots:
            roots[f.root] = ROOT_ID if not roots else f"%SRCROOT{len(roots) + 1}%"
    results = []
    for f in findings:
        if f.status not in LEVELS:
            continue
        check = registry.BY_ID.get(f.check)
        kind = {registry.FUNCTION: "function", registry.SECRET: "secret"}.get(check.about if check else "", "")
        about = f"The {kind} {f.subject} in account {f.account}" if kind else f"The account {f.account}"
        text = f"{about} ({f.region}): {f.message}"
        if f.fix:
            text += f". Fix: {f.fix}"
        shown = evidence(f)
        if shown:
            text += "".join(f". {label.capitalize()}: {line}" for label, line in shown)
        if f.details is not None:  # words from a log: no embedded link (SARIF 3.11.6) may come of them
            text = _no_links(text)
        result: dict[str, Any] = {
            "ruleId": f.check,
            "level": LEVELS[f.status],
            "message": {"text": text},
            "partialFingerprints": {"rotationTf/v1": fingerprint(f)},
            "properties": {"account": f.account, "region": f.region, "subject": f.subject, "status": f.status},
        }
        if f.details is not None:
            result["properties"]["details"] = dict(f.details)
        if f.check in index:
            result["ruleIndex"] = index[f.check]
        if f.file:
            location: dict[str, Any] = {"artifactLocation": _artifact(f.file, roots.get(f.root))}
            if f.line:
                location["region"] = {"startLine": f.line} | ({"startColumn": f.column} if f.column else {})
            result["locations"] = [{"physicalLocation": location}]
        results.append(result)
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "rotation-tf", "version": __version__, "informationUri": HOME, "rules": rules}},
    }
    if roots:
        run["originalUriBaseIds"] = {ident: {"uri": _file_uri(root, folder=True)} for root, ident in roots.items()}
    run["results"] = results
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def _artifact(file: str, base: str | None) -> dict[str, str]:
    """A relative URI under its base id, or an absolute file: URI (a manifest outside the root)."""
    if file.startswith("/") or file[1:3] == ":/":  # POSIX, or a Windows drive
        return {"uri": _file_uri(file)}
    out = {"uri": quote(file, safe="/")}
    if base:
        out["uriBaseId"] = base
    return out


def _file_uri(path: str, folder: bool = False) -> str:
    """``file:`` URI of an absolute POSIX path (a folder's ends in ``/``, as SARIF wants of a base)."""
    text = quote(path if path.startswith("/") else f"/{path}", safe="/:")
    return f"file://{text}{'/' if folder and not text.endswith('/') else ''}"
