"""An AWS account written by an attacker (issue 26 §2), for ``discover`` and what follows it.

:func:`build` creates it through boto3 (moto's in-process mock or a moto server: anything
with ``client(service)``). Every field discover reads, and some it must not, holds strings
chosen to break YAML, HCL, Markdown and terminals (:data:`CLASSES`). moto accepts more than
AWS does, which is the attacker's best case; where AWS itself forbids a character it is said
beside the field:

* secret names: AWS allows only ASCII letters, digits and ``/_+=.@-``
  (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html#SecretsManager-CreateSecret-request-Name);
  rotation-tf's validation holds manifests to that, so each hostile rotated secret is left
  out with the reason, in a comment;
* Lambda function names: ``[a-zA-Z0-9-_]``, 1-64
  (https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html#lambda-CreateFunction-request-FunctionName);
* IAM role paths: ``/`` or ``/`` + printable ASCII (U+0021-U+007E) + ``/``
  (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html#API_CreateRole_RequestParameters):
  backticks, ``|``, ``${``, ``<!--``, ``#`` and quotes are all allowed by AWS itself, and the
  role path reaches the module (execution_role_arn) and its README. moto's IAM answers in XML,
  which cannot carry C0 controls (ESC), so the Unicode path here holds line breaks and bidi
  marks but no ESC;
* Lambda tags (read by discover to recognise AWS's rotation applications), environments and
  secret descriptions and tags (never read by discover): any Unicode in moto; AWS limits tag
  values to letters, digits, spaces and ``_.:/=+-@``
  (https://docs.aws.amazon.com/lambda/latest/api/API_TagResource.html), but a CloudFormation
  stack's name is what the ``aws:cloudformation:stack-name`` tag holds, and environments and
  descriptions take almost any text.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from helpers import liveworld
from helpers.lifecycle import dummy_zip

ACCOUNT, REGION = liveworld.ACCOUNT, liveworld.REGION
APP_ID = "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSPostgreSQLRotationSingleUser"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}

# The character classes of issue 26 §2, each a string of its own.
CLASSES: dict[str, str] = {
    "quotes": "q\"uo'te\\",
    "interpolation": '${var.x} %{ if true }y%{ endif } $${z} ${file("/etc/passwd")}',
    "hash": "# not a comment #",
    "html": "<!-- x --> <img src=x onerror=alert(1)> <b>bold</b> &#x202e;",
    "backticks": "`code` ``x`` ```",
    "pipe": "a|b|c",
    "markdown": "[click](https://evil.example) ![i](https://evil.example/i.png) <https://evil.example>",
    "breaks": "lf\ncr\rcrlf\r\nnel\x85ls\u2028ps\u2029vt\x0bff\x0c",
    "bidi": "rtl\u202eevil\u202c iso\u2066x\u2069 lrm\u200e rlm\u200f alm\u061c",
    "zero-width": "zw\u200bsp\u200cnj\u200dj\u2060wj\ufeffbom",
    "ansi": "\x1b[31mred\x1b[0m \x1b[2J\x1b[H \x9b31m c1",
    "osc8": "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ \x1b]0;title\x07",
    "yaml": "\nname_prefix: pwned-\ntags: {injected: pwned}\n- item\n? k\n: v\n&a *a !!python/object/apply:os.system",
    "long": "L" * 5000,
}
ALL = "".join(v for k, v in CLASSES.items() if k != "long")  # every class in one string

# The issue's own payloads: a secret name that set name_prefix and tags, and a stack-name tag
# that added a vpc block to a function.
NAME_INJECTION = "zz-norot\nname_prefix: pwned-\ntags: {injected: pwned}"
VPC_INJECTION = (
    "stack\n    vpc:\n      subnet_ids: [subnet-12345678]\n      security_group_ids: [sg-12345678]"
    "\u2028    vpc: {subnet_ids: [subnet-12345678], security_group_ids: [sg-12345678]}"
)
# Printable ASCII only, as IAM allows in a path: what reaches the module and its README.
ROLE_PATH = "/`|[click](https:evil.example)|`<!--${a}%{b}#\"'&#x202e;<img/src=x>/x/"
# What AWS forbids in a path and moto's XML still carries.
UNICODE_ROLE_PATH = "/a\u202eb\u2028c\n\x85`|[x](https:e.x)<!--${a}%{b}#\"'/"
# A function name that moto takes and GetFunction still finds (AWS: [a-zA-Z0-9-_] only);
# no ':' or '/', which would make its ARN unreadable to moto's RotateSecret.
HOSTILE_FUNCTION = 'h"${a}%{b}#<!--`|\u202e\u2028\x1b[31m\x1b]8;;evil\x1b\\ \x1b]0;title\x07\nx'
KEYWORD_FUNCTIONS = ("null", "true", "yes", "on", "1e3", "0x10")
KEYWORD_SECRETS = ("null", "true", "false", "for", "yes", "on", "1e3", "0x10", "~")
CANARY = "CANARY-NEVER-WRITTEN"  # in what discover must not read or write: descriptions, environments
HOSTILE_VALUE = {"engine": ALL, "host": ALL, "masterarn": ALL, "username": "app", "password": CANARY}


@dataclass
class World(liveworld.World):
    """liveworld's account (its region, account, ids and ARNs), and what discover must do with it."""

    rotated: dict[str, str] = field(default_factory=dict)  # secret name -> the key of the function rotating it
    kept_functions: dict[str, set[str]] = field(default_factory=dict)  # key -> its fields, as discover writes them
    left_out: set[str] = field(default_factory=set)  # secret names discover must leave out (rotated, invalid)
    unrotated: set[str] = field(default_factory=set)


