"""`rotation-tf discover` against moto: the manifest it writes validates as written, marks
everything import: true, recognises AWS's rotation applications, reads no value unless told,
and (with terraform) adopts an account that already rotates: discover -> generate -> imports
-> plan (no destroy or replace) -> apply -> doctor passes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import liveworld as lw
import pytest
import yaml
from harness import Root
from lifecycle import ROTATION_ACTIONS, role_allows

from generator import api
from generator.live import commands

pytestmark = [pytest.mark.moto]

APP_ID = "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSPostgreSQLRotationSingleUser"


@pytest.fixture
def server(aws_server):
    return aws_server


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("ROTATION_TF_TODAY", "2026-11-29")


@pytest.fixture
def world(server, env):
    server.reset()
    w = lw.build(server)
    w.client("secretsmanager").create_secret(Name="plain/never-rotated", SecretString="{}")
    return w


def discover(
    w: lw.World, tmp_path: Path, *, read_values: bool = False, name: str = "discovered.yaml"
) -> tuple[Path, dict]:
    path = tmp_path / name
    code = commands.discover(
        commands.Connection(region=w.region, endpoint_url=w.server.url, max_attempts=2),
        out_path=path,
        read_values=read_values,
    )
    assert code == 0
    return path, yaml.safe_load(path.read_text())


def test_manifest_validates_as_written_and_imports_everything(world, tmp_path):
    path, data = discover(world, tmp_path)
    result = api.validate(path)
    assert result.exit == api.Exit.OK, [d.render() for d in result.diagnostics]
    assert set(data["secrets"]) == {*lw.SECRETS, lw.ALT_SECRET}  # not the master, not the unrotated secret
    text = path.read_text()
    assert "#   plain/never-rotated" in text
    for name, sec in data["secrets"].items():
        assert sec["import"] is True and sec["arn"] == world.secret_arns[name]
        assert sec["schedule"] == {"every_days": 30}
    assert data["secrets"][lw.SECRETS[0]]["kms_key_arn"] == world.ids["key"]
    assert "kms_key_arn" not in data["secrets"][lw.SECRETS[1]]  # aws/secretsmanager
    fn = data["functions"][lw.FUNCTION]
    assert fn["existing_function_arn"] == world.ids["function"]
    assert fn["execution_role_arn"] == world.ids["role"]  # GetFunction's Configuration.Role, no extra call
    assert fn["vpc"] == {
        "subnet_ids": sorted([world.ids["subnet-a"], world.ids["subnet-b"]]),
        "security_group_ids": [world.ids["fn-sg"]],
    }
    # what cannot be known without a value is said next to the field
    assert "engine: other  # UNKNOWN without reading a value" in text
    assert "strategy: single_user  # UNKNOWN" in text


def test_no_get_secret_value_without_read_values(world, tmp_path, monkeypatch):
    import botocore.client

    real = botocore.client.BaseClient._make_api_call
    seen: list[str] = []

    def guard(self, operation_name, api_params):
        seen.append(operation_name)
        if operation_name == "GetSecretValue":
            raise AssertionError("discover called GetSecretValue without --read-values")
        return real(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", guard)
    discover(world, tmp_path)
    assert "ListSecrets" in seen and "GetSecretValue" not in seen


def test_read_values_takes_engine_and_masterarn_only(world, tmp_path):
    path, data = discover(world, tmp_path, read_values=True)
    assert api.validate(path).exit == api.Exit.OK
    alt = data["functions"][lw.ALT_FUNCTION]
    assert alt["strategy"] == "alternating_users" and alt["engine"] == "postgresql"
    assert data["secrets"][lw.ALT_SECRET]["master_secret"] == {
        "arn": world.secret_arns[lw.MASTER],
        "kms_key_arn": world.ids["master-key"],
    }
    text = path.read_text()
    for secret in ("initial-password", "admin-password", "db.example.internal", '"app"'):
        assert secret not in text


def test_alternating_without_values_says_master_is_unknown(world, tmp_path):
    world.client("lambda").tag_resource(
        Resource=world.ids["alt-function"],
        Tags={
            "serverlessrepo:applicationId": APP_ID.replace("SingleUser", "MultiUser"),
            "serverlessrepo:semanticVersion": "1.1.600",
        },
    )
    path, data = discover(world, tmp_path)
    assert api.validate(path).exit == api.Exit.OK
    text = path.read_text()
    assert "UNKNOWN-master-secret" in text and "set it to the value's masterarn" in text


def test_rotation_application_is_recognised(world, tmp_path):
    # An application function takes one kms_key_arn: leave it the secret under aws/secretsmanager.
    world.client("secretsmanager").cancel_rotate_secret(SecretId=world.secret_arns[lw.SECRETS[0]])
    world.client("lambda").tag_resource(
        Resource=world.ids["function"],
        Tags={"serverlessrepo:applicationId": APP_ID, "serverlessrepo:semanticVersion": "1.1.600",
              "aws:cloudformation:stack-name": "serverlessrepo-pg-rotator"},
    )  # fmt: skip
    path, data = discover(world, tmp_path)
    assert api.validate(path).exit == api.Exit.OK
    fn = data["functions"]["postgresql-single"]
    assert fn["rotation_app"] == {"semantic_version": "1.1.600"}
    assert (fn["engine"], fn["strategy"]) == ("postgresql", "single_user")
    assert "existing_function_arn" not in fn and "import" not in fn
    assert data["secrets"][lw.SECRETS[1]]["function"] == "postgresql-single"
    assert "stack serverlessrepo-pg-rotator" in path.read_text()


def test_an_entry_that_would_not_validate_is_left_out_with_the_reason(world, tmp_path):
    world.client("lambda").tag_resource(
        Resource=world.ids["function"],
        Tags={"serverlessrepo:applicationId": APP_ID, "serverlessrepo:semanticVersion": "1.1.600"},
    )
    path, data = discover(world, tmp_path)  # its two secrets use two keys: an application takes one
    assert api.validate(path).exit == api.Exit.OK
    assert set(data["secrets"]) == {lw.ALT_SECRET}
    assert "#   functions.postgresql-single: AWS's rotation application takes one kms_key_arn" in path.read_text()


def test_calls_per_secret_and_no_refetch(world, tmp_path):
    from generator.live.client import Aws
    from generator.live.discover import Discoverer

    aws = Aws(region=world.region, endpoint_url=world.server.url, max_attempts=2)
    try:
        Discoverer(aws).run()
    finally:
        aws.close()
    calls = dict(aws.calls)
    assert calls.get("lambda:GetFunction") == 2  # two functions, each once
    assert calls.get("kms:DescribeKey") == 1  # one customer managed key among the rotated secrets
    assert calls.get("secretsmanager:ListSecrets") == 1
    assert "secretsmanager:GetSecretValue" not in calls and "secretsmanager:DescribeSecret" not in calls
    assert aws.total_calls <= 2 * 3 + 3 * 2 + 1 + 1


@pytest.mark.terraform
def test_adopt_an_account_that_already_rotates(terraform, server, env, tmp_path):
    """The story of the issue, in moto: discover -> generate -> imports -> plan -> apply -> doctor.

    The grants must land on the role the functions really run as (read back from
    get_function), not on a role the module makes up: the account's own grants for the
    secrets are taken off that role before the plan, so after apply only the module's policy
    can allow the rotation actions, and the role's statements are evaluated for each secret."""
    server.reset()
    w = lw.build(server)
    w.secret_arns["plain/never-rotated"] = w.client("secretsmanager").create_secret(
        Name="plain/never-rotated", SecretString="{}"
    )["ARN"]
    path, data = discover(w, tmp_path, read_values=True, name="adopted.yaml")
    for key in (lw.FUNCTION, lw.ALT_FUNCTION):
        assert data["functions"][key]["execution_role_arn"] == w.ids["role"]  # GetFunction's Configuration.Role
        assert data["functions"][key]["import"] is False
    text = path.read_text()
    assert "apply adds its least-privilege inline\n    #                policy to legacy-rotator-role" in text
    # The account's own policy keeps only what is not about the secrets (the VPC's ENI actions).
    own = {
        "Version": "2012-10-17",
        "Statement": [s for s in lw._role_policy(w, [], [], "")["Statement"] if s["Sid"] == "Eni"],
    }
    iam, lam = w.client("iam"), w.client("lambda")
    iam.put_role_policy(RoleName=lw.ROLE, PolicyName="rotation", PolicyDocument=json.dumps(own))
    result = api.generate(path, tmp_path / "out")
    assert result.exit == api.Exit.OK, [d.render() for d in result.diagnostics]
    root = Root(terraform, tmp_path / "root", result.target, region=w.region, endpoint=server.url)
    from generator import imports as imports_mod

    (root.path / "imports.tf").write_text(imports_mod.render(result.module, "module.rotation"))
    root.init()
    _, changes = root.plan_changes()
    destroyed = {addr: acts for addr, acts in changes.items() if "delete" in acts}
    assert destroyed == {}, destroyed
    # Each rotation is imported as it is (same function, same schedule): no update.
    rotations = {a: c for a, c in changes.items() if "aws_secretsmanager_secret_rotation" in a}
    assert rotations == {
        f"module.rotation.aws_secretsmanager_secret_rotation.{n.replace('/', '_')}": ["import"] for n in data["secrets"]
    }
    # The rest is what the module adds: its least-privilege inline policy on each function's
    # own role and the invoke permission with aws:SourceAccount (created, since the account's
    # own have other names). No role: an existing function keeps the one it runs as.
    added = {a: a.split(".")[2] for a, c in changes.items() if c == ["create"]}
    assert sorted(added.values()) == ["aws_iam_role_policy"] * 2 + ["aws_lambda_permission"] * 2, changes
    # nothing that holds data is created either: the secrets are the account's
    assert not [a for a in changes if ".aws_secretsmanager_secret." in a or "secret_version" in a]
    root.run("apply", "-auto-approve", "-input=false", "-no-color", "-lock=false")
    for name in data["secrets"]:
        lw.finish_rotation(w, name)  # moto limit PENDING, if apply rotated

    by_key = {fn.key: fn for fn in result.module.functions}
    for key, fn_data in data["functions"].items():
        role_arn = lam.get_function(FunctionName=fn_data["existing_function_arn"])["Configuration"]["Role"]
        assert role_arn == w.ids["role"]
        role = role_arn.rsplit("/", 1)[1]
        mine = [n for n, sec in data["secrets"].items() if sec.get("function") == key]
        assert mine
        for name in mine:
            for action in ROTATION_ACTIONS:
                assert role_allows(iam, role, action, w.secret_arns[name]), f"{key}: {role} may not {action} on {name}"
        assert by_key[key].policy_name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    # ...and nothing more: not on a secret none of them rotates; the master secret is read only
    assert not any(role_allows(iam, lw.ROLE, a, w.secret_arns["plain/never-rotated"]) for a in ROTATION_ACTIONS)
    master = w.secret_arns[lw.MASTER]
    assert [a for a in ROTATION_ACTIONS if role_allows(iam, lw.ROLE, a, master)] == ["secretsmanager:GetSecretValue"]
    # The role's own policy is untouched and sits beside the module's two; no other role exists.
    assert sorted(iam.list_role_policies(RoleName=lw.ROLE)["PolicyNames"]) == sorted(
        ["rotation", *(fn.policy_name for fn in by_key.values())]
    )
    assert iam.get_role_policy(RoleName=lw.ROLE, PolicyName="rotation")["PolicyDocument"] == own
    roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert roles == {lw.ROLE}, roles
    assert not [r for r in roles if "-rotation-" in r]
    code, again = root.plan_changes()
    assert code == 0, f"the re-plan is not empty: {again}"
    out = io.StringIO()
    code = commands.doctor(path, commands.Connection(endpoint_url=server.url, max_attempts=2), fmt="json", out=out)
    findings = json.loads(out.getvalue())["findings"]
    assert code == 0, [f for f in findings if f["status"] != "pass"]
    assert {f["status"] for f in findings} == {"pass"}
    assert {(f["subject"], f["check"]) for f in findings} >= {(n, "grants") for n in data["secrets"]}
    # Discovered again, the module's policy on the function's role and its permission are
    # found, so the functions are now import: true (what a second team adopting it would see).
    _, again_data = discover(w, tmp_path, name="rediscovered.yaml")
    assert {k: f["import"] for k, f in again_data["functions"].items()} == {lw.FUNCTION: True, lw.ALT_FUNCTION: True}


