"""The module's grants come from what AWS's rotation functions call (generator/aws_calls.py).

* The table in the package is exactly what the code in ../shared/aws-rotation-functions calls
  (read with ``ast`` by tests/helpers/aws_functions.py): a new AWS version that adds, moves or drops a
  call fails here until the table and the grants follow.
* For every engine x strategy (generator/engines.py) and every kind of master secret, each
  call maps to a statement that allows its action on its resource in the generated policy,
  or to a reason, and then the policy really does not allow it; and no statement the table
  drives grants an action that no call needs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest
import yaml
from helpers.aws_functions import environment_reads, function_files, read_calls, required_copy
from helpers.cli import cli
from helpers.hclparse import load_module, resources

from generator import api, aws_calls, policy_eval
from generator.engines import ENGINES
from generator.manifest import Strategy

ACCOUNT, REGION = "111122223333", "us-east-1"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app/db-AbCdEf"
MASTERS = {
    aws_calls.PLAIN: f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app/db-admin-Mst456",
    aws_calls.RDS_MANAGED_DB: f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-0d72c586-d9ba-46f5-aced-dd0fc6eb6ba4-fGbVUQ",
    aws_calls.RDS_MANAGED_CLUSTER: f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!cluster-3c1a6f1e-44d8-4b5e-9f0a-2b7c9d1e8f00-Hk2LmN",
    aws_calls.REDSHIFT_MANAGED_CLUSTER: f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:redshift!orders-awsuser-Rs1234",
    aws_calls.REDSHIFT_MANAGED_NAMESPACE: f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:redshift!analytics-admin-Ns5678",
}
MANAGED_BY = {v: k for k, v in aws_calls.MANAGED_BY.items()}
REPLICAS = {aws_calls.REPLICA_INSTANCE: "orders-replica-1", aws_calls.REPLICA_CLUSTER: "orders-aurora"}
# What each target is, as an ARN the function's request would name.
RESOURCE = {
    aws_calls.SECRET: SECRET_ARN,
    aws_calls.NO_RESOURCE: "*",
    aws_calls.RDS_DB: f"arn:aws:rds:{REGION}:{ACCOUNT}:db:orders-primary",
    aws_calls.RDS_CLUSTER: f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:orders-aurora",
    aws_calls.REDSHIFT_CLUSTER: f"arn:aws:redshift:{REGION}:{ACCOUNT}:cluster:orders",
    aws_calls.REDSHIFT_SERVERLESS: "*",
}
# The replica a replica check describes (what replica_of_master names).
REPLICA_RESOURCE = {
    aws_calls.RDS_DB: f"arn:aws:rds:{REGION}:{ACCOUNT}:db:orders-replica-1",
    aws_calls.RDS_CLUSTER: f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:orders-aurora",
}
STRATEGIES = get_args(Strategy)
TABLE_DRIVEN = set(aws_calls.TABLE_SIDS)


def _literal(calls: dict[tuple[str, str, str], tuple[int, ...]]) -> str:
    return "\n".join(f"        {k!r}: {v!r}," for k, v in calls.items()).replace("'", '"')


def test_the_table_is_what_the_code_calls() -> None:
    files = function_files(required_copy())
    assert set(files) == set(aws_calls.CALLS), "a function was added to or removed from AWS's repository"
    for name, path in files.items():
        found = read_calls(path)
        assert found == aws_calls.CALLS[name], (
            f"{name}: AWS's code calls something the table does not say; review and update "
            f"generator/aws_calls.py CALLS[{name!r}] to:\n{_literal(found)}"
        )
    assert "?" not in {
        t for calls in aws_calls.CALLS.values() for (_s, _o, t) in calls if _s != "timestream-influxdb"
    } - {t for n in aws_calls.UNSUPPORTED for (_s, _o, t) in aws_calls.CALLS[n]}


def test_every_function_is_used_or_says_why_not() -> None:
    used = {aws_calls.function_for(e, s) for e in ENGINES for s in STRATEGIES}
    assert used <= set(aws_calls.CALLS)
    assert used.isdisjoint(aws_calls.UNSUPPORTED)
    assert set(aws_calls.CALLS) == used | set(aws_calls.UNSUPPORTED)
    for name in used:  # every call the functions rotation-tf uses has a known target
        assert all(t != "?" for (_s, _o, t) in aws_calls.CALLS[name]), name
        assert all((s, o) in aws_calls.ACTIONS for (s, o, _t) in aws_calls.CALLS[name]), name


def test_rds_master_kinds_are_the_tags_the_code_reads() -> None:
    for name, path in function_files(required_copy()).items():
        text = path.read_text(encoding="utf-8")
        kinds = []
        if "'aws:rds:primarydbinstancearn'" in text:
            kinds.append(aws_calls.RDS_MANAGED_DB)
        if "'aws:rds:primarydbclusterarn'" in text:
            kinds.append(aws_calls.RDS_MANAGED_CLUSTER)
        assert tuple(kinds) == aws_calls.RDS_MASTER_KINDS.get(name, ()), name


def test_environment_the_code_reads_is_known() -> None:
    """Every environment variable a function rotation-tf uses reads is one the module sets
    (SECRETS_MANAGER_ENDPOINT), a password option the manifest can set, or a clone limit."""
    files = function_files(required_copy())
    used = {aws_calls.function_for(e, s) for e in ENGINES for s in STRATEGIES}
    known = {"SECRETS_MANAGER_ENDPOINT", *aws_calls.PASSWORD_OPTIONS}
    for name in sorted(used):
        reads = environment_reads(files[name])
        limit = aws_calls.CLONE_LIMITS.get(name)
        extra = {limit[1]} if limit and limit[1] else set()
        assert set(reads) - known - extra == set(), name
        assert "SECRETS_MANAGER_ENDPOINT" in reads, name
    mysql = environment_reads(files["SecretsManagerRDSMySQLRotationMultiUser"])
    assert mysql["USERNAME_CHARACTER_LIMIT"] == str(
        aws_calls.CLONE_LIMITS["SecretsManagerRDSMySQLRotationMultiUser"][0]
    )


def test_clone_limits_are_the_code_s() -> None:
    files = function_files(required_copy())
    for name, (limit, env) in aws_calls.CLONE_LIMITS.items():
        text = files[name].read_text(encoding="utf-8")
        if env is None:
            assert re.search(rf"len\(new_username\) > {limit}\b", text), name
        else:
            assert f"os.environ.get('{env}', '{limit}')" in text, name
    for name, path in files.items():  # every fixed limit in the code is in the table
        for m in re.finditer(r"len\(new_username\) > (\d+)", path.read_text(encoding="utf-8")):
            assert aws_calls.CLONE_LIMITS.get(name, (None,))[0] == int(m.group(1)), name


def _manifest(engine: str, strategy: str, master: str | None, replica: str | None = None) -> dict:
    secret: dict = {"function": "fn", "arn": SECRET_ARN, "schedule": {"every_days": 30}}
    if master is not None:
        secret["master_secret"] = {"arn": MASTERS[master]}
        if master in MANAGED_BY:
            secret["master_secret"]["managed_by"] = MANAGED_BY[master]
    if replica is not None:
        secret["replica_of_master"] = {replica: REPLICAS[replica]}
    return {
        "version": 1,
        "account_id": ACCOUNT,
        "region": REGION,
        "functions": {
            "fn": {
                "strategy": strategy,
                "engine": engine,
                "existing_function_arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rotator",
            }
        },
        "secrets": {"app/db": secret},
    }


def test_the_paths_are_every_engine_strategy_master_and_replica() -> None:
    """aws_calls.paths(), the table of the path tests here and in test_doctor_grants.py:
    each engine and strategy; each master kind a function reads; each replica it accepts."""
    paths = list(aws_calls.paths())
    assert len(paths) == len(set(paths))
    assert {(p.engine, p.strategy) for p in paths} == {(e, s) for e in ENGINES for s in STRATEGIES}
    for p in paths:
        assert (p.master is not None) == aws_calls.reads_master(p.engine, p.strategy), p
        supported = (aws_calls.PLAIN, *aws_calls.RDS_MASTER_KINDS.get(p.function, ()),
                     *aws_calls.REDSHIFT_MASTER_KINDS.get(p.function, ()))  # fmt: skip
        assert p.master is None or p.master in supported, p
        assert p.replica is None or p.replica in aws_calls.REPLICA_PATHS.get(p.function, ()), p
    for function, kinds in aws_calls.REPLICA_PATHS.items():
        assert {p.replica for p in paths if p.function == function} == {None, *kinds}, function


@pytest.mark.parametrize("path", list(aws_calls.paths()), ids=str)
def test_every_call_is_granted_on_its_resource_or_says_why_not(tmp_path: Path, path: aws_calls.Path) -> None:
    engine, strategy, master = path.engine, path.strategy, path.master
    file = tmp_path / "m.yaml"
    file.write_text(yaml.safe_dump(_manifest(engine, strategy, master, path.replica)))
    module, _ = api.load(file)
    (fn,) = module.functions
    assert fn.policy is not None
    doc = fn.policy.document()
    resource = dict(RESOURCE, master=MASTERS[master] if master else "")
    uses = aws_calls.uses(engine, strategy, path.masters, path.replicas)
    assert uses, "every function makes calls"
    for use in uses:
        target = resource[use.call[2]]
        if use.sid in (aws_calls.REPLICA_INSTANCES, aws_calls.REPLICA_CLUSTERS):
            target = REPLICA_RESOURCE[use.call[2]]
        verdict = policy_eval.evaluate([doc], policy_eval.Request(use.action, target, {}))
        if use.sid is not None:
            assert verdict == policy_eval.ALLOWED, (use, verdict)
            covered = [s for s in fn.policy.statements if s.sid == use.sid]
            if not covered:  # a replica's grant, folded into the RDS-managed master's on every database
                assert use.sid in (aws_calls.REPLICA_INSTANCES, aws_calls.REPLICA_CLUSTERS), use
                continue
            (st,) = covered
            assert use.action in st.actions
            assert st.code[0] == use.function and use.cite in st.code
        elif not any(u.call == use.call and u.sid for u in uses):  # the same call granted for another path
            assert use.reason, use
            assert verdict != policy_eval.ALLOWED, f"{use} says it is not granted, yet the policy allows it"
    # Least: what the table drives is exactly what some call needs.
    for st in fn.policy.statements:
        if st.sid == aws_calls.READ_MASTER and engine == "other":
            continue  # the seed's grant: test_engine_other_keeps_the_seed_s_master_grant
        if st.sid in TABLE_DRIVEN:
            assert set(st.actions) == {u.action for u in uses if u.sid == st.sid}, st.sid


def test_redshift_admin_secrets_are_described_and_their_databases_looked_up(tmp_path: Path) -> None:
    """The Redshift multi-user function reads every admin secret's tags (DescribeSecret), and
    a Redshift-managed one's cluster (DescribeClusters) or namespace (the Serverless lists)."""
    sids = {}
    for kind in (aws_calls.PLAIN, *aws_calls.REDSHIFT_MANAGED_KINDS):
        path = tmp_path / f"{kind.replace('!', '-')}.yaml"
        path.write_text(yaml.safe_dump(_manifest("redshift", "alternating_users", kind)))
        module, _ = api.load(path)
        sids[kind] = {s.sid: s for s in module.functions[0].policy.statements}
        assert sids[kind][aws_calls.DESCRIBE_ADMIN].actions == ("secretsmanager:DescribeSecret",)
        assert sids[kind][aws_calls.DESCRIBE_ADMIN].resources == (MASTERS[kind],)
    assert aws_calls.REDSHIFT_CLUSTERS not in sids[aws_calls.PLAIN]
    assert aws_calls.REDSHIFT_NAMESPACES not in sids[aws_calls.PLAIN]
    cluster = sids[aws_calls.REDSHIFT_MANAGED_CLUSTER][aws_calls.REDSHIFT_CLUSTERS]
    assert cluster.actions == ("redshift:DescribeClusters",)
    assert cluster.resources == (f"arn:aws:redshift:{REGION}:{ACCOUNT}:cluster:*",)
    assert cluster.source == aws_calls.REDSHIFT_ACTIONS_PAGE
    serverless = sids[aws_calls.REDSHIFT_MANAGED_NAMESPACE][aws_calls.REDSHIFT_NAMESPACES]
    assert serverless.actions == ("redshift-serverless:ListNamespaces", "redshift-serverless:ListWorkgroups")
    assert serverless.resources == ("*",)
    assert aws_calls.REDSHIFT_CLUSTERS not in sids[aws_calls.REDSHIFT_MANAGED_NAMESPACE]


