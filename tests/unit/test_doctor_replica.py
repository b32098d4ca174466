"""doctor's ``replica`` check (``--read-values``), in-process (issue 25, section 3): the host
in a secret's value is its master's, or ``replica_of_master`` says what AWS's function will
find (tests/helpers/fake_account.py holds the account in dicts; generator/live/checks/replica.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import fake_account as gw

from generator.live.findings import Finding

SECRET = f"arn:aws:secretsmanager:{gw.REGION}:{gw.ACCOUNT}:secret:app/reader-AbCdEf"
MASTER = f"arn:aws:secretsmanager:{gw.REGION}:{gw.ACCOUNT}:secret:app/admin-Mst456"
RDS_MASTER = (
    f"arn:aws:secretsmanager:{gw.REGION}:{gw.ACCOUNT}:secret:rds!db-0d72c586-d9ba-46f5-aced-dd0fc6eb6ba4-fGbVUQ"
)
PRIMARY = "orders.abc123.us-east-1.rds.amazonaws.com"
REPLICA = "orders-replica-1.abc123.us-east-1.rds.amazonaws.com"
WRITER = "orders-aurora.cluster-abc123.us-east-1.rds.amazonaws.com"
READER = "orders-aurora.cluster-ro-abc123.us-east-1.rds.amazonaws.com"


def _manifest(engine: str = "postgresql", master: str = MASTER, replica: dict | None = None) -> dict:
    secret: dict = {"function": "fn", "arn": SECRET, "master_secret": {"arn": master}, "schedule": {"every_days": 30}}
    if replica:
        secret["replica_of_master"] = replica
    return {
        "version": 1,
        "account_id": gw.ACCOUNT,
        "region": gw.REGION,
        "functions": {"fn": {"strategy": "alternating_users", "engine": engine,
                             "existing_function_arn": f"arn:aws:lambda:{gw.REGION}:{gw.ACCOUNT}:function:rotator"}},
        "secrets": {"app/reader": secret},
    }  # fmt: skip


def _check(tmp_path: Path, data: dict, host: str, master_value: dict, reader: gw.FakeAccount | None = None) -> Finding:
    module = gw.load(tmp_path, data)
    reader = reader or gw.FakeAccount()
    reader.add_secret(SECRET)
    reader.values[SECRET] = {"engine": "postgres", "host": host, "username": "reader", "password": "x"}
    master = data["secrets"]["app/reader"]["master_secret"]["arn"]
    if master not in reader.secrets:
        reader.add_secret(master)
    reader.values[master] = master_value
    return gw.check(module, reader, "app/reader", "replica", read_values=True)


def _master(host: str, engine: str = "postgres") -> dict:
    return {"engine": engine, "host": host, "username": "admin", "password": "y"}


def test_the_master_s_host_passes(tmp_path: Path) -> None:
    assert _check(tmp_path, _manifest(), PRIMARY, _master(PRIMARY)).status == "pass"


@pytest.mark.parametrize(
    ("engine", "master", "field"),
    [
        ("postgresql", _master(PRIMARY), "replica_of_master.db_instance: orders-replica-1"),
        ("mysql", _master(PRIMARY, "mysql"), "replica_of_master.db_instance: orders-replica-1"),
        ("mariadb", _master(PRIMARY, "mariadb"), "replica_of_master.db_instance: orders-replica-1"),
        ("postgresql", _master(WRITER, "aurora-postgresql"), "replica_of_master.db_cluster: orders-aurora"),
        ("mysql", _master(WRITER, "aurora-mysql"), "replica_of_master.db_cluster: orders-aurora"),
    ],
)
def test_another_host_without_the_field_fails_naming_it(tmp_path: Path, engine: str, master: dict, field: str) -> None:
    host = READER if "cluster" in field else REPLICA
    f = _check(tmp_path, _manifest(engine), host, master)
    assert f.status == "fail", f
    assert "is_rds_replica_database" in f.message and host in f.message
    assert f"secrets.app/reader.{field}" in f.fix


def test_the_named_replica_passes(tmp_path: Path) -> None:
    f = _check(tmp_path, _manifest(replica={"db_instance": "orders-replica-1"}), REPLICA, _master(PRIMARY))
    assert f.status == "pass", f
    data = _manifest(replica={"db_cluster": "orders-aurora"})
    f = _check(tmp_path, data, READER, _master(WRITER, "aurora-postgresql"))
    assert f.status == "pass", f


def test_a_field_that_is_not_what_aws_s_code_finds_fails(tmp_path: Path) -> None:
    # another instance than the host's
    f = _check(tmp_path, _manifest(replica={"db_instance": "orders-replica-2"}), REPLICA, _master(PRIMARY))
    assert f.status == "fail" and "db_instance: orders-replica-1" in f.fix, f
    # an Aurora master: the code checks a reader of the cluster, not an instance
    f = _check(tmp_path, _manifest(replica={"db_instance": "orders-aurora-2"}), READER.replace("cluster-ro-", ""), _master(WRITER, "aurora-postgresql"))  # fmt: skip
    assert f.status == "fail" and "db_cluster: orders-aurora" in f.fix, f
    # a cluster whose master host is an instance endpoint: the code describes the instance first
    f = _check(tmp_path, _manifest(replica={"db_cluster": "orders-aurora"}), READER, _master(PRIMARY, "aurora-postgresql"))  # fmt: skip
    assert f.status == "fail" and "cluster's (writer) endpoint" in f.fix, f
    # the field where the hosts are the same: the grant is unused
    f = _check(tmp_path, _manifest(replica={"db_instance": "orders"}), PRIMARY, _master(PRIMARY))
    assert f.status == "warn" and "remove secrets.app/reader.replica_of_master" == f.fix, f


def test_a_function_without_a_replica_path_needs_the_master_s_host(tmp_path: Path) -> None:
    data = _manifest("mongodb")
    f = _check(tmp_path, data, "reader.example.internal", _master("primary.example.internal", "mongo"))
    assert f.status == "fail" and f.fix == "give the secret and its master secret the same host", f


def test_an_rds_managed_master_s_host_is_its_instance_s_endpoint(tmp_path: Path) -> None:
    """The master holds only username and password: its host is the endpoint of the instance
    its tag names, as AWS's code reads it from RDS."""
    reader = gw.FakeAccount()
    db_arn = f"arn:aws:rds:{gw.REGION}:{gw.ACCOUNT}:db:orders"
    reader.add_secret(RDS_MASTER, tags={"aws:rds:primaryDBInstanceArn": db_arn})
    reader.databases_ = [("RDS instance orders", PRIMARY, 5432, [])]
    data = _manifest(master=RDS_MASTER)
    managed = {"username": "admin", "password": "y"}
    assert _check(tmp_path, data, PRIMARY, managed, reader).status == "pass"
    f = _check(tmp_path, data, REPLICA, managed, reader)
    assert f.status == "fail" and "db_instance: orders-replica-1" in f.fix, f
    reader.databases_ = []
    f = _check(tmp_path, data, REPLICA, managed, reader)
    assert f.status == "unknown", f


