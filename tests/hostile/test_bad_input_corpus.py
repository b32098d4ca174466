"""A generated corpus of bad manifests (issue 19): never a traceback, never the wrong exit code.

Every top-level field of the manifest, and every field of a function and of a secret, is made
missing, of the wrong type, a ``rotation-tf init``
placeholder (FILL-IN-...) and empty, in a manifest that holds every optional top-level block
(``roles``, ``tags``, ``name_prefix``, ``module``, ``partition``). The field lists come from the
pydantic models, so a new field is covered without touching this file. Each manifest goes
through ``validate``, ``generate --check``, ``diff`` (against the sound base) and ``explain``,
in this process. Each run either exits 2, naming file:line:col for every error, or the
manifest is valid, and then all four commands agree and exit as each defines (0, or 1 for
``--check`` drift and ``diff`` changes). A traceback fails the test (``helpers.cli.cli`` raises).
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import yaml
from helpers.cli import cli
from pydantic import BaseModel

from generator.manifest import ACCOUNT_PLACEHOLDER, Function, Manifest, Secret, _unwrap

BASE: dict[str, Any] = {
    "version": 1,
    "account_id": "111122223333",
    "region": "eu-west-1",
    "partition": "aws",
    "name_prefix": "acme-",
    "tags": {"team": "platform"},
    "module": "corpus",
    "roles": {
        "path": "/rotation/",
        "permissions_boundary": "arn:aws:iam::111122223333:policy/rotation-boundary",
        "max_session_duration": 3600,
        "exclusive_policies": True,
        "region_in_names": True,
    },
    "functions": {
        "existing": {
            "strategy": "single_user",
            "engine": "postgresql",
            "existing_function_arn": "arn:aws:lambda:eu-west-1:111122223333:function:pg-rotator",
            "execution_role_arn": "arn:aws:iam::111122223333:role/service-role/pg-rotator-exec",
            "previous_names": ["pg"],
            "import": False,
        },
        "packaged": {
            "strategy": "alternating_users",
            "engine": "mysql",
            "description": "MySQL users",
            "lock_to_secret": True,
            "tags": {"team": "users"},
            "package": {
                "filename": "build/rotator.zip",
                "handler": "lambda_function.lambda_handler",
                "runtime": "python3.12",
            },
            "vpc": {"subnet_ids": ["subnet-0a1b2c3d4e5f60718"], "security_group_ids": ["sg-0a1b2c3d4e5f60718"]},
        },
    },
    "secrets": {
        "prod/users/db": {
            "function": "packaged",
            "arn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/users/db-XyZ123",
            "kms_key_arn": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "master_secret": {"arn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/users/admin-Mst456"},
            "schedule": {"every_days": 30, "window": "3h"},
            "rotate_immediately": False,
            "import": False,
        },
        "prod/orders/db": {"function": "existing", "schedule": {"expression": "rate(10 days)"}},
        "prod/rds/master": {"managed": True, "schedule": {"every_days": 7}},
    },
}
FUNCTION, SECRET = "packaged", "prod/users/db"  # where a field no entry holds is set


def _names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _annotation(model: type[BaseModel], name: str) -> Any:
    for field_name, f in model.model_fields.items():
        if (f.alias or field_name) == name:
            return _unwrap(f.annotation)
    raise KeyError(name)


def _is(tp: Any, kind: type) -> bool:
    return tp is kind or get_origin(tp) is kind or (isinstance(tp, type) and issubclass(tp, kind))


def _mutations(tp: Any, name: str) -> dict[str, Any]:
    """The bad values for a field of type ``tp`` (``None`` stands for 'missing')."""
    if _is(tp, list):
        wrong: Any = "text"
    elif _is(tp, dict) or _is(tp, BaseModel):
        wrong = ["a", "list"]
    elif _is(tp, bool) or (get_origin(tp) is not None and bool in get_args(tp)):
        wrong = "yes"
    elif _is(tp, int):
        wrong = "30"
    else:
        wrong = 12  # a number where text belongs: the unquoted account id
    if _is(tp, list):
        empty: Any = []
    elif _is(tp, dict) or _is(tp, BaseModel):
        empty = {}
    elif _is(tp, str) or get_origin(tp) is not None:
        empty = ""
    else:
        empty = None
    placeholder = {"account_id": ACCOUNT_PLACEHOLDER, "function": "FILL-IN-FUNCTION-NAME"}.get(
        name, "FILL-IN-SECRET-NAME"
    )
    return {
        "missing": None,
        "wrong_type": wrong,
        "placeholder": placeholder,
        "empty": empty,
    }


def _cases() -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []

    def add(where: str, model: type[BaseModel], parent_of: Any) -> None:
        for name in _names(model):
            for kind, value in _mutations(_annotation(model, name), name).items():
                data = copy.deepcopy(BASE)
                parent = parent_of(data, name)
                if kind == "missing":
                    if name not in parent:
                        continue  # the base already lacks it
                    del parent[name]
                else:
                    parent[name] = value
                out.append((f"{where}-{name}-{kind}", data))

    def entry(section: str, default: str) -> Any:
        def parent_of(data: dict[str, Any], name: str) -> dict[str, Any]:
            holder = next((k for k, v in BASE[section].items() if name in v), default)
            return data[section][holder]  # type: ignore[no-any-return]

        return parent_of

    add("manifest", Manifest, lambda data, name: data)
    add("function", Function, entry("functions", FUNCTION))
    add("secret", Secret, entry("secrets", SECRET))
    for section, key in (("functions", "FILL-IN-FUNCTION-NAME"), ("secrets", "FILL-IN-SECRET-NAME")):
        data = copy.deepcopy(BASE)
        data[section][key] = data[section].pop(FUNCTION if section == "functions" else SECRET)
        out.append((f"{section}-key-placeholder", data))
    for section in ("functions", "secrets"):
        data = copy.deepcopy(BASE)
        data[section] = {}
        out.append((f"{section}-no-entries", data))
    return out


CASES = _cases()
# every field of the three models is in the corpus, each at least four ways
assert {tuple(c.split("-")[:2]) for c, _ in CASES} >= {
    *(("manifest", n) for n in _names(Manifest)),
    *(("function", n) for n in _names(Function)),
    *(("secret", n) for n in _names(Secret)),
}
ERROR_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): error: \S")
ALLOWED = {"validate": {0, 2}, "generate": {0, 1, 2}, "diff": {0, 1, 2}, "explain": {0, 2}}


@pytest.fixture(scope="module", autouse=True)
def _one_click_command() -> Iterator[None]:
    """typer builds the click command from the app on every invoke (about 0.2 s, most of a
    run); the corpus makes some 600 runs of one unchanging app, so it builds it once."""
    import typer.main
    import typer.testing

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(typer.testing, "_get_command", functools.lru_cache(maxsize=None)(typer.main.get_command))
        yield


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("corpus")
    (work / "build").mkdir()
    (work / "build" / "rotator.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip
    (work / "base.yaml").write_text(yaml.safe_dump(BASE, sort_keys=False), encoding="utf-8")
    assert cli("validate", "base.yaml", cwd=work).returncode == 0, cli("validate", "base.yaml", cwd=work).stderr
    return work


@pytest.mark.parametrize(("case", "data"), CASES, ids=[c for c, _ in CASES])
def test_bad_field_is_exit_2_with_a_location_or_valid(case: str, data: dict[str, Any], base_dir: Path) -> None:
    name = f"{case}.yaml"  # also the module name where the case leaves `module` out
    (base_dir / name).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    runs = {
        "validate": cli("validate", name, cwd=base_dir),
        "generate": cli("generate", name, "--check", "--out", f"out-{case}", cwd=base_dir),
        "diff": cli("diff", "base.yaml", name, cwd=base_dir),
        "explain": cli("explain", name, cwd=base_dir),
    }
    assert not (base_dir / f"out-{case}").exists(), "--check wrote"
    for command, run in runs.items():
        text = run.stdout + run.stderr
        assert "Traceback" not in text, f"{command}: {text}"
        assert run.returncode in ALLOWED[command], f"{command} exited {run.returncode}: {text}"
        if run.returncode == 2:
            errors = [line for line in run.stderr.splitlines() if ": error: " in line]
            assert errors, f"{command} exited 2 without naming an error: {run.stderr}"
            for line in errors:
                m = ERROR_LINE.match(line)
                assert m and m.group("file") == name, f"{command}: no file:line:col: {line}"
    valid = {command: run.returncode != 2 for command, run in runs.items()}
    assert len(set(valid.values())) == 1, f"the commands disagree on whether {case} is valid: {valid}"
