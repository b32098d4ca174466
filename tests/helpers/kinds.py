"""Every kind of secret rotation-tf knows, enumerated from the model's own tables, and the
small manifests built from them that ``tests/cli/test_matrix.py`` runs through every command.

Where each axis comes from (nothing here restates a table of the package):

* engine x strategy x master x replica host: ``aws_calls.paths()``, the one enumeration of
  what chooses a secret's grants (engines, strategies, the kinds of master secret each AWS
  function reads: your own, RDS-managed for an instance or a cluster, Redshift-managed for a
  cluster or a namespace; Db2's single-user admin secret; each kind of replica host it
  accepts), every master alone and every replica host once (:func:`database_paths`);
* where a function comes from: ``manifest.SOURCES`` (existing, zip package, AWS's rotation
  application, each with the engines that source supports);
* managed external secrets: one kind per ``generator.partners.TYPES``, its metadata keys from
  ``partners.PARTNERS``;
* partitions: ``manifest.Partition``, each with a region of ``aws.REGIONS`` in it;
* the rest: a secret looked up by name, customer managed keys, a created secret (and one
  awaiting its password), a managed ``rds!`` secret, VPC, permissions boundary and the other
  role settings, ``import: true``, the compact policy form;
* the example manifests (``examples/*.yaml``), whole: they are the mixes users start from.

How a new kind joins without editing a test (``test_matrix.test_the_enumeration_is_complete``
fails, naming it, where it does not):

* a new engine, strategy, partner type, source or partition: read from the tables above (a
  source takes its value from an example manifest; a new kind of master secret needs a name
  of that kind in :data:`MASTER_NAMES`, and the enumeration says so);
* a new field of a secret or a function (the hook for ``§3``'s read-replica field, being
  added in parallel): a field no kind below sets becomes a kind of its own by
  :func:`auto_kinds`, with each value it can take (a boolean's other value, each value of a
  closed set, the schema's ``examples``, or the values examples/*.yaml give it), set on the
  first database kind that validates with it. A field in an example manifest is covered by
  that example too.
"""

from __future__ import annotations

import copy
import functools
import itertools
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from generator import aws, aws_calls, engines, partners, rotation_apps
from generator.manifest import SOURCES, Function, Partition, Secret, Strategy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
ACCOUNT = "111122223333"
REGION = "us-east-1"
STRATEGIES: tuple[str, ...] = get_args(Strategy)
PARTITIONS: tuple[str, ...] = get_args(Partition)
ZIP = "build/rotator.zip"  # every kind's folder holds it (test_matrix copies examples/build)


@dataclass(frozen=True)
class At:
    """Where a kind is built: its region (and so partition), and the number that keeps its
    names apart from the other kinds of a mix (0: alone, with the plain names)."""

    region: str = REGION
    n: int = 0

    @property
    def partition(self) -> str:
        return aws.partition_of(self.region)

    def name(self, base: str) -> str:
        return f"{base}{self.n}" if self.n else base

    def secret_arn(self, name: str) -> str:
        return f"arn:{self.partition}:secretsmanager:{self.region}:{ACCOUNT}:secret:{name}-AbCdEf"

    def key(self, i: int = 1, region: str | None = None) -> str:
        return f"arn:{self.partition}:kms:{region or self.region}:{ACCOUNT}:key/{i:08d}-12ab-34cd-56ef-{self.n:012d}"

    def function_arn(self, name: str) -> str:
        return f"arn:{self.partition}:lambda:{self.region}:{ACCOUNT}:function:{name}"

    def master(self, kind: str) -> dict[str, str]:
        """A master secret of kind ``kind`` (its name, and managed_by where the name cannot
        tell), as aws_calls.master_kind tells kinds apart."""
        for pattern, managed_by in itertools.product(MASTER_NAMES, (None, *aws_calls.MANAGED_BY)):
            name = pattern.format(n=self.n, suffix=self.n or "")
            if aws_calls.master_kind(name, managed_by) == kind:
                return {"name": name, **({"managed_by": managed_by} if managed_by else {})}
        raise AssertionError(
            f"aws_calls has the master kind {kind!r}: add a name of that kind to tests/helpers/kinds.py MASTER_NAMES"
        )


