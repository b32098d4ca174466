"""The manifest's replica_of_master and master_secret.managed_by (issue 25, section 3):
what validate accepts and refuses, with the field named, and what explain then cites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helpers.cli import cli

ACCOUNT, REGION = "111122223333", "us-east-1"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app/reader-AbCdEf"
MASTER = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app/admin-Mst456"
REDSHIFT_MASTER = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:redshift!orders-awsuser-Rs1234"


def _manifest(engine: str = "postgresql", strategy: str = "alternating_users", **secret: object) -> dict:
    sec: dict = {"function": "fn", "arn": SECRET, "schedule": {"every_days": 30}}
    if strategy == "alternating_users":
        sec["master_secret"] = {"arn": MASTER}
    sec.update(secret)
    return {
        "version": 1,
        "account_id": ACCOUNT,
        "region": REGION,
        "functions": {"fn": {"strategy": strategy, "engine": engine,
                             "existing_function_arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rotator"}},
        "secrets": {"app/reader": sec},
    }  # fmt: skip


def _validate(tmp_path: Path, data: dict) -> tuple[int, str]:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    run = cli("validate", str(path))
    return run.returncode, run.stderr


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (_manifest(replica_of_master={"db_instance": "a", "db_cluster": "b"}), "replica_of_master", "not both"),
        (_manifest(replica_of_master={}), "replica_of_master", "give db_instance"),
        (_manifest(strategy="single_user", replica_of_master={"db_instance": "a"}), "replica_of_master", "reads no master secret"),
        (_manifest("mariadb", replica_of_master={"db_cluster": "a"}), "replica_of_master.db_cluster", "only a read replica"),
        (_manifest("mongodb", replica_of_master={"db_instance": "a"}), "replica_of_master.db_instance", "accepts no host other than its master's"),
        (_manifest(replica_of_master={"db_instance": "1-not-an-id"}), "replica_of_master.db_instance", "RDS DB instance identifier"),
        (_manifest("redshift", master_secret={"arn": REDSHIFT_MASTER}), "master_secret", "managed_by: redshift_cluster"),
        (_manifest(master_secret={"arn": MASTER, "managed_by": "redshift_cluster"}), "master_secret.managed_by", "is not one"),
        (_manifest(master_secret={"arn": REDSHIFT_MASTER, "managed_by": "redshift_cluster"}), "master_secret", "only AWS's Redshift"),
    ],
)  # fmt: skip
def test_refused_with_the_field_named(tmp_path: Path, data: dict, field: str, words: str) -> None:
    code, err = _validate(tmp_path, data)
    assert code == 2, err
    assert f'secrets["app/reader"].{field}:' in err and words in err, err


def test_replica_of_master_on_a_managed_or_external_secret_is_refused(tmp_path: Path) -> None:
    data = _manifest()
    data["functions"] = {}
    data["secrets"]["app/reader"] = {
        "managed": True,
        "replica_of_master": {"db_instance": "a"},
        "schedule": {"every_days": 30},
    }
    code, err = _validate(tmp_path, data)
    assert code == 2 and 'secrets["app/reader"].replica_of_master: replica_of_master does not apply to a managed secret' in err, err  # fmt: skip
    data["secrets"]["app/reader"] = {"external": {"type": "SalesforceClientSecret", "metadata": {}},
                                     "replica_of_master": {"db_instance": "a"}, "schedule": {"every_days": 30}}  # fmt: skip
    code, err = _validate(tmp_path, data)
    assert code == 2 and 'secrets["app/reader"].replica_of_master:' in err, err


def test_rotation_app_cannot_be_granted_the_replica_check(tmp_path: Path) -> None:
    data = _manifest(replica_of_master={"db_instance": "orders-replica-1"})
    data["functions"]["fn"] = {"strategy": "alternating_users", "engine": "postgresql", "rotation_app": {}}
    code, err = _validate(tmp_path, data)
    assert code == 2 and "use package or existing_function_arn" in err, err


@pytest.mark.parametrize(
    ("data", "sid", "call"),
    [
        (_manifest(replica_of_master={"db_instance": "orders-replica-1"}), "DescribeReadReplicas", "describe_db_instances (line 597)"),
        (_manifest("mysql", replica_of_master={"db_cluster": "orders-aurora"}), "DescribeAuroraReaders", "describe_db_clusters (line 675)"),
        (_manifest("redshift", master_secret={"arn": REDSHIFT_MASTER, "managed_by": "redshift_cluster"}), "DescribeRedshiftClusters", "describe_clusters (line 606)"),
        (_manifest("redshift", master_secret={"arn": REDSHIFT_MASTER, "managed_by": "redshift_serverless"}), "ListRedshiftServerless", "list_workgroups (line 559)"),
        (_manifest("redshift"), "DescribeAdminSecrets", "describe_secret (line 490)"),
    ],
)  # fmt: skip
def test_accepted_and_explained_with_aws_s_call(tmp_path: Path, data: dict, sid: str, call: str) -> None:
    code, err = _validate(tmp_path, data)
    assert code == 0, err
    run = cli("explain", str(tmp_path / "m.yaml"), "--format", "json")
    assert run.returncode == 0, run.stderr
    statements = [st for role in json.loads(run.stdout)["roles"] for st in role["statements"]]
    (st,) = [st for st in statements if st["sid"] == sid]
    assert call in st["code"]["calls"], st
