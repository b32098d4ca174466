"""Synthetic inputs for the benchmark: manifests, and hand-written Terraform to compare with.

Everything is deterministic (seeded), so two runs measure the same bytes. Every secret
gets a full ARN, so that ``terraform plan -refresh=false`` runs offline (no data-source
look-ups); the manifest mixes strategies, engines, customer managed keys, VPCs, zip
packages and schedule kinds the way a platform team's manifest would.
"""

from __future__ import annotations

import json
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

ACCOUNT = "111122223333"
REGION = "us-east-1"

ENVS = ("prod", "staging", "dev", "qa")
TEAMS = (
    "orders", "billing", "users", "payments", "search", "inventory", "ledger", "auth",
    "shipping", "analytics", "catalog", "pricing", "fraud", "notifications", "reporting",
)  # fmt: skip
SERVICES = ("api", "worker", "etl", "admin", "gateway", "scheduler", "reader", "writer")
KINDS = ("db", "replica", "warehouse", "cache-auth", "app-user")
ENGINES = ("postgresql", "mysql", "mariadb", "sqlserver", "oracle", "mongodb", "redshift")
SHORT = {"postgresql": "pg", "mysql": "mysql", "mariadb": "maria", "sqlserver": "mssql",
         "oracle": "ora", "mongodb": "mongo", "redshift": "rs"}  # fmt: skip
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
ZIP_NAME = "build/rotator.zip"


def _key_arn(rng: random.Random) -> str:
    h = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _secret_arn(rng: random.Random, name: str) -> str:
    suffix = "".join(rng.choice(_ALNUM) for _ in range(6))
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-{suffix}"


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


@dataclass(frozen=True)
class Function:
    key: str
    strategy: str
    engine: str
    existing_arn: str | None  # None: built from the zip
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]


@dataclass(frozen=True)
class Secret:
    name: str
    function: str
    arn: str
    kms_key_arn: str | None
    master_arn: str | None
    master_kms_key_arn: str | None
    every_days: int | None
    expression: str | None
    window: str | None
    rotate_immediately: bool


@dataclass(frozen=True)
class Spec:
    secrets: tuple[Secret, ...]
    functions: tuple[Function, ...]