MASTER_NAMES = (
    "app/db-admin{suffix}",
    "rds!db-0d72c586-d9ba-46f5-aced-{n:012d}",
    "rds!cluster-3c1a6f1e-44d8-4b5e-9f0a-{n:012d}",
    "redshift!orders{suffix}-admin",
)
"""Names of master secrets, one of each kind aws_calls.master_kind knows (your own: any name;
RDS names the secrets it manages rds!db-<id> and rds!cluster-<id>, Redshift its admin secrets
redshift!<cluster or namespace>-<user>, with master_secret.managed_by saying which)."""


Part = dict[str, Any]  # {"functions": {...}, "secrets": {...}} and top-level fields


@dataclass(frozen=True)
class Kind:
    """One kind of secret (or of manifest), as a builder of the manifest part that has it."""

    name: str
    family: str
    build: Callable[[At], Part]
    holds: Callable[[Any], bool] | None = None  # what the kind's module must show (a Module)
    alone_only: bool = False  # changes the manifest's head: never mixed with other kinds
    regions: tuple[str, ...] = ()  # where it must be built (default REGION)

    def manifest(self) -> dict[str, Any]:
        return manifest([self])


def manifest(kinds: list[Kind], region: str | None = None) -> dict[str, Any]:
    """A manifest holding ``kinds``, each under names of its own when there are several."""
    region = region or next((k.regions[0] for k in kinds if k.regions), REGION)
    data: dict[str, Any] = {"version": 1, "account_id": ACCOUNT, "region": region}
    for i, kind in enumerate(kinds):
        part = kind.build(At(region, i if len(kinds) > 1 else 0))
        for key, value in part.items():
            if key in ("functions", "secrets"):
                clash = set(data.get(key, {})) & set(value)
                assert not clash, f"{kind.name}: {key} {clash} built twice"
                data.setdefault(key, {}).update(value)
            else:
                data[key] = value
    return data


# --------------------------------------------------------------------------------------
# Building blocks


def _source_value(source: str, at: At) -> Any:
    """The smallest value of a function source that validates; a source this table does not
    know takes the value an example manifest gives it."""
    if source == "existing_function_arn":
        return at.function_arn(at.name("rotator"))
    if source == "package":
        return {"filename": ZIP, "handler": "lambda_function.lambda_handler", "runtime": "python3.12"}
    if source == "rotation_app":
        return {}
    found = example_values("functions", source)
    assert found, (
        f"manifest.SOURCES has {source!r}: give it a value in tests/helpers/kinds.py _source_value or an example"
    )
    return copy.deepcopy(found[0])


def source_supports(source: str, engine: str) -> bool:
    return source != "rotation_app" or rotation_apps.supported(engine)


def database(
    engine: str,
    strategy: str,
    master: str | None,
    source: str = "existing_function_arn",
    *,
    replica: str | None = None,
    by_name: bool = False,
    fn: dict[str, Any] | None = None,
    secret: dict[str, Any] | None = None,
) -> Callable[[At], Part]:
    """One function of ``engine`` x ``strategy`` from ``source`` rotating one secret, with a
    master secret of kind ``master`` (None: none) and a host that is a replica of kind
    ``replica`` of the master's database (None: the master's host)."""

    def build(at: At) -> Part:
        key, name = at.name("fn"), at.name("app/db")
        s: dict[str, Any] = {"function": key, "schedule": {"every_days": 30}}
        if not by_name:
            s["arn"] = at.secret_arn(name)
        if master is not None:
            m = at.master(master)
            if not by_name:
                m["arn"] = at.secret_arn(m.pop("name"))
            s["master_secret"] = m
        if replica is not None:  # aws_calls.REPLICA_KINDS are replica_of_master's fields
            s["replica_of_master"] = {replica: at.name("orders-replica")}
        s.update(copy.deepcopy(secret or {}))
        f: dict[str, Any] = {"strategy": strategy, "engine": engine, source: _source_value(source, at)}
        f.update(copy.deepcopy(fn or {}))
        return {"functions": {key: f}, "secrets": {name: s}}

    return build


