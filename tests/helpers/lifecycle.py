"""The apply tier's harness: put a manifest's world into moto, generate, verify, diff.

Everything here works around moto, never around the generator. The limits it works
around, each named where it is handled:

* ``SUFFIX``: Secrets Manager gives every secret a random six-character ARN suffix, and
  the examples name ARNs with fixed suffixes (``-AbCdEf``). The harness creates those
  secrets with moto's ``_custom_id_`` tag, so that moto's ARN *is* the manifest's ARN,
  then removes the tag again. The generated module is therefore the one users get.
* ``VERSION``: moto's RotateSecret needs a secret that already has a version; every
  secret is created with a first ``SecretString``.
* ``SCHEDULE``: moto models only ``AutomaticallyAfterDays``. It drops
  ``ScheduleExpression`` and ``Duration`` (and reports rotation as disabled for an
  expression), so an applied expression schedule or window reads back empty and plans a
  change forever. The applied variant of a manifest turns ``expression`` into
  ``every_days`` and drops ``window``; expression schedules and windows stay covered by
  ``terraform plan`` (tests/terraform/test_terraform_plan.py, tests/moto/test_moto_traps.py).
* ``FUNCTION``: an ``existing_function_arn`` must exist; the harness creates it with a
  dummy zip (use_docker is off: moto stores it, never runs it) and a role of its own that
  the module must find: the manifest's ``execution_role_arn`` when given, otherwise
  ``HARNESS_ROLE`` at ``HARNESS_ROLE_PATH``, a name unrelated to the function and the module.
"""

from __future__ import annotations

import copy
import fnmatch
import io
import json
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from generator import api, aws, model, render
from generator.naming import secret_ident

HARNESS_ROLE = "legacy-app-exec"  # the role existing functions run as: nothing like <prefix><key>-rotation
HARNESS_ROLE_PATH = "/legacy/apps/"
ROTATION_ACTIONS = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
)


def dummy_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return None\n")
    return buf.getvalue()


def apply_variant(data: dict) -> tuple[dict, list[str]]:
    """The manifest as the apply tier applies it (moto limits SCHEDULE, REPLICA_KMS); returns what changed."""
    out = copy.deepcopy(data)
    changed = []
    for name, sec in sorted(out["secrets"].items()):
        sched = sec["schedule"]
        if sched.get("expression") is not None:
            sched.pop("expression")
            sched["every_days"] = 10
            changed.append(f"{name}: expression -> every_days 10")
        if sched.get("window") is not None:
            sched.pop("window")
            changed.append(f"{name}: window dropped")
        for rep in sec.get("replicas", []):
            # moto limit REPLICA_KMS: moto ignores a replica's KmsKeyId and reports the AWS
            # managed key, which would plan an update forever. The key is kept in plan tests.
            if rep.pop("kms_key_arn", None) is not None:
                changed.append(f"{name}: replica key in {rep['region']} dropped")
    return out, changed


