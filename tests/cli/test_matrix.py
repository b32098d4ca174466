"""Every command x every kind of secret x every format (issue 25 §2).

The kinds come from the model's own tables (tests/helpers/kinds.py says from which): each kind
alone, a few mixes, and the example manifests. Each manifest goes through every command
that takes one, in this process (helpers.cli.cli, typer's runner): validate; generate and
generate --check; explain in every format (and rich tables); diff against /dev/null both
ways in every format; imports; deployer-policy; doctor and doctor --before-apply against an
empty AWS account (moto's in-process mock, no server; a format per manifest, in turn). Pairs
of manifests are diffed both ways in every format (kinds.diff_pairs says which pairs).

Every run must exit with one of the codes its command documents, and never show a
traceback; json output must parse. test_the_enumeration_is_complete fails when the model
has a kind, a closed-set value or a field that no manifest of the matrix uses.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import yaml
from helpers import kinds as K
from helpers.cli import Run, cli
from helpers.paths import ROOT

from generator import api, aws, aws_calls, exits
from generator import formats as format_table
from generator.errors import Failed
from generator.manifest import Manifest

# Each command's --format words, from the one table of formats (generator.formats.FORMATS).
FORMATS = {command: format_table.names(command) for command in format_table.FORMATS}

# The codes each command returns by design, as its --help documents them (never INTERNAL).
DOCUMENTED = {command: {int(code) for code in codes} for command, codes in exits.BY_COMMAND.items()}


def _valid(data: dict[str, Any]) -> bool:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "auto", data)
        try:
            api.load(path)
        except Failed:
            return False
    return True


HAND = K.hand_kinds()
KINDS = HAND + K.auto_kinds(HAND, _valid)
MATRIX = K.Matrix(KINDS, K.mixes(KINDS))
MANIFESTS = MATRIX.manifests()
NAMES = list(MANIFESTS)
FAMILY = {k.name: k.family for k in KINDS} | {name: "mix" for name, _ks in MATRIX.mixes}
PAIRS = K.diff_pairs(NAMES, FAMILY)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")


def _write(tmp: Path, name: str, data: dict[str, Any]) -> Path:
    """The manifest in a folder of its own, as rotation.yaml beside the zip the kinds name
    (so every manifest is module ``rotation`` unless it says otherwise, and a diff between
    two of them is a change in place)."""
    folder = tmp / _slug(name)
    (folder / "build").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "examples" / "build" / "rotator.zip", folder / "build" / "rotator.zip")
    path = folder / "rotation.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _run(command: str, *args: str, cwd: Path, expect: set[int] | None = None, fmt: str = "text") -> Run:
    run = cli(command, *args, cwd=cwd)
    where = f"rotation-tf {command} {' '.join(args)}"
    assert run.returncode in DOCUMENTED[command], f"{where}: exit {run.returncode}\n{run.stderr}"
    if expect is not None:
        assert run.returncode in expect, f"{where}: exit {run.returncode}, expected {expect}\n{run.stderr}"
    assert "Traceback" not in run.stdout + run.stderr, f"{where}\n{run.stderr}"
    if fmt in ("json", "sarif", "asff") and run.stdout:
        json.loads(run.stdout)
    return run


@pytest.fixture(scope="module", autouse=True)
def _one_click_command() -> Iterator[None]:
    """typer builds the click command from the app on every invoke (two thirds of a small
    run here); the matrix makes some 2,000 runs of one unchanging app, so it builds it once
    (as tests/hostile/test_bad_input_corpus.py does)."""
    import functools

    import typer.main
    import typer.testing

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(typer.testing, "_get_command", functools.lru_cache(maxsize=None)(typer.main.get_command))
        yield


@pytest.fixture(scope="module")
def _account() -> Iterator[list[str]]:
    """An empty AWS account in this process (moto's mock of botocore, no server), as the
    manifests' account, for the module's tests: doctor only reads, so it stays empty (one
    mock for all, not a reset of moto's backends per test). Any attempt to leave the
    process is recorded and refused."""
    from moto import mock_aws

    attempts: list[str] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(repr(address))
        raise OSError("the matrix never leaves the process")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOTO_ACCOUNT_ID", K.ACCOUNT)
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
            mp.delenv(name, raising=False)
        mp.setattr(socket.socket, "connect", refuse)
        with mock_aws():
            yield attempts


@pytest.fixture
def empty_account(_account: list[str]) -> Iterator[list[str]]:
    _account.clear()
    yield _account
    assert _account == [], f"doctor tried to reach {_account}"


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_every_command(name: str, tmp_path: Path, empty_account: list[str]) -> None:
    data = MANIFESTS[name]
    path = _write(tmp_path, name, data)
    m, cwd = str(path.relative_to(tmp_path)), tmp_path
    module, _notes = api.load(path)
    kind = next((k for k in KINDS if k.name == name), None)
    if kind is not None and kind.holds is not None:
        assert kind.holds(module), f"{name} is not the kind it says"

    _run("validate", m, cwd=cwd, expect={0})
    _run("generate", m, "--out", "out", cwd=cwd, expect={0})
    _run("generate", m, "--out", "out", "--check", cwd=cwd, expect={0})
    for fmt in FORMATS["explain"]:
        assert _run("explain", m, "--format", fmt, cwd=cwd, expect={0}, fmt=fmt).stdout
    assert _run("explain", m, "--color", "always", cwd=cwd, expect={0}).stdout  # rich tables
    for fmt in FORMATS["diff"]:
        for base, new in (("/dev/null", m), (m, "/dev/null")):
            assert _run("diff", base, new, "--format", fmt, cwd=cwd, expect={1}, fmt=fmt).stdout
    imports = _run("imports", m, cwd=cwd, expect={0})
    adopted = any(f.adopt for f in module.functions) or any(s.adopt for s in module.secrets)
    assert ("\nimport {" in imports.stdout) == adopted, imports.stdout
    boundary = module.roles.permissions_boundary is not None
    policy = _run("deployer-policy", m, cwd=cwd, expect={0} if boundary else {2})
    assert bool(policy.stdout) == boundary and ("permissions_boundary" in policy.stderr) != boundary

    # doctor: see DOCTOR_RUNS
    for extra, fmt in DOCTOR_RUNS[name]:
        run = _run("doctor", m, *extra, "--format", fmt, cwd=cwd, expect={0, 1, 3}, fmt=fmt)
        assert run.stdout, run.stderr


def _doctor_runs() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """Which doctor runs each manifest gets (a doctor run costs ten of any other command,
    nearly all of it botocore building its clients): every kind meets both doctor and
    doctor --before-apply, alone or inside a mix. A kind that is part of a mix runs alone
    in one of the two, in turn down the list; the mixes, and the kinds that are never mixed
    (examples, head settings), run both. The format turns with each run, so that every
    format meets both and many kinds."""
    mixed = {k.name for _name, ks in MATRIX.mixes for k in ks}
    formats, modes = FORMATS["doctor"], ((), ("--before-apply",))
    out: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    turn = 0
    for i, name in enumerate(NAMES):
        chosen = [modes[i % 2]] if name in mixed else list(modes)
        out[name] = []
        for mode in chosen:
            out[name].append((mode, formats[turn % len(formats)]))
            turn += 1
    return out


DOCTOR_RUNS = _doctor_runs()


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=[f"{a}~{b}" for a, b in PAIRS])
def test_diff_pairs(a: str, b: str, tmp_path: Path) -> None:
    left = str(_write(tmp_path, "a", MANIFESTS[a]).relative_to(tmp_path))
    right = str(_write(tmp_path, "b", MANIFESTS[b]).relative_to(tmp_path))
    for base, new in ((left, right), (right, left)):
        as_json = _run("diff", base, new, "--format", "json", cwd=tmp_path, fmt="json")
        code = 1 if json.loads(as_json.stdout)["changes"] else 0
        assert as_json.returncode == code  # exit 1 exactly when something changed, in every format
        for fmt in FORMATS["diff"]:
            if fmt != "json":
                assert _run("diff", base, new, "--format", fmt, cwd=tmp_path, expect={code}, fmt=fmt).stdout


# --------------------------------------------------------------------------------------
# The enumeration is complete


def _literals(annotation: Any) -> tuple[Any, ...]:
    if str(get_origin(annotation)) == "typing.Literal":
        return get_args(annotation)
    if get_origin(annotation) is dict:  # a mapping's values, not its keys
        return _literals(get_args(annotation)[1])
    return tuple(v for arg in get_args(annotation) for v in _literals(arg))


def _values(data: Any, path: tuple[str, ...]) -> Iterator[Any]:
    """Every value a manifest gives the field at ``path`` (entries folded, lists flattened)."""
    if isinstance(data, list):
        for item in data:
            yield from _values(item, path)
        return
    if not path:
        yield data
        return
    if not isinstance(data, dict):
        return
    if path[0] in ("functions", "secrets") and len(path) > 1:
        for entry in (data.get(path[0]) or {}).values():
            yield from _values(entry, path[1:])
    elif path[0] in data:
        yield from _values(data[path[0]], path[1:])


def test_the_enumeration_is_complete() -> None:
    everything = list(MANIFESTS.values())
    covered = set().union(*(K.set_fields(d) for d in everything))
    missing = []
    for path, info in K.model_paths(Manifest):
        annotation, default = info.annotation, info.default
        if path[:1] + path[-1:] in K.NOT_KINDS:
            continue
        if path not in covered:
            missing.append(f"no manifest sets {'.'.join(path)}")
        for value in _literals(annotation):
            if value != default and value not in {v for d in everything for v in _values(d, path)}:
                missing.append(f"no manifest sets {'.'.join(path)}: {value!r}")
    # every path of aws_calls.paths(): engine x strategy with each kind of master secret, and
    # with each kind of replica host
    seen = {
        (f["engine"], f["strategy"], what)
        for d in everything
        for f_key, f in (d.get("functions") or {}).items()
        for s in d["secrets"].values()
        if s.get("function") == f_key
        for what in (("master", _master_kind(s)), ("replica", _replica_kind(s)))
    }
    for path in aws_calls.paths():
        for what in (("master", path.master), ("replica", path.replica)):
            if (path.engine, path.strategy, what) not in seen:
                missing.append(f"no manifest has {path.engine} x {path.strategy} with {what[0]} {what[1]}")
    # every source with every strategy
    for source in K.SOURCES:
        for strategy in K.STRATEGIES:
            if not any(
                f.get(source) is not None and f["strategy"] == strategy
                for d in everything
                for f in (d.get("functions") or {}).values()
            ):
                missing.append(f"no manifest has a function from {source} with strategy {strategy}")
    # every partition
    assert {aws.partition_of(d["region"]) for d in everything} >= set(K.PARTITIONS)
    assert missing == [], "\n".join(missing) + "\nadd a kind in tests/helpers/kinds.py (or an example manifest)"


def _master_kind(secret: dict[str, Any]) -> str | None:
    master = secret.get("master_secret")
    if master is None:
        return None
    return aws_calls.master_kind(master.get("name") or aws.secret_name(master["arn"]), master.get("managed_by"))


def _replica_kind(secret: dict[str, Any]) -> str | None:
    replica = secret.get("replica_of_master") or {}
    return next((kind for kind in aws_calls.REPLICA_KINDS if replica.get(kind) is not None), None)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("secrets", "rotate_immediately"), True),  # a boolean of a secret
        (("secrets", "schedule", "window"), "3h"),  # text inside a secret's field, as an example gives it
    ],
)
def test_a_field_no_kind_sets_joins_by_itself(path: tuple[str, ...], value: Any) -> None:
    """The hook for a new field: take away every kind that sets the field, and the
    enumeration makes one that sets it, valid, from the field's own type or an example
    manifest. (Issue 25 §3's replica_of_master and master_secret.managed_by joined through
    aws_calls.paths(), the model's table of what chooses a secret's grants.)"""
    setting = [k for k in HAND if path in K.set_fields(k.manifest())]
    assert setting
    rest = [k for k in HAND if k not in setting]
    assert path in [p for p, _info in K.uncovered(rest)]
    joined = [k for k in K.auto_kinds(rest, _valid) if path in K.set_fields(k.manifest())]
    assert joined and all(_valid(k.manifest()) for k in joined)
    assert value in {v for k in joined for v in _values(k.manifest(), path)}


def test_kinds_are_enumerated_from_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new engine or partner type in the model's tables is a new kind, with no edit here."""
    from generator import engines, partners

    monkeypatch.setattr(engines, "ENGINES", (*engines.ENGINES, "cockroach"))
    monkeypatch.setattr(engines, "_FACTS", {**engines._FACTS, "cockroach": ("cockroach", "RDSPostgreSQL")})
    assert any("/cockroach/" in k.name for k in K.hand_kinds())
    partner = partners.PARTNERS["PaddleApiKey"]
    monkeypatch.setattr(partners, "TYPES", (*partners.TYPES, "AcmeToken"))
    monkeypatch.setattr(partners, "PARTNERS", {**partners.PARTNERS, "AcmeToken": partner})
    assert "external/AcmeToken" in {k.name for k in K.hand_kinds()}