def master_kinds(engine: str, strategy: str) -> list[str | None]:
    """The kinds of master secret AWS's function for ``engine`` x ``strategy`` can be given
    (aws_calls.paths: None when it reads none)."""
    return list(dict.fromkeys(p.master for p in aws_calls.paths() if (p.engine, p.strategy) == (engine, strategy)))


def _external(secret_type: str, **extra: Any) -> Callable[[At], Part]:
    p = partners.partner(secret_type)

    def build(at: At) -> Part:
        name = at.name(f"partner/{secret_type}")
        metadata = {}
        for key in p.keys:  # every key the type's page documents, required and optional
            if key == partners.ADMIN_SECRET_KEY:
                metadata[key] = at.secret_arn(at.name("partner/admin"))
            else:
                metadata[key] = next((v for v in example_values("secrets", "external", "metadata", key)), "1")
        s: dict[str, Any] = {"external": {"type": secret_type, "metadata": metadata}, "schedule": {"every_days": 30}}
        if not extra.get("create"):
            s["arn"] = at.secret_arn(name)
        for k, v in extra.items():
            if k == "external":
                s["external"].update(v(at) if callable(v) else v)
            else:
                s[k] = v(at) if callable(v) else copy.deepcopy(v)
        return {"secrets": {name: s}}

    return build


def _managed(master: str, *, by_arn: bool) -> Callable[[At], Part]:
    def build(at: At) -> Part:
        name = at.master(master)["name"]
        s: dict[str, Any] = {"managed": True, "schedule": {"expression": "cron(0 4 ? * SUN *)", "window": "2h"}}
        if by_arn:
            s["arn"] = at.secret_arn(name)
        return {"secrets": {name: s}}

    return build


def _head(fields: Callable[[At], dict[str, Any]], inner: Callable[[At], Part]) -> Callable[[At], Part]:
    def build(at: At) -> Part:
        return {**inner(at), **fields(at)}

    return build


def _compact(at: At) -> Part:
    """One function with enough long-named secrets that listing them would overflow IAM's
    10,240 characters of inline policy: the module switches to the compact form."""
    key = at.name("fn")
    secrets = {
        at.name(f"app/{'compact-form-' * 20}{i:02d}"): {"function": key, "schedule": {"every_days": 30}}
        for i in range(32)
    }
    f = {"strategy": "single_user", "engine": "postgresql", "existing_function_arn": at.function_arn("rotator")}
    return {"functions": {key: f}, "secrets": secrets}


def _region_in(partition: str) -> str:
    return sorted(r for r in aws.REGIONS if aws.partition_of(r) == partition)[0]


# --------------------------------------------------------------------------------------
# The enumeration


def database_paths() -> list[aws_calls.Path]:
    """The paths of aws_calls.paths() that are database kinds alone: every engine x strategy
    with every kind of master secret its function reads, and every kind of replica host it
    accepts, once, with its first master (your own); the product of masters and replicas is
    the grants' business (tests/rotation/test_aws_calls.py), not a command's."""
    out = []
    for p in aws_calls.paths():
        if p.replica is None or p.master == master_kinds(p.engine, p.strategy)[0]:
            out.append(p)
    return out


def _database_kinds() -> Iterator[Kind]:
    for p in database_paths():
        what = "admin" if p.master is not None and p.strategy == "single_user" else "master"
        label = f"{what}-{p.master}" if p.master is not None else "no-master"
        if p.replica is not None:
            label += f"/replica-{p.replica}"
        yield Kind(
            f"db/{p.engine}/{p.strategy}/{label}",
            "database",
            database(p.engine, p.strategy, p.master, replica=p.replica),
        )