@dataclass
class World:
    """What the harness created in moto for one manifest (the module does not own it)."""

    moto: object
    region: str
    secret_arns: dict[str, str] = field(default_factory=dict)
    functions: set[str] = field(default_factory=set)
    roles: set[str] = field(default_factory=set)  # roles the harness made (the module must not own them)

    def client(self, service: str):
        return self.moto.client(service, self.region)

    def secret(self, name: str, arn: str | None = None) -> str:
        """A secret with a first version (moto limit VERSION); its ARN as given (SUFFIX)."""
        if name in self.secret_arns:
            return self.secret_arns[name]
        sm = self.client("secretsmanager")
        kwargs = {}
        if arn is not None:
            suffix = arn.rsplit("-", 1)[1]
            kwargs["Tags"] = [{"Key": "_custom_id_", "Value": suffix}]
        got = sm.create_secret(
            Name=name, SecretString=json.dumps({"username": "app", "password": "initial"}), **kwargs
        )["ARN"]
        if arn is not None:
            assert got == arn, f"moto did not reproduce {arn} (got {got})"
            sm.untag_resource(SecretId=got, TagKeys=["_custom_id_"])
        self.secret_arns[name] = got
        return got

    def role(self, arn: str | None = None) -> str:
        """A role that existing functions run as, created outside the module; its ARN."""
        iam = self.client("iam")
        if arn is None:
            name, path = HARNESS_ROLE, HARNESS_ROLE_PATH
        else:
            resource = aws.parse_arn(arn).resource
            name, path = resource.rsplit("/", 1)[1], resource[len("role") : resource.rindex("/") + 1]
        try:
            return iam.get_role(RoleName=name)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            pass
        got = iam.create_role(
            RoleName=name,
            Path=path,
            AssumeRolePolicyDocument=json.dumps(render._trust_policy()),
        )["Role"]["Arn"]
        assert arn is None or got == arn, (got, arn)
        self.roles.add(name)
        return got

    def function(self, arn: str, role_arn: str | None = None) -> None:
        """An existing rotation function (moto limit FUNCTION), running as ``role_arn`` or HARNESS_ROLE."""
        name = arn.rsplit(":", 1)[1]
        if name in self.functions:
            return
        role_arn = self.role(role_arn)
        got = self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role_arn,
            Handler="lambda_function.lambda_handler",
            Code={"ZipFile": dummy_zip()},
        )["FunctionArn"]
        assert got == arn, (got, arn)
        self.functions.add(name)

    def provide(self, m: model.Module) -> None:
        """Everything the manifest assumes already exists (not the secrets it creates)."""
        for s in m.secrets:
            if s.managed is None:
                self.secret(s.name, s.arn)
            if s.master_arn:
                self.secret(aws.SECRET_RESOURCE_RE.match(aws.parse_arn(s.master_arn).resource).group(1), s.master_arn)
        for fn in m.functions:
            if fn.existing:
                self.function(fn.function_arn, fn.role_arn)


class Workspace:
    """A copy of a manifest (and its zips) in ``path``, generated into ``path/out``."""

    def __init__(self, example: Path, path: Path):
        self.example = example
        self.path = path
        self.original = yaml.safe_load(example.read_text())
        self.data, self.changed = apply_variant(self.original)
        self.manifest = path / "examples" / example.name
        self.manifest.parent.mkdir(parents=True, exist_ok=True)
        for fn in self.original["functions"].values():
            if fn.get("package"):
                src = example.parent / fn["package"]["filename"]
                dst = self.manifest.parent / fn["package"]["filename"]
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
        self.out = path / "tests" / "golden"

    def generate(self) -> tuple[model.Module, Path]:
        self.manifest.write_text(yaml.safe_dump(self.data, sort_keys=True))
        result = api.generate(self.manifest, self.out)
        assert result.exit == api.Exit.OK, [str(d) for d in result.diagnostics]
        return result.module, result.target


# ---------------------------------------------------------------------------------------
# Verification against what moto holds


def _condition_value(condition: dict, key: str) -> list[str]:
    """Values of condition key ``key`` under any operator; IAM condition keys are case-insensitive."""
    out = []
    for _op, kv in condition.items():
        for k, v in kv.items():
            if k.lower() == key.lower():
                out.extend([v] if isinstance(v, str) else v)
    return out