CUSTOM_FIELDS = {"strategy", "engine", "existing_function_arn", "execution_role_arn", "import"}
APP_FIELDS = {"strategy", "engine", "rotation_app", "rotation_app.semantic_version"}
SECRET_FIELDS = {"function", "arn", "schedule", "schedule.every_days", "import"}


def _role(w: World, name: str, path: str) -> str:
    arn: str = w.client("iam").create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(TRUST))[
        "Role"
    ]["Arn"]
    return arn


def _function(w: World, name: str, role: str, tags: dict[str, str] | None = None) -> str:
    arn: str = w.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="lambda_function.lambda_handler",
        Code={"ZipFile": dummy_zip()}, Description=CANARY + ALL,
        Environment={"Variables": {"CANARY": CANARY, **{k.upper().replace("-", "_"): v for k, v in CLASSES.items()}}},
        Tags=tags or {},
    )["FunctionArn"]  # fmt: skip
    return arn


def _secret(w: World, name: str, function_arn: str | None, value: dict[str, str] | None = None) -> None:
    sm = w.client("secretsmanager")
    arn = sm.create_secret(
        Name=name, SecretString=json.dumps(value or {"engine": "postgres", "host": "db", "password": CANARY}),
        Description=CANARY + ALL, Tags=[{"Key": k, "Value": v} for k, v in CLASSES.items()],
    )["ARN"]  # fmt: skip
    w.secret_arns[name] = arn
    if function_arn is None:
        w.unrotated.add(name)
        return
    sm.rotate_secret(SecretId=arn, RotationLambdaARN=function_arn, RotationRules={"AutomaticallyAfterDays": 30},
                     RotateImmediately=False)  # fmt: skip
    stages = sm.describe_secret(SecretId=arn).get("VersionIdsToStages", {})
    for version, labels in stages.items():  # moto limit PENDING (tests/helpers/liveworld.py)
        if "AWSPENDING" in labels and "AWSCURRENT" not in labels:
            sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=version)