def _source_kinds() -> Iterator[Kind]:
    for source in SOURCES:
        if source == "existing_function_arn":
            continue  # every database kind's source
        supported = [e for e in engines.ENGINES if source_supports(source, e)]
        for i, strategy in enumerate(STRATEGIES):
            engine = supported[(i * 3) % len(supported)]  # a different engine per strategy
            master = master_kinds(engine, strategy)[0]
            yield Kind(f"source/{source}/{engine}/{strategy}", "source", database(engine, strategy, master, source))
    password = {
        "length": 40,
        "exclude_characters": "/@\"'\\:;",
        "exclude_numbers": False,
        "exclude_punctuation": True,
        "exclude_uppercase": False,
        "exclude_lowercase": False,
        "require_each_included_type": True,
    }

    def package_full(at: At) -> Part:
        return database(
            "mysql",
            "alternating_users",
            aws_calls.PLAIN,
            "package",
            fn={
                "package": {
                    "filename": ZIP,
                    "handler": "lambda_function.lambda_handler",
                    "runtime": "python3.12",
                    "timeout": 60,
                    "memory_size": 256,
                    "tracing_mode": "Active",
                    "reserved_concurrency": 2,
                    "code_signing_config_arn": f"arn:{at.partition}:lambda:{at.region}:{ACCOUNT}:code-signing-config:csc-0123456789abcdef0",
                    "password": password,
                    "username_character_limit": 32,
                },
                "vpc": {"subnet_ids": ["subnet-0a1b2c3d4e5f60718"], "security_group_ids": ["sg-0a1b2c3d4e5f60718"]},
                "description": "rotates the users database",
                "tags": {"team": "users"},
                "lock_to_secret": True,
                "previous_names": [at.name("old-fn")],
            },
        )(at)

    yield Kind("source/package/all-options+vpc", "source", package_full, holds=lambda m: m.functions[0].in_vpc)

    def app_full(at: At) -> Part:
        return database(
            "postgresql",
            "alternating_users",
            aws_calls.PLAIN,
            "rotation_app",
            fn={
                "rotation_app": {
                    "semantic_version": "1.1.600",
                    "endpoint": f"https://secretsmanager.{at.region}.amazonaws.com",
                    "exclude_characters": "/@\"'\\",
                },
                "vpc": {"subnet_ids": ["subnet-0a1b2c3d4e5f60718"], "security_group_ids": ["sg-0a1b2c3d4e5f60718"]},
            },
            secret={
                "kms_key_arn": at.key(1),
                "master_secret": {"arn": at.secret_arn("app/db-admin"), "kms_key_arn": at.key(2)},
            },
        )(at)

    yield Kind("source/rotation_app/all-options+vpc+cmk", "source", app_full, holds=lambda m: m.functions[0].app)

    def adopted(at: At) -> Part:
        part = database(
            "sqlserver",
            "single_user",
            None,
            fn={
                "import": True,
                "execution_role_arn": f"arn:{at.partition}:iam::{ACCOUNT}:role/service-role/rotator-exec",
            },
            secret={"import": True},
        )(at)
        by_name = at.name("app/by-name")
        part["secrets"][by_name] = {"function": at.name("fn"), "import": True, "schedule": {"every_days": 7}}
        return part

    yield Kind("adopted/existing-role+import", "source", adopted, holds=lambda m: m.functions[0].adopt)