def test_managed_rotation_becomes_managed_true(world, tmp_path):
    rds, sm = world.client("rds"), world.client("secretsmanager")
    arn = rds.create_db_instance(
        DBInstanceIdentifier="orders", Engine="postgres", DBInstanceClass="db.t3.micro",
        MasterUsername="admin", ManageMasterUserPassword=True, AllocatedStorage=20,
    )["DBInstance"]["MasterUserSecret"]["SecretArn"]  # fmt: skip
    sm.rotate_secret(SecretId=arn, RotationRules={"AutomaticallyAfterDays": 7})
    name = sm.describe_secret(SecretId=arn)["Name"]
    path, data = discover(world, tmp_path)
    assert api.validate(path).exit == api.Exit.OK
    assert data["secrets"][name] == {"managed": True, "arn": arn, "schedule": {"every_days": 7}, "import": True}
    assert "rotated by rds (managed rotation)" in path.read_text()


def test_empty_account_writes_nothing(server, env, tmp_path, capsys):
    server.reset()
    path = tmp_path / "none.yaml"
    code = commands.discover(
        commands.Connection(region="us-east-1", endpoint_url=server.url, max_attempts=2), out_path=path
    )
    assert code == 0 and not path.exists()
    assert "no secret in account 111122223333, region us-east-1 rotates" in capsys.readouterr().err


