"""Read generated modules back with python-hcl2 (8.x) and extract the facts users rely on.

python-hcl2 8 keeps the quotes and escapes of string literals and returns ``jsonencode(...)``
arguments as expression text. :func:`decode_string` is an independent decoder of HCL
quoted strings (it does not share code with the generator's escaper), and
:func:`expr_value` turns an object/tuple expression back into Python data.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hcl2


class TemplateString(ValueError):
    """The literal holds an interpolation, so it is an expression, not a constant."""


_ESC = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def decode_string(raw: str) -> str:
    """The value of an HCL quoted-string literal, given with its quotes."""
    assert raw.startswith('"') and raw.endswith('"') and len(raw) >= 2, raw
    body = raw[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            nxt = body[i + 1]
            if nxt in _ESC:
                out.append(_ESC[nxt])
                i += 2
            elif nxt == "u":
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
            elif nxt == "U":
                out.append(chr(int(body[i + 2 : i + 10], 16)))
                i += 10
            else:
                raise ValueError(f"bad escape \\{nxt} in {raw!r}")
        elif body.startswith("$${", i) or body.startswith("%%{", i):
            out.append(body[i] + "{")
            i += 3
        elif body.startswith("${", i) or body.startswith("%{", i):
            raise TemplateString(raw)
        else:
            out.append(c)
            i += 1
    return "".join(out)


def value(v: Any) -> Any:
    """Decode a python-hcl2 value: quoted strings become plain strings, recursively."""
    if isinstance(v, str):
        if v.startswith('"') and v.endswith('"'):
            try:
                return decode_string(v)
            except TemplateString:
                return Expr(v)
        if v.startswith("${") and v.endswith("}"):
            return Expr(v[2:-1])
        return v
    if isinstance(v, list):
        return [value(x) for x in v]
    if isinstance(v, dict):
        return {
            (decode_string(k) if k.startswith('"') else k): value(x) for k, x in v.items() if not k.startswith("__")
        }
    return v


class Expr(str):
    """An HCL expression that is not a literal (a reference or a function call)."""


def expr_value(expr: str) -> Any:
    """Evaluate the literal part of ``jsonencode({...})`` (or a bare object) into Python data."""
    m = re.fullmatch(r"jsonencode\((.*)\)", expr, re.S)
    inner = m.group(1) if m else expr
    return value(hcl2.loads(f"x = {inner}\n")["x"])


def load_file(path: Path) -> dict[str, Any]:
    return hcl2.loads(path.read_text(encoding="utf-8"))


def blocks(parsed: dict[str, Any], kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    """``resource``/``data`` blocks as {(type, name): body} with decoded values."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in parsed.get(kind, []):
        for rtype, named in entry.items():
            for name, body in named.items():
                out[(decode_string(rtype), decode_string(name))] = value(body)
    return out


def load_module(module_dir: Path) -> dict[str, Any]:
    """Every .tf of a module parsed and merged: resources, data, locals, outputs."""
    result: dict[str, Any] = {"resource": {}, "data": {}, "ephemeral": {}, "locals": {}, "output": {}, "terraform": []}
    for path in sorted(module_dir.glob("*.tf")):
        parsed = load_file(path)
        result["resource"].update(blocks(parsed, "resource"))
        result["data"].update(blocks(parsed, "data"))
        result["ephemeral"].update(blocks(parsed, "ephemeral"))
        for loc in parsed.get("locals", []):
            result["locals"].update(value(loc))
        for out in parsed.get("output", []):
            for name, body in out.items():
                result["output"][decode_string(name) if name.startswith('"') else name] = value(body)
        result["terraform"].extend(parsed.get("terraform", []))
    return result


def resources(module: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {name: body for (t, name), body in module["resource"].items() if t == rtype}


def role_policy_statements(module: dict[str, Any], key: str) -> list[dict[str, Any]]:
    body = resources(module, "aws_iam_role_policy")[key]
    return expr_value(body["policy"])["Statement"]


def normalise(statement: dict[str, Any]) -> tuple:
    """A statement as a comparable value: Sid dropped, single values as sorted tuples."""

    def many(x: Any) -> tuple:
        return tuple(sorted([x] if isinstance(x, str) else x))

    cond = statement.get("Condition") or {}
    cond_items = tuple(sorted((op, k, many(v)) for op, kv in cond.items() for k, v in kv.items()))
    return (statement.get("Effect", "Allow"), many(statement["Action"]), many(statement["Resource"]), cond_items)