def test_redshift_master_kinds_are_the_tags_the_code_reads() -> None:
    for name, path in function_files(required_copy()).items():
        text = path.read_text(encoding="utf-8")
        kinds = []
        if "'aws:redshift:primaryclusterarn'" in text and "describe_clusters(" in text:
            kinds.append(aws_calls.REDSHIFT_MANAGED_CLUSTER)
        if "'aws:redshift-serverless:namespacearn'" in text and "list_workgroups(" in text:
            kinds.append(aws_calls.REDSHIFT_MANAGED_NAMESPACE)
        assert tuple(kinds) == aws_calls.REDSHIFT_MASTER_KINDS.get(name, ()), name
        for kind, tag in aws_calls.MASTER_TAGS.items():  # the tag names, as the code spells them
            if kind in aws_calls.RDS_MASTER_KINDS.get(name, ()) + aws_calls.REDSHIFT_MASTER_KINDS.get(name, ()):
                assert f"'{tag}'" in text, (name, tag)


def test_which_functions_describe_every_master() -> None:
    """A function that calls DescribeSecret on its master only for an RDS-managed one guards
    it on a secret holding just username and password; those in DESCRIBES_EVERY_MASTER do not."""
    for name, path in function_files(required_copy()).items():
        if ("secretsmanager", "describe_secret", aws_calls.MASTER) not in aws_calls.CALLS[name]:
            assert name not in aws_calls.DESCRIBES_EVERY_MASTER
            continue
        guarded = "set(secret_dict.keys()) == set(['username', 'password'])" in path.read_text(encoding="utf-8")
        assert guarded == (name not in aws_calls.DESCRIBES_EVERY_MASTER), name