def build(server: Any) -> World:
    w = World(server)
    role = _role(w, "hostile-exec", ROLE_PATH)
    w.ids["role"] = role
    unicode_role = _role(w, "unicode-exec", UNICODE_ROLE_PATH)

    # A custom function: its role's path, tags and environment are hostile; its one valid
    # secret is kept, every hostile-named secret it rotates is left out, with the reason.
    fn = _function(w, "hostile-rotator", role, tags={**CLASSES, "aws:cloudformation:stack-name": VPC_INJECTION})
    w.ids["function"] = fn
    w.kept_functions["hostile-rotator"] = CUSTOM_FIELDS
    _secret(w, "prod/ok-1", fn, HOSTILE_VALUE)
    w.rotated["prod/ok-1"] = "hostile-rotator"
    for cls, text in CLASSES.items():
        _secret(w, f"r/{cls}/{text}", fn)
        w.left_out.add(f"r/{cls}/{text}")
        _secret(w, f"n/{cls}/{text}", None)
    _secret(w, NAME_INJECTION, None)
    # Secret names YAML 1.1 or HCL read as something else (all but ~ allowed by AWS): keys
    # written quoted, Terraform names by naming.secret_ident (_null, _1e3).
    for name in KEYWORD_SECRETS:
        _secret(w, name, fn)
        if name == "~":
            w.left_out.add(name)
        else:
            w.rotated[name] = "hostile-rotator"

    # AWS's rotation application, recognised by its tags: the application id ends in a line
    # break (the pattern still matches), the stack name adds a vpc block if it is not escaped.
    app = _function(w, "app-rotator", role, tags={"serverlessrepo:applicationId": APP_ID + "\n",
                    "serverlessrepo:semanticVersion": "1.1.600", "aws:cloudformation:stack-name": VPC_INJECTION})  # fmt: skip
    w.ids["app"] = app
    w.kept_functions["postgresql-single"] = APP_FIELDS
    _secret(w, "prod/ok-app", app)
    w.rotated["prod/ok-app"] = "postgresql-single"
    # ...and one whose version is hostile: validate rejects it, so it is left out with its secret
    app2 = _function(w, "app-rotator-2", role, tags={"serverlessrepo:applicationId": APP_ID.replace("SingleUser", "MultiUser"),
                     "serverlessrepo:semanticVersion": ALL, "aws:cloudformation:stack-name": ALL})  # fmt: skip
    _secret(w, "prod/app-bad-version", app2)
    w.left_out.add("prod/app-bad-version")

    # Function names YAML 1.1 or HCL read as something else: the keys are safe by construction.
    for name in KEYWORD_FUNCTIONS:
        arn = _function(w, name, role)
        key = f"f-{name}" if name in ("null", "true", "1e3", "0x10") else name
        w.kept_functions[key] = CUSTOM_FIELDS
        _secret(w, f"kw/{name}", arn)
        w.rotated[f"kw/{name}"] = key

    # What AWS forbids and moto takes: a hostile function name, a role path with line breaks.
    bad = _function(w, HOSTILE_FUNCTION, role)
    w.ids["hostile-function"] = bad
    _secret(w, "prod/hostile-function", bad)
    w.left_out.add("prod/hostile-function")
    odd = _function(w, "unicode-path-rotator", unicode_role)
    _secret(w, "prod/unicode-path", odd)
    w.left_out.add("prod/unicode-path")
    return w


def expected_paths(w: World) -> set[tuple[str, ...]]:
    """Every key path discover means to write for this world (placeholders filled or not)."""
    out: set[tuple[str, ...]] = {("version",), ("account_id",), ("region",), ("functions",), ("secrets",)}
    for key, fields in w.kept_functions.items():
        out.add(("functions", key))
        out |= {("functions", key, *f.split(".")) for f in fields}
    for name in w.rotated:
        out.add(("secrets", name))
        out |= {("secrets", name, *f.split(".")) for f in SECRET_FIELDS}
    return out


def key_paths(data: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every mapping key path of parsed YAML (a list is a leaf: discover writes lists of ids)."""
    out: set[tuple[str, ...]] = set()
    if isinstance(data, dict):
        for k, v in data.items():
            assert isinstance(k, str), f"a key that is not text: {k!r} at {prefix}"
            out.add((*prefix, k))
            out |= key_paths(v, (*prefix, k))
    return out


class _Mock:
    """boto3 clients inside moto's in-process mock (no server, no sockets)."""

    def client(self, service: str, region: str = REGION) -> Any:
        import boto3

        return boto3.client(service, region_name=region)


@contextlib.contextmanager
def in_process() -> Iterator[World]:
    """The world in moto's in-process mock (as tests/cli/test_matrix.py's account): the
    environment set for it, and put back after."""
    from moto import mock_aws

    env = {"MOTO_ACCOUNT_ID": ACCOUNT, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "ROTATION_TF_TODAY": "2026-11-29"}  # fmt: skip
    unset = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL")
    saved = {k: os.environ.get(k) for k in (*env, *unset)}
    os.environ.update(env)
    for k in unset:
        os.environ.pop(k, None)
    try:
        with mock_aws():
            yield build(_Mock())
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