def verify_applied(world: World, m: model.Module, first: bool = True) -> dict[str, int]:
    """Compare what moto holds with the model; returns counts of what was checked. A created
    secret's first version is compared on the first apply only: Terraform never rewrites
    that value afterwards (it is write-only and rotation owns it)."""
    iam = world.client("iam")
    lam = world.client("lambda")
    sm = world.client("secretsmanager")
    counts = {"roles": 0, "statements": 0, "permissions": 0, "rotations": 0, "tags": 0}
    function_arns = {}
    for fn in m.functions:
        assert fn.has_role, "rotation applications are not applied on moto (no Serverless Application Repository)"
        conf = lam.get_function(FunctionName=fn.function_name)["Configuration"]
        function_arns[fn.key] = conf["FunctionArn"]
        assert conf["FunctionArn"] == fn.function_arn
        # The role the function really runs as, whatever the module thinks.
        runs_as = aws.role_name_of(conf["Role"])
        if fn.creates_role:
            assert runs_as == fn.role_name
            _verify_created_role(iam, m, fn, counts)
        else:  # an existing function: its own role (the harness's) holds the module's policy
            assert runs_as in world.roles, f"{fn.key}: runs as {runs_as}, which the harness did not make"
            assert fn.role_name in (None, runs_as), (fn.key, fn.role_name, runs_as)
            doc = iam.get_role_policy(RoleName=runs_as, PolicyName=fn.policy_name)["PolicyDocument"]
            assert doc == fn.policy.document(), f"{fn.key}: the policy on {runs_as} differs"
            counts["statements"] += len(doc["Statement"])
            counts["roles"] += 1
        # Evaluated, not just present: the role may do the four rotation actions on each secret.
        for sec in fn.secrets:
            arn = _secret_arn(world, sm, sec.name)
            for action in ROTATION_ACTIONS:
                assert role_allows(iam, runs_as, action, arn), f"{fn.key}: {runs_as} may not {action} on {arn}"
        if fn.package:
            role = iam.get_role(RoleName=fn.role_name)["Role"]
            assert conf["Role"] == role["Arn"]
            assert conf["Handler"] == fn.package.handler and conf["Runtime"] == fn.package.runtime
            assert conf["Timeout"] == fn.package.timeout and conf["MemorySize"] == fn.package.memory_size
            if fn.in_vpc:
                assert sorted(conf["VpcConfig"]["SubnetIds"]) == list(fn.subnet_ids)
                assert sorted(conf["VpcConfig"]["SecurityGroupIds"]) == list(fn.security_group_ids)
            ftags = lam.list_tags(Resource=conf["FunctionArn"])["Tags"]
            assert ftags == {**dict(m.tags), **fn.tag_map}
            counts["tags"] += len(ftags)
        _verify_permission(world, m, fn, lam, sm)
        counts["permissions"] += 1
    # No role but the harness's and the ones the module creates: in particular none named
    # after an existing function's key (the made-up role earlier versions created).
    roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert roles == world.roles | {f.role_name for f in m.functions if f.creates_role}, sorted(roles)

    for s in m.secrets:
        d = sm.describe_secret(SecretId=_secret_arn(world, sm, s.name))
        if s.managed is not None and first:
            value = json.loads(sm.get_secret_value(SecretId=d["ARN"], VersionStage="AWSCURRENT")["SecretString"])
            assert {k: v for k, v in value.items() if k != "password"} == s.managed.field_map
            assert d.get("Description") == s.managed.description
            tags = {t["Key"]: t["Value"] for t in d.get("Tags", [])}
            assert tags == {**dict(m.tags), **s.managed.tag_map}, (
                f"{s.name}: tags {tags}"
            )  # its own over the manifest's
        if not s.rotates:  # password_in_database: false
            assert not d.get("RotationEnabled"), f"{s.name}: rotation is on before the password is in the database"
            continue
        assert d.get("RotationEnabled") is True, f"{s.name}: rotation is not enabled: {d}"
        assert d["RotationLambdaARN"] == function_arns[s.function]
        # moto limit SCHEDULE: only AutomaticallyAfterDays is modelled (and applied).
        assert s.schedule.expression is None and s.schedule.window is None
        assert d["RotationRules"]["AutomaticallyAfterDays"] == s.schedule.every_days
        current = [v for v, stages in d["VersionIdsToStages"].items() if "AWSCURRENT" in stages]
        assert len(current) == 1
        counts["rotations"] += 1
    return counts