def _secret_kinds() -> Iterator[Kind]:
    pg = ("postgresql", "alternating_users", aws_calls.PLAIN)
    yield Kind("secret/looked-up-by-name", "secret", database(*pg, by_name=True), holds=lambda m: bool(m.lookups))

    def cmk(at: At) -> Part:
        return database(
            *pg,
            secret={
                "kms_key_arn": at.key(1),
                "master_secret": {"arn": at.secret_arn("app/db-admin"), "kms_key_arn": at.key(2)},
            },
        )(at)

    yield Kind("secret/cmk+master-cmk", "secret", cmk, holds=lambda m: m.secrets[0].kms_key_arn is not None)
    schedule = {"schedule": {"expression": "cron(0 4 ? * SUN *)", "window": "3h"}, "rotate_immediately": True}
    yield Kind("secret/schedule-expression+window", "secret", database(*pg, secret=schedule))

    def created(single: bool, in_database: bool) -> Callable[[At], Part]:
        def build(at: At) -> Part:
            extra: dict[str, Any] = {
                "create": True,
                "description": "the app's database user",
                "recovery_window_days": 7,
                "tags": {"data-class": "confidential"},
                "kms_key_arn": at.key(1),
                "replicas": [{"region": "us-west-2", "kms_key_arn": at.key(2, "us-west-2")}, {"region": "eu-west-1"}],
                "connection": {"host": "db.internal", "port": 5432, "username": "app", "dbname": "app"},
            }
            if single:
                extra["password_in_database"] = in_database
            part = database(
                "postgresql",
                "single_user" if single else "alternating_users",
                None if single else aws_calls.PLAIN,
                secret=extra,
            )(at)
            del part["secrets"][at.name("app/db")]["arn"]
            return part

        return build

    yield Kind("created/single-user", "created", created(True, True), holds=lambda m: bool(m.valued))
    yield Kind("created/awaiting-password", "created", created(True, False), holds=lambda m: bool(m.awaiting_password))
    yield Kind("created/alternating-users+replicas", "created", created(False, True), holds=lambda m: bool(m.managed))
    yield Kind(
        "managed/rds-db-by-arn",
        "managed",
        _managed(aws_calls.RDS_MANAGED_DB, by_arn=True),
        holds=lambda m: bool(m.service_rotated),
    )
    yield Kind("managed/rds-cluster-by-name", "managed", _managed(aws_calls.RDS_MANAGED_CLUSTER, by_arn=False))


def _external_kinds() -> Iterator[Kind]:
    for secret_type in partners.TYPES:
        yield Kind(
            f"external/{secret_type}", "external", _external(secret_type), holds=lambda m: m.external_role is not None
        )
    admin = next(t for t in partners.TYPES if partners.ADMIN_SECRET_KEY in partners.partner(t).keys)
    yield Kind(
        f"external/{admin}/created+cmk",
        "external",
        _external(
            admin,
            create=True,
            description="created for the partner",
            kms_key_arn=lambda at: at.key(1),
            external=lambda at: {"credentials_stored": True, "admin_kms_key_arn": at.key(2)},
        ),
    )
    yield Kind(
        f"external/{admin}/awaiting-credentials",
        "external",
        _external(admin, create=True, external={"credentials_stored": False}),
        holds=lambda m: bool(m.awaiting_credentials),
    )


def _head_kinds() -> Iterator[Kind]:
    base = database("postgresql", "single_user", None, "package")

    def hardened(at: At) -> dict[str, Any]:
        return {
            "name_prefix": "acme-",
            "module": "hardened_matrix",
            "tags": {"team": "platform"},
            "roles": {
                "path": "/rotation/",
                "permissions_boundary": f"arn:{at.partition}:iam::{ACCOUNT}:policy/rotation-boundary",
                "max_session_duration": 7200,
                "exclusive_policies": False,
                "region_in_names": False,
            },
        }

    yield Kind(
        "head/permissions-boundary+roles",
        "head",
        _head(hardened, base),
        holds=lambda m: m.roles.permissions_boundary is not None,
        alone_only=True,
    )
    for partition in PARTITIONS:
        region = _region_in(partition)
        yield Kind(
            f"head/partition/{partition}",
            "head",
            _head(
                lambda at, p=partition: {"partition": p},
                database("mysql", "alternating_users", aws_calls.PLAIN, "package"),
            ),
            holds=lambda m, p=partition: m.partition == p,
            alone_only=True,
            regions=(region,),
        )
    yield Kind("policy/compact-form", "compact", _compact, holds=lambda m: bool(m.switched))