def make(n_secrets: int, n_functions: int, seed: int = 6) -> Spec:
    """``n_secrets`` secrets spread round-robin over ``min(n_functions, n_secrets)`` functions."""
    rng = random.Random(f"{seed}-{n_secrets}-{n_functions}")
    keys = [_key_arn(rng) for _ in range(8)]
    functions = []
    for j in range(min(n_functions, n_secrets)):
        engine = ENGINES[j % len(ENGINES)]
        strategy = "alternating_users" if j % 3 == 2 else "single_user"
        key = f"{SHORT[engine]}-{'alt' if strategy == 'alternating_users' else 'single'}-{j:03d}"
        packaged = j % 5 == 4
        in_vpc = j % 2 == 0
        functions.append(
            Function(
                key=key,
                strategy=strategy,
                engine=engine,
                existing_arn=None if packaged else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rotator-{key}",
                subnets=tuple(f"subnet-{_hex(rng, 17)}" for _ in range(2)) if in_vpc else (),
                security_groups=(f"sg-{_hex(rng, 17)}",) if in_vpc else (),
            )
        )
    masters = {}
    secrets = []
    for i in range(n_secrets):
        env, team = ENVS[i % len(ENVS)], TEAMS[(i // 4) % len(TEAMS)]
        name = f"{env}/{team}/{SERVICES[(i // 60) % len(SERVICES)]}-{KINDS[i % len(KINDS)]}-{i:05d}"
        fn = functions[i % len(functions)]
        master_arn = master_key = None
        if fn.strategy == "alternating_users":
            mkey = (env, team)
            if mkey not in masters:
                marn = _secret_arn(rng, f"{env}/{team}/rds-master")
                masters[mkey] = (marn, keys[len(masters) % len(keys)] if len(masters) % 2 else None)
            master_arn, master_key = masters[mkey]
        kind = i % 4
        every_days, expression, window = (
            (30, None, "3h"),
            (None, "rate(10 days)", None),
            (None, "cron(0 4 ? * SUN *)", "2h"),
            (7, None, None),
        )[kind]
        secrets.append(
            Secret(
                name=name,
                function=fn.key,
                arn=_secret_arn(rng, name),
                kms_key_arn=keys[i % len(keys)] if i % 3 == 0 else None,
                master_arn=master_arn,
                master_kms_key_arn=master_key,
                every_days=every_days,
                expression=expression,
                window=window,
                rotate_immediately=i % 50 == 0,
            )
        )
    return Spec(tuple(secrets), tuple(functions))


def _q(s: str) -> str:
    return json.dumps(s)  # a JSON string is a YAML double-quoted scalar


def manifest_yaml(spec: Spec) -> str:
    out = [
        "# Synthetic manifest written by bench/synth.py",
        "version: 1",
        f'account_id: "{ACCOUNT}"',
        f"region: {REGION}",
        "name_prefix: bench-",
        "tags:",
        "  team: platform",
        '  cost-center: "4711"',
        "module: rotation",
        "",
        "functions:",
    ]
    for f in spec.functions:
        out += [f"  {f.key}:", f"    strategy: {f.strategy}", f"    engine: {f.engine}"]
        if f.existing_arn:
            out.append(f"    existing_function_arn: {f.existing_arn}")
        else:
            out += [
                "    package:",
                f"      filename: {ZIP_NAME}",
                "      handler: lambda_function.lambda_handler",
                "      runtime: python3.12",
                "      timeout: 60",
            ]
        if f.subnets:
            out += [
                "    vpc:",
                f"      subnet_ids: [{', '.join(f.subnets)}]",
                f"      security_group_ids: [{', '.join(f.security_groups)}]",
            ]
    out += ["", "secrets:"]
    for s in spec.secrets:
        out += [f"  {_q(s.name)}:", f"    function: {s.function}", f"    arn: {_q(s.arn)}"]
        if s.kms_key_arn:
            out.append(f"    kms_key_arn: {s.kms_key_arn}")
        if s.master_arn:
            out += ["    master_secret:", f"      arn: {_q(s.master_arn)}"]
            if s.master_kms_key_arn:
                out.append(f"      kms_key_arn: {s.master_kms_key_arn}")
        out.append("    schedule:")
        if s.every_days is not None:
            out.append(f"      every_days: {s.every_days}")
        else:
            out.append(f"      expression: {_q(s.expression or '')}")
        if s.window:
            out.append(f"      window: {s.window}")
        if s.rotate_immediately:
            out.append("    rotate_immediately: true")
    return "\n".join(out) + "\n"


def write_zip(base: Path) -> None:
    path = base / ZIP_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return None\n")


# ----------------------------------------------------------------------------------------
# Hand-written equivalents, for the terraform plan comparison. Both use literal values, the
# way a person would write them, and grant what the generated module grants.

_TRUST = (
    "  assume_role_policy = jsonencode({\n"
    '    Version = "2012-10-17"\n'
    "    Statement = [{\n"
    '      Effect    = "Allow"\n'
    '      Principal = { Service = "lambda.amazonaws.com" }\n'
    '      Action    = "sts:AssumeRole"\n'
    "    }]\n"
    "  })\n"
)


def _rules(s: Secret) -> str:
    lines = []
    if s.every_days is not None:
        lines.append(f"    automatically_after_days = {s.every_days}")
    if s.expression is not None:
        lines.append(f"    schedule_expression = {_q(s.expression)}")
    if s.window is not None:
        lines.append(f"    duration = {_q(s.window)}")
    return "\n".join(lines)


def minimal_tf(spec: Spec) -> str:
    """One shared (existing) function, its role, policy and permission; one rotation per secret."""
    fn_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rotator-shared"
    wildcard = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:*"
    out = [
        'resource "aws_iam_role" "rotator" {',
        '  name = "rotator-shared"',
        _TRUST.rstrip("\n"),
        "}",
        "",
        'resource "aws_iam_role_policy" "rotator" {',
        '  name = "rotator-shared"',
        "  role = aws_iam_role.rotator.id",
        "  policy = jsonencode({",
        '    Version = "2012-10-17"',
        "    Statement = [{",
        '      Effect    = "Allow"',
        '      Action    = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"]',
        f"      Resource  = {_q(wildcard)}",
        f'      Condition = {{ StringEquals = {{ "secretsmanager:resource/AllowRotationLambdaArn" = {_q(fn_arn)} }} }}',
        "    }]",
        "  })",
        "}",
        "",
        'resource "aws_lambda_permission" "rotator" {',
        '  statement_id   = "SecretsManagerRotation"',
        '  action         = "lambda:InvokeFunction"',
        '  function_name  = "rotator-shared"',
        '  principal      = "secretsmanager.amazonaws.com"',
        f'  source_account = "{ACCOUNT}"',
        "}",
    ]
    for i, s in enumerate(spec.secrets):
        out += [
            "",
            f'resource "aws_secretsmanager_secret_rotation" "s{i:05d}" {{',
            f"  secret_id           = {_q(s.arn)}",
            f"  rotation_lambda_arn = {_q(fn_arn)}",
            f"  rotate_immediately  = {str(s.rotate_immediately).lower()}",
            "  rotation_rules {",
            _rules(s),
            "  }",
            "  depends_on = [aws_lambda_permission.rotator, aws_iam_role_policy.rotator]",
            "}",
        ]
    return "\n".join(out) + "\n"


def _hcl(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return str(v)
    return _q(str(v))


def minimal_for_each_tf(spec: Spec) -> str:
    """The minimal design written with for_each: the same shared function, role, policy and
    permission, and one ``aws_secretsmanager_secret_rotation`` block over a literal map."""
    common = minimal_tf(Spec((), spec.functions))
    fn_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rotator-shared"
    entries = []
    for s in spec.secrets:
        entries += [
            f"    {_q(s.name)} = {{",
            f"      secret_arn         = {_q(s.arn)}",
            f"      every_days         = {_hcl(s.every_days)}",
            f"      expression         = {_hcl(s.expression)}",
            f"      window             = {_hcl(s.window)}",
            f"      rotate_immediately = {_hcl(s.rotate_immediately)}",
            "    }",
        ]
    return (
        common
        + "\n".join(
            [
                "",
                "locals {",
                "  rotations = {",
                *entries,
                "  }",
                "}",
                "",
                'resource "aws_secretsmanager_secret_rotation" "this" {',
                "  for_each = local.rotations",
                "",
                "  secret_id           = each.value.secret_arn",
                f"  rotation_lambda_arn = {_q(fn_arn)}",
                "  rotate_immediately  = each.value.rotate_immediately",
                "  rotation_rules {",
                "    automatically_after_days = each.value.every_days",
                "    schedule_expression      = each.value.expression",
                "    duration                 = each.value.window",
                "  }",
                "  depends_on = [aws_lambda_permission.rotator, aws_iam_role_policy.rotator]",
                "}",
            ]
        )
        + "\n"
    )


def per_secret_tf(spec: Spec, zip_path: str) -> str:
    """A function (from the zip), a role, its policy and a permission for every secret."""
    out = []
    for i, s in enumerate(spec.secrets):
        name = f"rotator-{i:05d}"
        out += [
            f'resource "aws_iam_role" "s{i:05d}" {{',
            f'  name = "{name}"',
            _TRUST.rstrip("\n"),
            "}",
            "",
            f'resource "aws_iam_role_policy" "s{i:05d}" {{',
            f'  name = "{name}"',
            f"  role = aws_iam_role.s{i:05d}.id",
            "  policy = jsonencode({",
            '    Version = "2012-10-17"',
            "    Statement = [{",
            '      Effect   = "Allow"',
            '      Action   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"]',
            f"      Resource = {_q(s.arn)}",
            "    }]",
            "  })",
            "}",
            "",
            f'resource "aws_lambda_function" "s{i:05d}" {{',
            f'  function_name    = "{name}"',
            f"  role             = aws_iam_role.s{i:05d}.arn",
            '  handler          = "lambda_function.lambda_handler"',
            '  runtime          = "python3.12"',
            f'  filename         = "${{path.module}}/{zip_path}"',
            f'  source_code_hash = filebase64sha256("${{path.module}}/{zip_path}")',
            "}",
            "",
            f'resource "aws_lambda_permission" "s{i:05d}" {{',
            '  statement_id   = "SecretsManagerRotation"',
            '  action         = "lambda:InvokeFunction"',
            f"  function_name  = aws_lambda_function.s{i:05d}.function_name",
            '  principal      = "secretsmanager.amazonaws.com"',
            f'  source_account = "{ACCOUNT}"',
            "}",
            "",
            f'resource "aws_secretsmanager_secret_rotation" "s{i:05d}" {{',
            f"  secret_id           = {_q(s.arn)}",
            f"  rotation_lambda_arn = aws_lambda_function.s{i:05d}.arn",
            f"  rotate_immediately  = {str(s.rotate_immediately).lower()}",
            "  rotation_rules {",
            _rules(s),
            "  }",
            f"  depends_on = [aws_lambda_permission.s{i:05d}, aws_iam_role_policy.s{i:05d}]",
            "}",
            "",
        ]
    return "\n".join(out)