def _verify_created_role(iam, m: model.Module, fn: model.FunctionPlan, counts: dict[str, int]) -> None:
    """A role the module creates: path, session, boundary, trust, its one inline policy, tags."""
    role = iam.get_role(RoleName=fn.role_name)["Role"]
    assert role["Path"] == m.roles.path
    assert role["MaxSessionDuration"] == m.roles.max_session_duration
    if m.roles.permissions_boundary:
        assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == m.roles.permissions_boundary
    assert role["AssumeRolePolicyDocument"] == render._trust_policy()
    assert iam.list_role_policies(RoleName=fn.role_name)["PolicyNames"] == [fn.policy_name]
    doc = iam.get_role_policy(RoleName=fn.role_name, PolicyName=fn.policy_name)["PolicyDocument"]
    expected = fn.policy.document()
    assert doc["Version"] == expected["Version"]
    assert len(doc["Statement"]) == len(expected["Statement"])
    for got, want in zip(doc["Statement"], expected["Statement"], strict=True):
        assert got == want, f"{fn.key}: statement {want['Sid']} differs:\n{got}\n{want}"
        counts["statements"] += 1
    tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=fn.role_name)["Tags"]}
    assert tags == {**dict(m.tags), **fn.tag_map}  # the function's own tags merged over the manifest's
    counts["tags"] += len(tags)
    counts["roles"] += 1


def _verify_permission(world: World, m: model.Module, fn: model.FunctionPlan, lam, sm) -> None:
    policy = json.loads(lam.get_policy(FunctionName=fn.function_name)["Policy"])
    mine = [
        s for s in policy["Statement"] if (s.get("Principal") or {}).get("Service") == "secretsmanager.amazonaws.com"
    ]
    assert len(mine) == 1, f"{fn.key}: {len(mine)} statements for secretsmanager.amazonaws.com: {mine}"
    st = mine[0]
    assert st["Sid"] == fn.statement_id
    assert st["Effect"] == "Allow" and st["Action"] == "lambda:InvokeFunction"
    assert st["Resource"] == fn.function_arn
    assert _condition_value(st.get("Condition", {}), "aws:SourceAccount") == [m.account_id]
    source_arns = _condition_value(st.get("Condition", {}), "aws:SourceArn")
    if fn.lock_secret:  # lock_to_secret: pinned to its one secret
        assert source_arns == [_secret_arn(world, sm, fn.lock_secret)]
    else:
        assert not source_arns, "SourceArn would pin one secret"