def _example_kind(path: Path) -> Kind:
    def build(at: At) -> Part:
        return yaml.safe_load(path.read_text(encoding="utf-8"))

    return Kind(f"example/{path.stem}", "example", build, alone_only=True)


def hand_kinds() -> list[Kind]:
    """Every kind built above, in families, each alone."""
    return [
        *_database_kinds(),
        *_source_kinds(),
        *_secret_kinds(),
        *_external_kinds(),
        *_head_kinds(),
        *(_example_kind(p) for p in EXAMPLES),
    ]


# --------------------------------------------------------------------------------------
# The hook: fields that no kind sets become kinds of their own


# Fields that no kind sets, on purpose, and why (test_matrix fails on any other).
NOT_KINDS: dict[tuple[str, str], str] = {
    ("secrets", "previous_names"): "always an error (Secrets Manager cannot rename a secret): tests/data/hostile",
}


@functools.cache
def _example_data() -> tuple[dict[str, Any], ...]:
    return tuple(yaml.safe_load(p.read_text(encoding="utf-8")) for p in EXAMPLES)


def example_values(*path: str) -> list[Any]:
    """Every value examples/*.yaml give the field at ``path`` ("secrets", "external", ...:
    under each entry of ``functions`` or ``secrets``, then nested fields), in file order."""
    out: list[Any] = []
    for data in _example_data():
        for entry in (data.get(path[0]) or {}).values():
            node: Any = entry
            for part in path[1:]:
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None:
                out.append(node)
    return out


def set_fields(data: dict[str, Any]) -> set[tuple[str, ...]]:
    """The field paths a manifest sets: ("secrets", "kms_key_arn"), ("functions", "package",
    "password", "length"), ("roles", "path"), ... (the entries of functions and secrets
    folded together; the keys of free-form maps, tags and metadata, are no fields)."""
    out: set[tuple[str, ...]] = set()

    def walk(node: Any, path: tuple[str, ...], entries: bool = False) -> None:
        if isinstance(node, list):
            for value in node:
                walk(value, path)
        elif isinstance(node, dict) and path[-1:] not in (("tags",), ("metadata",)):
            for key, value in node.items():
                if entries:  # an entry of functions or secrets: its keys are the fields
                    walk(value, path)
                else:
                    here = (*path, str(key))
                    out.add(here)
                    walk(value, here, entries=here in (("functions",), ("secrets",)))

    walk(data, ())
    return out


def model_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], FieldInfo]]:
    """(field path, field) of every field of ``model`` and of the models inside it, the
    entries of functions and secrets folded (as :func:`set_fields` folds them)."""
    for name, info in model.model_fields.items():
        path = (*prefix, info.alias or name)
        yield path, info
        for inner in _models(info.annotation):
            yield from model_paths(inner, path)


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models(arg)]


def _candidates(path: tuple[str, ...], info: FieldInfo) -> list[Any]:
    """Values worth trying for a field no kind sets: a boolean's other value, each value of a
    closed set, the schema's examples, and what examples/*.yaml give it."""
    annotation = info.annotation
    union = get_origin(annotation) in (Union, types.UnionType)
    out: list[Any] = []
    for arg in [a for a in get_args(annotation) if a is not type(None)] if union else [annotation]:
        if arg is bool:
            out.append(not info.default if isinstance(info.default, bool) else True)
        elif get_origin(arg) is Literal:
            out += [v for v in get_args(arg) if v != info.default]
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    examples = extra.get("examples")
    out += list(info.examples or []) + (list(examples) if isinstance(examples, list) else [])
    out += example_values(*path)
    unique: dict[str, Any] = {}
    for value in out:
        unique.setdefault(repr(value), value)
    return list(unique.values())


