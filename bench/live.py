"""Benchmark ``doctor`` and ``discover`` against moto: API calls per secret and wall time.

    .venv/bin/python bench/live.py [--secrets 1000] [--functions 20] [--keys 5] [--rounds 3] [--json out.json]

Not part of the test suite. It starts a moto server on loopback, builds an account in which
SECRETS secrets rotate with FUNCTIONS existing functions (all in one VPC with a Secrets
Manager endpoint, every function with its own role, KEYS customer managed keys spread over
the secrets), writes the manifest that describes it, then runs, interleaved, ROUNDS times:

* ``baseline``: the least any tool must do, serially: ``ListSecrets`` to the end, then one
  ``DescribeSecret`` per secret (what ``aws secretsmanager describe-secret`` in a loop does);
* ``doctor`` on the manifest (in-process, the CLI's code path, JSON output discarded);
* ``doctor-describe``: the same with one ``DescribeSecret`` per secret, as doctor read before
  it listed (issue 20 section 3); its findings must equal ``doctor``'s;
* ``discover`` of the region.

Calls are counted with a botocore ``before-call`` event hook (generator.live.client), by
operation. The report gives the calls per secret, the calls that are not per secret (per
function, role, key, VPC), whether anything was fetched twice (each per-resource operation
must equal the number of distinct resources), the median wall time of each command and its
ratio to the baseline measured in the same round (the machine is shared: only ratios mean
much). Goals (issue 12): discover <= 2 calls per rotated secret plus a few per function;
doctor <= 3 per secret plus a few per function and per VPC; no re-fetches. Issue 20: doctor
at most 0.05 Secrets Manager calls per secret, the same findings as describing each, and
(``--marginal SMALL.json LARGE.json``) at most 0.05 calls per added secret between two sizes.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from helpers.harness import Account, MotoServer  # noqa: E402
from helpers.lifecycle import dummy_zip  # noqa: E402

ACCOUNT = "111122223333"
REGION = "us-east-1"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def build(c: Callable[[str], Any], secrets: int, functions: int, keys: int, account: str = ACCOUNT) -> dict[str, Any]:
    """The account (``c(service)`` makes a client acting in it), and the manifest that describes it."""
    ec2 = c("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    fn_sg = ec2.create_security_group(GroupName="rotator", Description="fn", VpcId=vpc)["GroupId"]
    ep_sg = ec2.create_security_group(GroupName="endpoint", Description="ep", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=ep_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": fn_sg}]}],
    )
    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.secretsmanager", VpcEndpointType="Interface",
                            SubnetIds=subnets, SecurityGroupIds=[ep_sg], PrivateDnsEnabled=True)  # fmt: skip
    kms = c("kms")
    key_arns = [kms.create_key(Description=f"bench {i}")["KeyMetadata"]["Arn"] for i in range(keys)]
    iam, lam, sm = c("iam"), c("lambda"), c("secretsmanager")
    fn_arns = []
    for i in range(functions):
        role = iam.create_role(RoleName=f"bench-rotator-{i}-role", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"][
            "Arn"
        ]
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
             "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
             "Resource": f"arn:aws:secretsmanager:{REGION}:{account}:secret:*"},
            {"Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"},
            {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key_arns}]}  # fmt: skip
        iam.put_role_policy(
            RoleName=f"bench-rotator-{i}-role", PolicyName="rotation", PolicyDocument=json.dumps(policy)
        )
        arn = lam.create_function(FunctionName=f"bench-rotator-{i}", Runtime="python3.12", Role=role, Handler="index.handler",
                                  Code={"ZipFile": dummy_zip()}, VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [fn_sg]})["FunctionArn"]  # fmt: skip
        lam.add_permission(FunctionName=f"bench-rotator-{i}", StatementId="SecretsManager", Action="lambda:InvokeFunction",
                           Principal="secretsmanager.amazonaws.com", SourceAccount=account)  # fmt: skip
        fn_arns.append(arn)

    def one(i: int) -> tuple[str, dict[str, Any]]:
        name = f"bench/app-{i:05d}/db"
        key = key_arns[(i // 2) % keys] if i % 2 == 0 else None  # half the secrets under a CMK
        arn = sm.create_secret(
            Name=name, SecretString='{"username":"u","password":"p"}', **({"KmsKeyId": key} if key else {})
        )["ARN"]
        fn = i % functions
        sm.rotate_secret(
            SecretId=arn,
            RotationLambdaARN=fn_arns[fn],
            RotationRules={"AutomaticallyAfterDays": 30},
            RotateImmediately=False,
        )
        for version, stages in sm.describe_secret(SecretId=arn).get("VersionIdsToStages", {}).items():
            if "AWSPENDING" in stages and "AWSCURRENT" not in stages:  # moto limit PENDING (tests/helpers/liveworld.py)
                sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=version)
        entry: dict[str, Any] = {"function": f"f{fn}", "arn": arn, "schedule": {"every_days": 30}}
        if key:
            entry["kms_key_arn"] = key
        return name, entry

    with ThreadPoolExecutor(1) as pool:  # serial: moto's Secrets Manager is not safe under concurrent writes (500s)
        entries = dict(pool.map(one, range(secrets)))
    return {
        "version": 1, "account_id": account, "region": REGION,
        "functions": {f"f{i}": {"strategy": "single_user", "engine": "postgresql", "existing_function_arn": a,
                                "vpc": {"subnet_ids": sorted(subnets), "security_group_ids": [fn_sg]}} for i, a in enumerate(fn_arns)},
        "secrets": entries,
    }  # fmt: skip


def baseline(server: MotoServer) -> tuple[float, int]:
    sm = server.client("secretsmanager")
    started = time.perf_counter()
    names = [s["ARN"] for page in sm.get_paginator("list_secrets").paginate() for s in page["SecretList"]]
    calls = 1 + len(names) // 100
    for arn in names:
        sm.describe_secret(SecretId=arn)
    return time.perf_counter() - started, calls + len(names)


def run_doctor(
    server: MotoServer, manifest: Path, list_secrets: bool = True
) -> tuple[float, dict[str, int], dict[str, int], list[Any]]:
    """``doctor`` in-process; ``list_secrets=False`` is doctor before issue 20 section 3 (one
    ``DescribeSecret`` per secret), the "before" of the same run."""
    from generator import api
    from generator.live.client import Aws
    from generator.live.doctor import Doctor

    module = api.validate(manifest).module
    started = time.perf_counter()
    aws = Aws(region=REGION, endpoint_url=server.url)
    try:
        report = Doctor(aws, module, list_secrets=list_secrets).run()  # type: ignore[arg-type]
    finally:
        aws.close()
    return time.perf_counter() - started, dict(aws.calls), report.counts(), report.findings


def run_discover(server: MotoServer) -> tuple[float, dict[str, int], str]:
    from generator.live.client import Aws
    from generator.live.discover import Discoverer

    started = time.perf_counter()
    aws = Aws(region=REGION, endpoint_url=server.url, services=("sts", "secretsmanager", "lambda", "kms", "iam"))
    try:
        text, _summary = Discoverer(aws).run()
    finally:
        aws.close()
    return time.perf_counter() - started, dict(aws.calls), text


PER_RESOURCE = {
    # operation: what it is fetched once for
    "lambda:GetFunctionConfiguration": "functions",
    "lambda:GetFunction": "functions",
    "lambda:GetPolicy": "functions",
    "iam:GetRole": "roles",
    "kms:DescribeKey": "keys",
    "kms:GetKeyPolicy": "keys",
    "ec2:DescribeVpcEndpoints": "vpcs",
    "ec2:DescribeRouteTables": "vpcs",
    "ec2:DescribeSubnets": "subnets",
}


def marginal(small: Path, large: Path) -> int:
    """Calls per added secret between two runs (the same functions, keys and VPC)."""
    a, b = json.loads(small.read_text()), json.loads(large.read_text())
    added = b["secrets"] - a["secrets"]
    if added <= 0 or (a["functions"], a["keys"]) != (b["functions"], b["keys"]):
        print("marginal: give a smaller and a larger run with the same --functions and --keys", file=sys.stderr)
        return 2
    ok = True
    for cmd in ("doctor", "doctor-describe", "discover"):
        if cmd in a and cmd in b:
            m = (b[cmd]["total"] - a[cmd]["total"]) / added
            print(f"{cmd}: {a[cmd]['total']:,} calls at {a['secrets']:,} secrets, {b[cmd]['total']:,} at {b['secrets']:,}: "
                  f"{m:.4f} calls per added secret")  # fmt: skip
            ok = ok and (cmd != "doctor" or m <= 0.05)
    print(f"goal doctor <= 0.05 calls per added secret: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


# ---- across accounts (issue 20 section 3: 20 accounts x 500 secrets through assumed roles) ----
#
# moto workaround MULTI_ACCOUNT (as in tests/moto/test_moto_accounts.py): the server runs without
# MOTO_ACCOUNT_ID, so the plain test keys act in moto's default account (the caller's own) and
# the credentials sts:AssumeRole returns act in the role's account. moto does not require the
# role to exist: the worlds are built through SETUP_ROLE, and read through READ_ROLE, the
# read-only role doctor --assume-role names (docs/organization.md).

SETUP_ROLE, READ_ROLE = "moto-world-setup", "RotationTfReadOnly"


def _in_account(server: MotoServer, account: str, role: str) -> Callable[[str], Any]:
    return functools.partial(Account(server, account, role).client, region=REGION)


def baseline_accounts(server: MotoServer, accounts: list[str]) -> tuple[float, int]:
    """The least any tool must do, serially: in each account, assume the read-only role,
    ``ListSecrets`` to the end, one ``DescribeSecret`` per secret."""
    started, calls = time.perf_counter(), 0
    for account in accounts:
        sm = _in_account(server, account, READ_ROLE)("secretsmanager")
        arns = [s["ARN"] for page in sm.get_paginator("list_secrets").paginate() for s in page["SecretList"]]
        for arn in arns:
            sm.describe_secret(SecretId=arn)
        calls += 1 + (1 + len(arns) // 100) + len(arns)
    return time.perf_counter() - started, calls


def run_doctor_accounts(
    server: MotoServer, manifests: list[Path], max_accounts: int
) -> tuple[float, dict[str, int], int, Any]:
    """``doctor MANIFEST... --assume-role READ_ROLE --max-accounts N --format json``, in-process
    (the CLI's code path); every API call counted, the caller's included."""
    import io

    from generator.live import commands
    from generator.live.accounts import AssumeRole

    opened: list[Any] = []
    real_open = commands._open

    def counting_open(*a: Any, **k: Any) -> Any:
        aws = real_open(*a, **k)
        opened.append(aws)
        return aws

    out = io.StringIO()
    commands._open = counting_open  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        code = commands.doctor(manifests, commands.Connection(endpoint_url=server.url), fmt="json", out=out,
                               assume=AssumeRole(READ_ROLE), max_accounts=max_accounts)  # fmt: skip
        took = time.perf_counter() - started
    finally:
        commands._open = real_open  # type: ignore[assignment]
    calls: dict[str, int] = {}
    for aws in opened:
        for op, n in aws.calls.items():
            calls[op] = calls.get(op, 0) + n
    findings = sorted(
        (f["account"], f["subject"], f["check"], f["status"], f["message"])
        for f in json.loads(out.getvalue())["findings"]
    )
    return took, calls, code, findings


def accounts_main(args: argparse.Namespace) -> int:
    accounts = [f"{200000000000 + i:012d}" for i in range(args.accounts)]
    server = MotoServer(account=None).start()
    try:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            manifests = []
            for account in accounts:
                data = build(_in_account(server, account, SETUP_ROLE), args.secrets, args.functions, args.keys, account)
                path = Path(tmp) / f"rotation-{account}.yaml"
                path.write_text(yaml.safe_dump(data, sort_keys=False))
                manifests.append(path)
            setup = time.perf_counter() - t0
            times: dict[str, list[float]] = {"baseline": [], "serial": [], "parallel": []}
            ratios: dict[str, list[float]] = {"serial": [], "parallel": [], "parallel/serial": []}
            identical, codes = True, set()
            serial_calls: dict[str, int] = {}
            parallel_calls: dict[str, int] = {}
            base_calls, n_findings = 0, 0
            statuses: dict[str, int] = {}
            for _ in range(args.rounds):  # interleaved
                b, base_calls = baseline_accounts(server, accounts)
                s, serial_calls, code_s, found_s = run_doctor_accounts(server, manifests, 1)
                p, parallel_calls, code_p, found_p = run_doctor_accounts(server, manifests, args.max_accounts)
                identical = identical and found_s == found_p
                codes |= {code_s, code_p}
                n_findings = len(found_p)
                statuses = {}
                for f in found_p:
                    statuses[f[3]] = statuses.get(f[3], 0) + 1
                times["baseline"].append(b)
                times["serial"].append(s)
                times["parallel"].append(p)
                ratios["serial"].append(s / b)
                ratios["parallel"].append(p / b)
                ratios["parallel/serial"].append(p / s)
    finally:
        server.stop()
    total = args.accounts * args.secrets
    result: dict[str, Any] = {
        "accounts": args.accounts, "secrets_per_account": args.secrets, "functions_per_account": args.functions,
        "keys_per_account": args.keys, "max_accounts": args.max_accounts, "rounds": args.rounds,
        "setup_s": round(setup, 1), "baseline_calls": base_calls,
        "doctor_serial": {"calls": serial_calls, "total": sum(serial_calls.values())},
        "doctor": {"calls": parallel_calls, "total": sum(parallel_calls.values())},
        "findings": n_findings, "statuses": statuses, "exit_codes": sorted(codes),
        "findings_identical": identical,
        "median_s": {k: round(statistics.median(v), 3) for k, v in times.items()},
        "median_ratio": {k: round(statistics.median(v), 3) for k, v in ratios.items()},
    }  # fmt: skip
    sm_calls = sum(v for op, v in parallel_calls.items() if op.startswith("secretsmanager:"))
    assumed = parallel_calls.get("sts:AssumeRole", 0)
    result["doctor"]["secretsmanager_per_secret"] = sm_calls / total
    result["doctor"]["per_secret"] = result["doctor"]["total"] / total
    print(f"doctor across {args.accounts} accounts x {args.secrets:,} secrets ({total:,}) through an assumed role, against moto; "
          f"{args.functions} functions and {args.keys} keys per account; setup {setup:.0f} s; median of {args.rounds} interleaved rounds")  # fmt: skip
    print()
    print("| command | API calls | per secret | Secrets Manager per secret | wall time | / baseline |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(f"| baseline (serial: AssumeRole, ListSecrets, DescribeSecret each) | {base_calls:,} | {base_calls / total:.3f} | "
          f"{(base_calls - args.accounts) / total:.3f} | {result['median_s']['baseline']:.2f} s | 1.00 |")  # fmt: skip
    for key, label in (
        ("serial", "doctor --max-accounts 1"),
        ("parallel", f"doctor --max-accounts {args.max_accounts}"),
    ):
        c = serial_calls if key == "serial" else parallel_calls
        t = sum(c.values())
        smc = sum(v for op, v in c.items() if op.startswith("secretsmanager:"))
        print(f"| {label} | {t:,} | {t / total:.3f} | {smc / total:.3f} | {result['median_s'][key]:.2f} s | "
              f"{result['median_ratio'][key]:.2f} |")  # fmt: skip
    print()
    print(
        f"doctor --max-accounts {args.max_accounts} / --max-accounts 1 (median of per-round ratios): {result['median_ratio']['parallel/serial']:.3f}"
    )
    print("doctor calls by operation: " + ", ".join(f"{op} {c}" for op, c in sorted(parallel_calls.items())))
    print(f"findings: {n_findings:,} {statuses}; exit codes {sorted(codes)}; identical serial and parallel: {identical}; "
          f"sts:AssumeRole calls: {assumed} for {args.accounts} accounts")  # fmt: skip
    result["goals_met"] = {
        "the same findings serial and parallel": identical,
        "every account read, nothing fails (exit 0)": sorted(codes) == [0],
        "one AssumeRole per account": assumed == args.accounts,
        "doctor <= 0.05 Secrets Manager calls per secret": result["doctor"]["secretsmanager_per_secret"] <= 0.05,
    }
    for goal, ok in result["goals_met"].items():
        print(f"goal {goal}: {'met' if ok else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(result["goals_met"].values()) else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--secrets", type=int, default=1000)
    ap.add_argument("--functions", type=int, default=20)
    ap.add_argument("--keys", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--marginal", type=Path, nargs=2, metavar=("SMALL.json", "LARGE.json"),
                    help="from two --json results of different sizes: the calls each added secret costs")  # fmt: skip
    ap.add_argument("--accounts", type=int, default=0,
                    help="N accounts of --secrets each, read through an assumed role (doctor --assume-role), "
                         "serially and --max-accounts at a time")  # fmt: skip
    ap.add_argument("--max-accounts", type=int, default=8)
    args = ap.parse_args()
    if args.marginal:
        return marginal(*args.marginal)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    if args.accounts:
        return accounts_main(args)
    server = MotoServer().start()
    try:
        t0 = time.perf_counter()
        data = build(server.client, args.secrets, args.functions, args.keys)
        setup = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            manifest = Path(tmp) / "bench.yaml"
            manifest.write_text(yaml.safe_dump(data, sort_keys=False))
            times: dict[str, list[float]] = {"baseline": [], "doctor": [], "doctor-describe": [], "discover": []}
            ratios: dict[str, list[float]] = {
                "doctor": [],
                "doctor-describe": [],
                "discover": [],
                "doctor/describe": [],
            }
            identical = True
            doctor_calls: dict[str, int] = {}
            discover_calls: dict[str, int] = {}
            counts: dict[str, int] = {}
            discovered = ""
            base_calls = 0
            for _ in range(args.rounds):  # interleaved: load on the machine hits all three alike
                b, base_calls = baseline(server)
                d, doctor_calls, counts, listed_findings = run_doctor(server, manifest)
                dd, describe_calls, _, described_findings = run_doctor(server, manifest, list_secrets=False)
                identical = identical and listed_findings == described_findings
                times["doctor-describe"].append(dd)
                ratios["doctor-describe"].append(dd / b)
                ratios["doctor/describe"].append(d / dd)
                s, discover_calls, discovered = run_discover(server)
                times["baseline"].append(b)
                times["doctor"].append(d)
                times["discover"].append(s)
                ratios["doctor"].append(d / b)
                ratios["discover"].append(s / b)
            from generator import api

            found = Path(tmp) / "discovered.yaml"
            # without --read-values a custom function's strategy and engine are FILL-IN
            # placeholders (validate rejects them): the manifest must validate once filled in
            found.write_text(
                discovered.replace("FILL-IN-STRATEGY", "single_user").replace("FILL-IN-ENGINE", "postgresql")
            )
            discovered_ok = api.validate(found).exit == api.Exit.OK
    finally:
        server.stop()
    n, f, k = args.secrets, args.functions, args.keys
    distinct = {"functions": f, "roles": f, "keys": k, "vpcs": 1, "subnets": 2}
    result: dict[str, Any] = {
        "secrets": n, "functions": f, "keys": k, "rounds": args.rounds, "setup_s": round(setup, 1),
        "doctor": {"calls": doctor_calls, "total": sum(doctor_calls.values()), "findings": counts},
        "doctor-describe": {"calls": describe_calls, "total": sum(describe_calls.values())},
        "findings_identical": identical,
        "discover": {"calls": discover_calls, "total": sum(discover_calls.values()), "validates": discovered_ok},
        "baseline_calls": base_calls,
        "median_s": {k2: round(statistics.median(v), 3) for k2, v in times.items()},
        "median_ratio_to_baseline": {k2: round(statistics.median(v), 3) for k2, v in ratios.items()},
    }  # fmt: skip
    refetched = {}
    for cmd in ("doctor", "doctor-describe", "discover"):
        for op, count in result[cmd]["calls"].items():
            what = PER_RESOURCE.get(op)
            if what and count > distinct[what]:
                refetched[f"{cmd} {op}"] = f"{count} calls for {distinct[what]} {what}"
    per_secret = {
        "doctor": sum(v for op, v in doctor_calls.items() if op.startswith("secretsmanager:")) / n,
        "doctor-describe": sum(v for op, v in describe_calls.items() if op.startswith("secretsmanager:")) / n,
        "discover": sum(v for op, v in discover_calls.items() if op.startswith("secretsmanager:")) / n,
    }
    other = {
        cmd: result[cmd]["total"] - round(per_secret[cmd] * n) for cmd in ("doctor", "doctor-describe", "discover")
    }
    result["per_secret"] = per_secret
    result["not_per_secret"] = other
    result["refetched"] = refetched
    result["goals_met"] = {
        "discover <= 2 per secret + few per function": per_secret["discover"] <= 2
        and other["discover"] <= 5 * f + k + 5,
        "doctor <= 3 per secret + few per function and VPC": per_secret["doctor"] <= 3
        and other["doctor"] <= 10 * f + 2 * k + 10,
        "no re-fetches": not refetched,
        "doctor: the same findings listing as describing": identical,
        "doctor <= 0.05 Secrets Manager calls per secret": per_secret["doctor"] <= 0.05,
    }
    print(f"doctor and discover against moto: {n:,} rotated secrets, {f} functions (own roles), {k} keys, 1 VPC; "
          f"setup {setup:.0f} s; median of {args.rounds} interleaved rounds")  # fmt: skip
    print()
    print("| command | API calls | per secret | not per secret | wall time | / baseline |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| baseline (ListSecrets + DescribeSecret each, serial) | {base_calls:,} | {1 + 1 / 100:.2f} | 0 | {result['median_s']['baseline']:.2f} s | 1.00 |"
    )
    for cmd in ("doctor", "doctor-describe", "discover"):
        print(f"| {cmd} | {result[cmd]['total']:,} | {per_secret[cmd]:.2f} | {other[cmd]} | {result['median_s'][cmd]:.2f} s | "
              f"{result['median_ratio_to_baseline'][cmd]:.2f} |")  # fmt: skip
    print()
    print(
        f"doctor / doctor-describe wall time (median of the per-round ratios): {result['median_ratio_to_baseline']['doctor/describe']:.3f}"
    )
    for cmd in ("doctor", "doctor-describe", "discover"):
        print(f"{cmd} calls by operation: " + ", ".join(f"{op} {c}" for op, c in sorted(result[cmd]["calls"].items())))
    print(
        f"doctor findings: {counts}; identical to doctor-describe's: {identical}; discovered manifest validates (FILL-INs filled): {discovered_ok}"
    )
    print("re-fetches: " + (", ".join(f"{k2}: {v}" for k2, v in refetched.items()) if refetched else "none"))
    for goal, ok in result["goals_met"].items():
        print(f"goal {goal}: {'met' if ok else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(result["goals_met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