def role_policies(iam, role_name: str) -> list[dict]:
    """Every identity policy document of a role as IAM holds it: inline, then attached."""
    docs = []
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        docs.append(iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"])
    for att in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        version = iam.get_policy(PolicyArn=att["PolicyArn"])["Policy"]["DefaultVersionId"]
        doc = iam.get_policy_version(PolicyArn=att["PolicyArn"], VersionId=version)["PolicyVersion"]["Document"]
        docs.append(json.loads(doc) if isinstance(doc, str) else doc)
    return docs


def _listed(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def role_allows(iam, role_name: str, action: str, resource: str) -> bool:
    """IAM's evaluation of a role's identity policies for one request without context: an
    explicit Deny wins, then any Allow. A statement with a Condition is not counted as an
    Allow (no request context here) but is as a Deny: the answer errs towards "no"."""
    allowed = False
    for doc in role_policies(iam, role_name):
        statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        for st in statements:
            if "Action" not in st or "Resource" not in st:
                continue  # NotAction / NotResource: not used by the module or the harness
            if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _listed(st["Action"])):
                continue
            if not any(fnmatch.fnmatchcase(resource, r) for r in _listed(st["Resource"])):
                continue
            if st["Effect"] == "Deny":
                return False
            if not st.get("Condition"):
                allowed = True
    return allowed


def _secret_arn(world: World, sm, name: str) -> str:
    """The ARN of a secret the harness made, or of one the module created."""
    return world.secret_arns.get(name) or sm.describe_secret(SecretId=name)["ARN"]


def verify_destroyed(world: World, m: model.Module) -> None:
    """Nothing the module created is left: roles, permissions, functions, rotations."""
    iam = world.client("iam")
    lam = world.client("lambda")
    sm = world.client("secretsmanager")
    roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert roles == world.roles, f"roles left behind: {sorted(roles - world.roles)}"
    for name in world.roles:  # the policies the module put on existing roles are gone too
        left = iam.list_role_policies(RoleName=name)["PolicyNames"]
        assert left == [], f"{name}: inline policies left behind: {left}"
    names = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert names == world.functions, f"functions left behind: {sorted(names - world.functions)}"
    for name in world.functions:
        try:
            policy = json.loads(lam.get_policy(FunctionName=name)["Policy"])
            statements = policy.get("Statement", [])
        except lam.exceptions.ResourceNotFoundException:
            statements = []
        assert statements == [], f"{name}: permissions left behind: {statements}"
    for name, arn in world.secret_arns.items():
        d = sm.describe_secret(SecretId=arn)
        assert not d.get("RotationEnabled"), f"{name}: rotation still enabled after destroy"
    created = [s["Name"] for s in sm.list_secrets()["SecretList"] if s["Name"] not in world.secret_arns]
    assert created == [], f"secrets the module created are left behind: {created}"


# ---------------------------------------------------------------------------------------
# What a regeneration must change


def expected_actions(old: model.Module, new: model.Module) -> dict[str, list[str]]:
    """Managed resource address -> actions implied by going from ``old`` to ``new``.

    Derived from the two models only (not from terraform): a resource appears when it is
    created, deleted or updated; anything not listed must plan as no-op.
    """
    out: dict[str, list[str]] = {}
    prefix = "module.rotation."
    of = {f.key: f for f in old.functions}
    nf = {f.key: f for f in new.functions}
    for key in sorted(set(of) | set(nf)):
        a, b = of.get(key), nf.get(key)
        types = ["aws_iam_role_policy", "aws_lambda_permission"]
        if (a and a.creates_role) or (b and b.creates_role):  # an existing function's role is not the module's
            types.append("aws_iam_role")
            if old.roles.exclusive_policies or new.roles.exclusive_policies:
                types.append("aws_iam_role_policies_exclusive")
        if (a and a.package) or (b and b.package):
            types.append("aws_lambda_function")
        for t in types:
            addr = f"{prefix}{t}.{key}"
            if a is None:
                out[addr] = ["create"]
            elif b is None:
                out[addr] = ["delete"]
            elif t == "aws_iam_role_policy" and a.policy.document() != b.policy.document():
                out[addr] = ["update"]
            elif t == "aws_lambda_permission" and a.lock_secret != b.lock_secret:
                out[addr] = ["delete", "create"]  # source_arn forces a new permission
    os_ = {s.name: s for s in old.secrets}
    ns = {s.name: s for s in new.secrets}
    for name in sorted(set(os_) | set(ns)):
        a, b = os_.get(name), ns.get(name)
        ident = secret_ident(name)
        addr = f"{prefix}aws_secretsmanager_secret_rotation.{ident}"
        for created in (
            f"{prefix}aws_secretsmanager_secret.{ident}",
            f"{prefix}aws_secretsmanager_secret_version.{ident}",
        ):
            if (a is None or a.managed is None) and b is not None and b.managed is not None:
                out[created] = ["create"]
            elif a is not None and a.managed is not None and (b is None or b.managed is None):
                out[created] = ["delete"]
        had, has = a is not None and a.rotates, b is not None and b.rotates  # password_in_database
        if not had and not has:
            continue
        if not had:
            out[addr] = ["create"]
        elif not has:
            out[addr] = ["delete"]
        elif (
            of[a.function].function_arn != nf[b.function].function_arn
            or a.schedule != b.schedule
            or a.rotate_immediately != b.rotate_immediately
        ):
            out[addr] = ["update"]
    return out