def uncovered(kinds: list[Kind]) -> list[tuple[tuple[str, ...], FieldInfo]]:
    """(path, field) of each optional field of a function or a secret, at any depth, that
    no kind sets and :data:`NOT_KINDS` does not excuse."""
    covered: set[tuple[str, ...]] = set()
    for kind in kinds:
        covered |= set_fields(kind.manifest())
    out = []
    for section, model in (("functions", Function), ("secrets", Secret)):
        for path, info in model_paths(model, (section,)):
            if path not in covered and path[:1] + path[-1:] not in NOT_KINDS and not info.is_required():
                out.append((path, info))
    return out


def auto_kinds(kinds: list[Kind], valid: Callable[[dict[str, Any]], bool]) -> list[Kind]:
    """A kind for each value worth trying of each field no kind in ``kinds`` sets, built on
    the first database kind with which ``valid`` (the manifest validates) holds."""
    bases = [k for k in kinds if k.family == "database"]
    out = []
    for path, info in uncovered(kinds):
        for value in _candidates(path, info):
            for base in bases:
                kind = _with_field(base, path, value)
                if valid(kind.manifest()):
                    out.append(kind)
                    break
    return out


def _with_field(base: Kind, path: tuple[str, ...], value: Any) -> Kind:
    """``base`` with the field at ``path`` (section first) set to ``value`` in every entry."""

    def build(at: At) -> Part:
        part = base.build(at)
        for entry in part[path[0]].values():
            node = entry
            for key in path[1:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = copy.deepcopy(value)
        return part

    return Kind(f"auto/{'.'.join(path)}={value!r}/{base.name}", "auto", build)


@dataclass
class Matrix:
    kinds: list[Kind] = field(default_factory=list)  # each alone
    mixes: list[tuple[str, list[Kind]]] = field(default_factory=list)

    def manifests(self) -> dict[str, dict[str, Any]]:
        """Every manifest of the matrix by name: each kind alone, then each mix."""
        out = {k.name: k.manifest() for k in self.kinds}
        out.update({name: manifest(ks) for name, ks in self.mixes})
        return out


def mixes(kinds: list[Kind]) -> list[tuple[str, list[Kind]]]:
    """A few mixes: every database kind in one manifest; one kind of each family that can
    mix; and the secret kinds with the external ones (a function's role beside the
    external-secrets role)."""
    mixable = [k for k in kinds if not k.alone_only]
    families: dict[str, Kind] = {}
    for k in mixable:
        families.setdefault(k.family, k)
    return [
        ("mix/every-database-kind", [k for k in mixable if k.family == "database"]),
        ("mix/one-of-each-family", list(families.values())),
        (
            "mix/secrets+created+managed+external",
            [k for k in mixable if k.family in ("secret", "created", "managed", "external")],
        ),
    ]


def diff_pairs(names: list[str], families: dict[str, str]) -> list[tuple[str, str]]:
    """Which manifests are diffed against each other (both directions, every format):

    * a ring through every manifest in enumeration order, so that each one is diffed against
      its neighbours: neighbours are mostly of one family and share the names ``fn`` and
      ``app/db``, so the diff is a change in place (another engine, master, source, key);
    * every pair of families, through their first manifests: a secret moving between a
      function, Secrets Manager's partner rotation and its own service, roles and resources
      created and destroyed."""
    ring = list(zip(names, names[1:] + names[:1], strict=True))
    firsts: dict[str, str] = {}
    for name in names:
        firsts.setdefault(families[name], name)
    across = list(itertools.combinations(firsts.values(), 2))
    seen: set[frozenset[str]] = set()
    out = []
    for a, b in ring + across:
        if a != b and frozenset((a, b)) not in seen:
            seen.add(frozenset((a, b)))
            out.append((a, b))
    return out