def test_replica_paths_are_the_code_s() -> None:
    """is_rds_replica_database: a read replica of the master's instance; the Aurora reader path
    (get_cluster_info_from_master_host) in the functions that have it."""
    for name, path in function_files(required_copy()).items():
        text = path.read_text(encoding="utf-8")
        kinds = []
        if "def is_rds_replica_database(" in text:
            assert "current_dict['host'] != master_dict['host'] and not is_rds_replica_database(" in text, name
            kinds.append(aws_calls.REPLICA_INSTANCE)
        if "def get_cluster_info_from_master_host(" in text:
            kinds.append(aws_calls.REPLICA_CLUSTER)
        assert tuple(kinds) == aws_calls.REPLICA_PATHS.get(name, ()), name


def test_a_replica_is_granted_its_own_instance_or_cluster(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        yaml.safe_dump(_manifest("postgresql", "alternating_users", aws_calls.PLAIN, aws_calls.REPLICA_INSTANCE))
    )
    module, _ = api.load(path)
    sts = {s.sid: s for s in module.functions[0].policy.statements}
    assert sts[aws_calls.REPLICA_INSTANCES].actions == ("rds:DescribeDBInstances",)
    assert sts[aws_calls.REPLICA_INSTANCES].resources == (REPLICA_RESOURCE[aws_calls.RDS_DB],)
    assert sts[aws_calls.REPLICA_INSTANCES].source == aws_calls.RDS_ACTIONS_PAGE
    assert aws_calls.RDS_INSTANCES not in sts and aws_calls.DESCRIBE_MASTER not in sts
    path.write_text(yaml.safe_dump(_manifest("mysql", "alternating_users", aws_calls.PLAIN, aws_calls.REPLICA_CLUSTER)))
    module, _ = api.load(path)
    sts = {s.sid: s for s in module.functions[0].policy.statements}
    assert sts[aws_calls.REPLICA_CLUSTERS].actions == ("rds:DescribeDBClusters",)
    assert sts[aws_calls.REPLICA_CLUSTERS].resources == (REPLICA_RESOURCE[aws_calls.RDS_CLUSTER],)
    assert aws_calls.REPLICA_INSTANCES not in sts