def test_a_redshift_managed_master_s_host_is_its_cluster_s_or_not_judged(tmp_path: Path) -> None:
    """The Redshift function accepts only its admin secret's host: a provisioned cluster's
    endpoint (from the tag); a Serverless namespace's workgroup doctor does not read: unknown."""
    master = f"arn:aws:secretsmanager:{gw.REGION}:{gw.ACCOUNT}:secret:redshift!orders-awsuser-Rs1234"
    endpoint = "orders.abc123.us-east-1.redshift.amazonaws.com"
    reader = gw.FakeAccount()
    reader.add_secret(master, tags={"aws:redshift:primaryclusterarn": f"arn:aws:redshift:{gw.REGION}:{gw.ACCOUNT}:cluster:orders"})  # fmt: skip
    reader.databases_ = [("Redshift cluster orders", endpoint, 5439, [])]
    data = _manifest("redshift", master=master)
    data["secrets"]["app/reader"]["master_secret"]["managed_by"] = "redshift_cluster"
    admin = {"username": "awsuser", "password": "y"}
    assert _check(tmp_path, data, endpoint, admin, reader).status == "pass"
    f = _check(tmp_path, data, "other.example.internal", admin, reader)
    assert f.status == "fail" and f.fix == "give the secret and its master secret the same host", f
    data["secrets"]["app/reader"]["master_secret"]["managed_by"] = "redshift_serverless"
    reader = gw.FakeAccount()
    reader.add_secret(master, tags={"aws:redshift-serverless:namespacearn": "arn:aws:redshift-serverless:us-east-1:111122223333:namespace/x"})  # fmt: skip
    f = _check(tmp_path, data, endpoint, admin, reader)
    assert f.status == "unknown" and "workgroup" in f.message, f