def test_only_managed_secrets_give_a_manifest_without_functions(server, env, tmp_path):
    server.reset()
    rds, sm = server.client("rds"), server.client("secretsmanager")
    arn = rds.create_db_instance(
        DBInstanceIdentifier="orders", Engine="postgres", DBInstanceClass="db.t3.micro",
        MasterUsername="admin", ManageMasterUserPassword=True, AllocatedStorage=20,
    )["DBInstance"]["MasterUserSecret"]["SecretArn"]  # fmt: skip
    sm.rotate_secret(SecretId=arn, RotationRules={"AutomaticallyAfterDays": 7})
    w = lw.World(server)
    path, data = discover(w, tmp_path)
    assert api.validate(path).exit == api.Exit.OK
    assert "functions" not in data and list(data["secrets"].values())[0]["managed"] is True


def test_read_values_sets_replica_of_master(world, tmp_path):
    """A secret whose host is not its master's: replica_of_master names what AWS's function
    will ask RDS about (is_rds_replica_database), and the manifest validates; no host is written."""
    sm = world.client("secretsmanager")
    alt = json.loads(sm.get_secret_value(SecretId=world.secret_arns[lw.ALT_SECRET])["SecretString"])
    replica = "orders-replica-1.abc123.us-east-1.rds.amazonaws.com"
    sm.put_secret_value(SecretId=world.secret_arns[lw.ALT_SECRET], SecretString=json.dumps(dict(alt, host=replica)))
    path, data = discover(world, tmp_path, read_values=True)
    assert api.validate(path).exit == api.Exit.OK
    assert data["secrets"][lw.ALT_SECRET]["replica_of_master"] == {"db_instance": "orders-replica-1"}
    assert "replica_of_master" not in data["secrets"][lw.SECRETS[0]]
    assert replica not in path.read_text()
    # an Aurora master: the reader of its cluster, named by the master's (writer) endpoint
    master = json.loads(sm.get_secret_value(SecretId=world.secret_arns[lw.MASTER])["SecretString"])
    writer = "orders-aurora.cluster-abc123.us-east-1.rds.amazonaws.com"
    sm.put_secret_value(SecretId=world.secret_arns[lw.MASTER],
                        SecretString=json.dumps(dict(master, engine="aurora-postgresql", host=writer)))  # fmt: skip
    sm.put_secret_value(SecretId=world.secret_arns[lw.ALT_SECRET],
                        SecretString=json.dumps(dict(alt, host=writer.replace("cluster-", "cluster-ro-"))))  # fmt: skip
    path, data = discover(world, tmp_path, read_values=True, name="aurora.yaml")
    assert api.validate(path).exit == api.Exit.OK
    assert data["secrets"][lw.ALT_SECRET]["replica_of_master"] == {"db_cluster": "orders-aurora"}