def test_rds_describes_are_scoped_to_the_account_and_region(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(_manifest("postgresql", "alternating_users", aws_calls.RDS_MANAGED_CLUSTER)))
    module, _ = api.load(path)
    sts = {s.sid: s for s in module.functions[0].policy.statements}
    assert sts[aws_calls.RDS_CLUSTERS].resources == (f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:*",)
    assert aws_calls.RDS_INSTANCES not in sts  # a cluster's master: DescribeDBClusters only
    assert sts[aws_calls.DESCRIBE_MASTER].resources == (MASTERS[aws_calls.RDS_MANAGED_CLUSTER],)
    doc = module.functions[0].policy.document()
    other_region = f"arn:aws:rds:eu-west-1:{ACCOUNT}:cluster:orders-aurora"
    assert policy_eval.evaluate([doc], policy_eval.Request("rds:DescribeDBClusters", other_region, {})) != "allowed"


def test_db2_single_user_needs_a_master_secret(tmp_path: Path) -> None:
    data = _manifest("db2", "single_user", None)
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(data))
    run = cli("validate", str(path))
    assert run.returncode == 2
    assert 'secrets["app/db"].master_secret' in run.stderr
    assert "db2 user cannot change its own password" in run.stderr
    assert aws_calls.STRATEGY_PAGE in run.stderr
    data["secrets"]["app/db"]["master_secret"] = {"arn": MASTERS[aws_calls.PLAIN]}
    path.write_text(yaml.safe_dump(data))
    assert cli("validate", str(path)).returncode == 0
    # other single-user functions still take none
    data["functions"]["fn"]["engine"] = "postgresql"
    path.write_text(yaml.safe_dump(data))
    run = cli("validate", str(path))
    assert run.returncode == 2 and "takes no master_secret" in run.stderr


