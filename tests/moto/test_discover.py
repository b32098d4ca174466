"""`rotation-tf discover` against moto: the manifest it writes validates as written, marks
everything import: true, recognises AWS's rotation applications, reads no value unless told,
and (with terraform) adopts an account that already rotates: discover -> generate -> imports
-> plan (no destroy or replace) -> apply -> doctor passes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from helpers import liveworld as lw
from helpers.harness import Root
from helpers.lifecycle import ROTATION_ACTIONS, role_allows

from generator import api
from generator.live import commands
from generator.manifest import PLACEHOLDERS

pytestmark = [pytest.mark.moto]

APP_ID = "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSPostgreSQLRotationSingleUser"


@pytest.fixture
def server(aws_server):
    return aws_server


@pytest.fixture
def world(server, aws_env):
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


def test_manifest_validates_once_filled_in_and_imports_everything(world, tmp_path):
    path, data = discover(world, tmp_path)
    # issue 25: without --read-values the engine and strategy of a custom function cannot be
    # known; they are FILL-IN placeholders that validate rejects, naming the flag that fills them
    assert lw.placeholder_messages(path) == [
        f"functions.{fn}.{field}: replace the placeholder FILL-IN-{field.upper()} with {PLACEHOLDERS[f'FILL-IN-{field.upper()}'][0]}"
        for fn in (lw.ALT_FUNCTION, lw.FUNCTION) for field in ("strategy", "engine")
    ]  # fmt: skip
    filled = tmp_path / "filled.yaml"
    filled.write_text(lw.fill_in(path.read_text()))
    result = api.validate(filled)
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
    # what cannot be known without a value is said above the field
    assert data["functions"][lw.FUNCTION]["strategy"] == "FILL-IN-STRATEGY"
    assert data["functions"][lw.FUNCTION]["engine"] == "FILL-IN-ENGINE"
    assert (
        "    # strategy: no value read: alternating_users if its secrets' values hold masterarn (rotation-tf discover "
        "--read-values reads them, or set it)\n    strategy: FILL-IN-STRATEGY\n" in text
    )
    assert "master_secret" not in text  # no guess: the strategy decides, and no value was read


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


def test_alternating_without_values_leaves_the_master_to_fill_in(world, tmp_path):
    """It was an UNKNOWN-master-secret ARN that validated: a GetSecretValue grant on a secret
    that does not exist. It is a placeholder validate rejects."""
    world.client("lambda").tag_resource(
        Resource=world.ids["alt-function"],
        Tags={
            "serverlessrepo:applicationId": APP_ID.replace("SingleUser", "MultiUser"),
            "serverlessrepo:semanticVersion": "1.1.600",
        },
    )
    path, data = discover(world, tmp_path)
    assert data["secrets"][lw.ALT_SECRET]["master_secret"] == {"arn": "FILL-IN-MASTER-SECRET-ARN"}
    assert (
        "      # no value read: the masterarn in this secret's value (rotation-tf discover --read-values reads them, "
        "or set it)\n      arn: FILL-IN-MASTER-SECRET-ARN\n" in path.read_text()
    )
    assert (
        f'secrets["{lw.ALT_SECRET}"].master_secret.arn: replace the placeholder FILL-IN-MASTER-SECRET-ARN'
        in "\n".join(d.render() for d in api.validate(path).diagnostics)
    )
    assert "UNKNOWN" not in path.read_text()
    filled = tmp_path / "filled.yaml"
    filled.write_text(lw.fill_in(path.read_text(), master=world.secret_arns[lw.MASTER]))
    assert api.validate(filled).exit == api.Exit.OK


def test_rotation_application_is_recognised(world, tmp_path):
    # An application function takes one kms_key_arn: leave it the secret under aws/secretsmanager.
    world.client("secretsmanager").cancel_rotate_secret(SecretId=world.secret_arns[lw.SECRETS[0]])
    world.client("lambda").tag_resource(
        Resource=world.ids["function"],
        Tags={"serverlessrepo:applicationId": APP_ID, "serverlessrepo:semanticVersion": "1.1.600",
              "aws:cloudformation:stack-name": "serverlessrepo-pg-rotator"},
    )  # fmt: skip
    path, data = discover(world, tmp_path)
    assert [m.split(":")[0] for m in lw.placeholder_messages(path)] == [  # the custom function's only
        f"functions.{lw.ALT_FUNCTION}.strategy",
        f"functions.{lw.ALT_FUNCTION}.engine",
    ]
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
    path, data = discover(world, tmp_path, read_values=True)  # its two secrets use two keys: an application takes one
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
def test_adopt_an_account_that_already_rotates(terraform, server, aws_env, tmp_path):
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
    _, changes = root.plan_changes(out="tfplan")
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
    root.apply_plan()  # what was planned, and only that
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
    path, data = discover(world, tmp_path, read_values=True)
    assert api.validate(path).exit == api.Exit.OK
    assert data["secrets"][name] == {"managed": True, "arn": arn, "schedule": {"every_days": 7}, "import": True}
    assert "rotated by rds (managed rotation)" in path.read_text()


def test_empty_account_writes_nothing(server, aws_env, tmp_path, capsys):
    server.reset()
    path = tmp_path / "none.yaml"
    code = commands.discover(
        commands.Connection(region="us-east-1", endpoint_url=server.url, max_attempts=2), out_path=path
    )
    assert code == 0 and not path.exists()
    assert "no secret in account 111122223333, region us-east-1 rotates" in capsys.readouterr().err


def test_only_managed_secrets_give_a_manifest_without_functions(server, aws_env, tmp_path):
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


def test_what_discover_cannot_write_is_its_own_error_not_exit_0(world, tmp_path, monkeypatch, capsys):
    """issue 26: a manifest discover generated that does not parse (a YAML syntax error, as an
    account string once made) wrote nothing and exited 0. It is exit 4, saying why."""
    from generator.live.discover import Discoverer

    real = Discoverer._render
    monkeypatch.setattr(Discoverer, "_render", lambda self, *a, **kw: real(self, *a, **kw) + 'broken: "open\n')
    path = tmp_path / "found.yaml"
    code = commands.discover(
        commands.Connection(region=world.region, endpoint_url=world.server.url, max_attempts=2), out_path=path
    )
    err = capsys.readouterr().err
    assert code == 4 and not path.exists()
    assert err.startswith("rotation-tf: discover wrote nothing: discovered.yaml:") and "please report it" in err
    assert len(err.splitlines()) == 1


# ---- a value never silently chooses a grant (issue 26, section 3) ------------------------------


def _rotated(w: lw.World, function: str, values: dict[str, dict[str, str]]) -> dict[str, str]:
    """Secrets with these values, rotated by a new custom function (its role: the world's)."""
    lam, sm = w.client("lambda"), w.client("secretsmanager")
    fn_arn = lam.create_function(
        FunctionName=function, Runtime="python3.12", Role=w.ids["role"], Handler="lambda_function.lambda_handler",
        Code={"ZipFile": lw.dummy_zip()},
    )["FunctionArn"]  # fmt: skip
    arns = {}
    for name, value in values.items():
        arns[name] = sm.create_secret(Name=name, SecretString=json.dumps(value))["ARN"]
        sm.rotate_secret(SecretId=arns[name], RotationLambdaARN=fn_arn, RotationRules={"AutomaticallyAfterDays": 30},
                         RotateImmediately=False)  # fmt: skip
        w.secret_arns[name] = arns[name]
        lw.finish_rotation(w, name)
    return arns


VALUE = {"engine": "postgres", "host": "db.example.internal", "username": "app", "password": "pw"}
SIBLINGS = [f"fleet/app-{i:02d}" for i in range(15)]


def _discovered(w: lw.World, tmp_path: Path, name: str) -> tuple[Path, dict, str]:
    path = tmp_path / name
    code = commands.discover(
        commands.Connection(region=w.region, endpoint_url=w.server.url, max_attempts=2), out_path=path, read_values=True
    )
    assert code == 0
    return path, yaml.safe_load(path.read_text()), path.read_text()


def test_one_secrets_masterarn_never_changes_its_siblings(world, tmp_path, capsys):
    """issue 26: one single-user secret with a masterarn switched its whole function to
    alternating_users, and its 15 siblings got an UNKNOWN master. Now the function's strategy
    is FILL-IN with the evidence, the siblings' entries are what they are without that value,
    and the one secret's master is its own, said where it came from and listed in the summary."""
    master = world.secret_arns[lw.MASTER]
    _rotated(world, "fleet-rotator", {**dict.fromkeys(SIBLINGS, VALUE), "fleet/odd": dict(VALUE, masterarn=master)})
    path, data, text = _discovered(world, tmp_path, "odd.yaml")
    err = capsys.readouterr().err
    fn = data["functions"]["fleet-rotator"]
    assert (fn["strategy"], fn["engine"]) == ("FILL-IN-STRATEGY", "postgresql")
    assert (
        "    # strategy: the values do not agree: 1 of 16 name a masterarn (fleet/odd); 15 of 16 do not "
        "(fleet/app-00, fleet/app-01, fleet/app-02 and 12 more)\n    strategy: FILL-IN-STRATEGY\n" in text
    )
    assert "UNKNOWN" not in text
    # the odd secret: its own master, from its own value, said so
    assert data["secrets"]["fleet/odd"]["master_secret"]["arn"] == master
    assert (
        "      # from the values: masterarn in this secret's own value names secret prod/users/db-admin of account "
        f"111122223333, us-east-1, which discover listed; review it: the function's role may read it\n      arn: {json.dumps(master)}"
    ) in text
    # validate rejects the manifest at the strategy only, naming the flag
    assert [m.split(":")[0] for m in lw.placeholder_messages(path)] == ["functions.fleet-rotator.strategy"]
    # the summary lists the grant that came from a value
    assert (
        f'  secrets."fleet/odd".master_secret.arn: {master} (masterarn in its own value): function fleet-rotator\'s '
        "role may read it (secretsmanager:GetSecretValue)"
    ) in err
    assert (
        "FILL-IN placeholders to replace (validate rejects them; the comment above each says why): functions.fleet-rotator.strategy"
        in err
    )

    # the control: the same account without that masterarn; every sibling's entry is the same
    world.client("secretsmanager").put_secret_value(
        SecretId=world.secret_arns["fleet/odd"], SecretString=json.dumps(VALUE)
    )
    _, plain, _ = _discovered(world, tmp_path, "plain.yaml")
    assert plain["functions"]["fleet-rotator"]["strategy"] == "single_user"
    for name in SIBLINGS:
        assert data["secrets"][name] == plain["secrets"][name] and "master_secret" not in plain["secrets"][name]


def test_a_master_from_a_value_is_written_only_when_discover_listed_it_here(world, tmp_path, capsys):
    """An alternating function whose values all name a masterarn: only the one that names a
    secret of this account and region that discover listed becomes a grant; every other is
    FILL-IN with the reason, never a grant on whatever the value names."""
    here = world.secret_arns[lw.MASTER]
    other_account = here.replace(lw.ACCOUNT, "999999999999")
    other_region = here.replace("us-east-1", "eu-west-1")
    unlisted = here.replace("prod/users/db-admin", "prod/gone/admin")
    hostile = here.replace("prod/users/db-admin", "x\u2028name_prefix: pwned-\u0085tags: {injected: pwned}\rz")
    masters = {"alt/here": here, "alt/other-account": other_account, "alt/other-region": other_region,
               "alt/unlisted": unlisted, "alt/hostile": hostile, "alt/not-an-arn": "prod/users/db-admin-typo",
               "alt/empty": ""}  # fmt: skip
    _rotated(world, "alt-rotator", {n: dict(VALUE, masterarn=m) for n, m in masters.items()})
    path, data, text = _discovered(world, tmp_path, "alt.yaml")
    err = capsys.readouterr().err
    assert data["functions"]["alt-rotator"]["strategy"] == "alternating_users"
    arns = {n: data["secrets"][n]["master_secret"]["arn"] for n in masters}
    assert arns == {n: (here if n == "alt/here" else "FILL-IN-MASTER-SECRET-ARN") for n in masters}
    assert set(data) == {"version", "account_id", "region", "functions", "secrets"}  # nothing injected
    assert "pwned" not in json.dumps(data)
    assert "names a secret of account 999999999999, region us-east-1, not this account and region" in text
    assert "names a secret of account 111122223333, region eu-west-1, not this account and region" in text
    assert "names secret 'prod/gone/admin', which discover did not list in account 111122223333, us-east-1" in text
    # the hostile name stays inside its one comment line, its line breaks escaped
    assert not {"\u2028", "\x85", "\r"} & set(text)
    [line] = [line for line in text.splitlines() if "name_prefix: pwned-" in line]
    assert line.startswith("      # its value's masterarn names secret 'x\\u2028name_prefix: pwned-\\x85tags:")
    assert "its value's masterarn is not the ARN of a secret" in text
    assert "its value's masterarn is empty or not text" in text
    # the summary lists the one grant from a value, and no other
    grants = [line for line in err.splitlines() if ".master_secret.arn: arn:" in line and "alt/" in line]
    assert grants == [f'  secrets."alt/here".master_secret.arn: {here} (masterarn in its own value): function '
                      "alt-rotator's role may read it (secretsmanager:GetSecretValue)"]  # fmt: skip
    assert {m.split(":")[0] for m in lw.placeholder_messages(path)} == {
        f"secrets.{n}.master_secret.arn" for n in masters if n != "alt/here"
    }


def test_a_fill_in_strategy_never_drops_an_entry(world, tmp_path):
    """Db2 needs a master in both strategies: with the strategy FILL-IN, discover's own check
    of the manifest must not leave out the secrets that name none (it judges the rest of each
    entry, not a placeholder's consequences)."""
    db2 = dict(VALUE, engine="db2")
    _rotated(world, "db2-rotator", {"db2/a": dict(db2, masterarn=world.secret_arns[lw.MASTER]), "db2/b": db2})
    path, data, text = _discovered(world, tmp_path, "db2.yaml")
    assert (data["functions"]["db2-rotator"]["strategy"], data["functions"]["db2-rotator"]["engine"]) == (
        "FILL-IN-STRATEGY",
        "db2",
    )
    assert {"db2/a", "db2/b"} <= set(data["secrets"]) and "Left out" not in text
    assert "master_secret" not in data["secrets"]["db2/b"]  # db2/a's value decides nothing for db2/b