def test_a_cluster_master_needs_a_function_that_reads_its_tag(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(_manifest("mariadb", "alternating_users", aws_calls.RDS_MANAGED_CLUSTER)))
    run = cli("validate", str(path))
    assert run.returncode == 2
    assert "SecretsManagerRDSMariaDBRotationMultiUser" in run.stderr and "rds!db- master" in run.stderr


def test_a_new_call_in_aws_code_fails_the_table(tmp_path: Path) -> None:
    """The guard works: the same code with one more call (a new AWS version) no longer matches."""
    source = function_files(required_copy())["SecretsManagerRDSPostgreSQLRotationMultiUser"].read_text(encoding="utf-8")
    changed = source.replace(
        "    rds_client = boto3.client('rds')\n",
        "    rds_client = boto3.client('rds')\n    rds_client.describe_db_proxies()\n",
        1,
    )
    assert changed != source
    (tmp_path / "lambda_function.py").write_text(changed, encoding="utf-8")
    found = read_calls(tmp_path / "lambda_function.py")
    assert ("rds", "describe_db_proxies", "?") in found
    assert found != aws_calls.CALLS["SecretsManagerRDSPostgreSQLRotationMultiUser"]


def _env(tmp_path: Path, package: dict, region: str = REGION, engine: str = "mysql") -> dict[str, str]:
    """The environment of a packaged function as generate writes it, parsed back from lambda.tf."""
    data = {
        "version": 1,
        "account_id": ACCOUNT,
        "region": region,
        "functions": {
            "fn": {
                "strategy": "alternating_users",
                "engine": engine,
                "package": {
                    "filename": "rotator.zip",
                    "handler": "lambda_function.lambda_handler",
                    "runtime": "python3.12",
                    **package,
                },
            }
        },
        "secrets": {
            "app/db": {
                "function": "fn",
                "master_secret": {"name": "app/db-admin"},
                "schedule": {"every_days": 30},
            }
        },
    }
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "rotator.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    run = cli("generate", "m.yaml", "--out", "out", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    lambdas = resources(load_module(tmp_path / "out" / "m"), "aws_lambda_function")
    (env,) = lambdas["fn"]["environment"]
    return env["variables"]


def test_password_options_reach_the_function_s_environment(tmp_path: Path) -> None:
    env = _env(
        tmp_path,
        {
            "password": {
                "length": 48,
                "exclude_characters": "/@\"'\\${",
                "exclude_punctuation": True,
                "require_each_included_type": False,
            },
            "username_character_limit": 32,
        },
    )
    assert env == {
        "SECRETS_MANAGER_ENDPOINT": f"https://secretsmanager.{REGION}.amazonaws.com",
        "PASSWORD_LENGTH": "48",
        "EXCLUDE_CHARACTERS": "/@\"'\\${",
        "EXCLUDE_PUNCTUATION": "true",
        "REQUIRE_EACH_INCLUDED_TYPE": "false",
        "USERNAME_CHARACTER_LIMIT": "32",
    }
    # every name is one AWS's functions read (test_environment_the_code_reads_is_known)
    assert set(env) <= {"SECRETS_MANAGER_ENDPOINT", "USERNAME_CHARACTER_LIMIT", *aws_calls.PASSWORD_OPTIONS}


def test_the_endpoint_is_secrets_manager_s_regional_one(tmp_path: Path) -> None:
    assert _env(tmp_path, {}, region="cn-north-1") == {
        "SECRETS_MANAGER_ENDPOINT": "https://secretsmanager.cn-north-1.amazonaws.com.cn"
    }


def test_a_raised_mysql_limit_admits_a_longer_user(tmp_path: Path) -> None:
    data = _manifest("mysql", "alternating_users", aws_calls.PLAIN)
    secret = data["secrets"]["app/db"]
    del secret["arn"]
    secret.update(
        create=True,
        rotate_immediately=True,
        connection={"host": "db.example.internal", "username": "reporting_user"},
    )
    data["functions"]["fn"] = {
        "strategy": "alternating_users",
        "engine": "mysql",
        "package": {"filename": "rotator.zip", "handler": "lambda_function.lambda_handler", "runtime": "python3.12"},
    }
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(data))
    run = cli("validate", str(path))
    assert run.returncode == 2 and "'reporting_user_clone' (20 characters)" in run.stderr
    data["functions"]["fn"]["package"]["username_character_limit"] = 20
    path.write_text(yaml.safe_dump(data))
    assert cli("validate", str(path)).returncode == 0
    secret["connection"]["username"] = "u" * 16  # 22 with _clone: over the raised limit
    path.write_text(yaml.safe_dump(data))
    assert "over its limit of 20" in cli("validate", str(path)).stderr


def test_engine_other_keeps_the_seed_s_master_grant(tmp_path: Path) -> None:
    """AWS's generic template reads no master secret; an alternating-users function of engine
    other still needs one and gets the permissions page's GetSecretValue on it."""
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(_manifest("other", "alternating_users", aws_calls.PLAIN)))
    module, _ = api.load(path)
    sts = {s.sid: s for s in module.functions[0].policy.statements}
    assert sts[aws_calls.READ_MASTER].actions == ("secretsmanager:GetSecretValue",)
    assert sts[aws_calls.READ_MASTER].resources == (MASTERS[aws_calls.PLAIN],)
    assert sts[aws_calls.READ_MASTER].code == ()
