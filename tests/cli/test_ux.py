"""Daily-use commands as users meet them: schema, explain, init, multi-manifest generate and
--check output (in this process; on a pseudo-terminal through `python -m generator`)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import yaml
from helpers.cli import cli
from helpers.paths import EXAMPLES, ROOT, SNAPSHOTS

from generator import api, explain
from generator import schema as schema_mod
from generator.formats import explain as explain_formats

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def cli_tty(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, columns: int = 100) -> str:
    """Run the CLI with stdout on a pseudo-terminal, as in an interactive shell."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full_env.update({"COLUMNS": str(columns), "TERM": "xterm-256color"})
    full_env.update(env or {})
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", *args], cwd=cwd, stdout=slave, stderr=subprocess.PIPE, env=full_env
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else ""
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


# --------------------------------------------------------------------------------------
# schema


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    proc = cli("schema")
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_is_the_models_schema() -> None:
    from generator.manifest import Manifest

    printed = json.loads(cli("schema").stdout)
    assert printed.pop("$schema") == schema_mod.DIALECT
    assert printed == Manifest.model_json_schema()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_schema_accepts_every_example(validator, example: Path) -> None:
    errors = list(validator.iter_errors(yaml.safe_load(example.read_text())))
    assert not errors, [e.message for e in errors]


def _base() -> dict:
    return yaml.safe_load((ROOT / "examples" / "rotation.yaml").read_text())


def _set(data: dict, path: tuple, value) -> dict:
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return data


# (name, change) pairs that JSON Schema can express; each is also rejected by `validate`.
BAD = {
    "unknown_top_field": lambda d: _set(d, ("regoin",), "us-east-1"),
    "unknown_function_field": lambda d: _set(d, ("functions", "pg-single", "stratgy"), "single_user"),
    "wrong_strategy_enum": lambda d: _set(d, ("functions", "pg-single", "strategy"), "single_usr"),
    "wrong_engine_enum": lambda d: _set(d, ("functions", "pg-single", "engine"), "postgres"),
    "account_id_as_number": lambda d: _set(d, ("account_id",), 111122223333),
    "account_id_too_short": lambda d: _set(d, ("account_id",), "11112222333"),
    "version_2": lambda d: _set(d, ("version",), 2),
    "every_days_as_text": lambda d: _set(d, ("secrets", "prod/orders/db", "schedule", "every_days"), "30"),
    "window_pattern": lambda d: _set(d, ("secrets", "prod/orders/db", "schedule", "window"), "3 hours"),
    "subnet_pattern": lambda d: _set(d, ("functions", "mysql-alt", "vpc", "subnet_ids"), ["subnet-xyz"]),
    "managed_as_text": lambda d: _set(
        d, ("secrets", "prod/orders/db", "managed"), "yes"
    ),  # functions may be empty: all-managed manifests
    "missing_schedule": lambda d: d["secrets"]["prod/orders/db"].pop("schedule") and d,
    "timeout_too_long": lambda d: _set(d, ("functions", "mysql-alt", "package", "timeout"), 901),
    "rotate_immediately_text": lambda d: _set(d, ("secrets", "prod/users/db", "rotate_immediately"), "no"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_schema_rejects_bad_manifests(validator, name: str, tmp_path: Path) -> None:
    data = BAD[name](_base())
    assert list(validator.iter_errors(data)), f"the schema accepted {name}"
    # the CLI rejects it too: the schema never accepts less than `validate` does
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert cli("validate", str(path)).returncode == 2


# --------------------------------------------------------------------------------------
# explain


def test_explain_json_lists_every_statement_with_reason() -> None:
    proc = cli("explain", "examples/rotation.yaml", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    module, _ = api.load(ROOT / "examples" / "rotation.yaml")
    assert [f["function"] for f in data["functions"]] == [f.key for f in module.functions]
    for role, fn in zip(data["roles"], module.functions, strict=True):
        assert role["role_name"] == fn.role_name
        got = [(s["sid"], s["actions"], s["resources"], s["condition"], s["reason"]) for s in role["statements"]]
        want = [(s.sid, list(s.actions), list(s.resources), s.condition, s.reason) for s in fn.policy.statements]
        assert got == want
    mysql = next(f for f in data["functions"] if f["function"] == "mysql-alt")
    assert mysql["vpc"] is True and mysql["source"] == "package" and mysql["secret_count"] == 1
    assert len(mysql["kms_keys"]) == 2


def test_explain_plain_when_piped() -> None:
    proc = cli("explain", "examples/rotation.yaml")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert not ANSI.search(out) and "┃" not in out
    assert out.splitlines()[0].startswith("Module rotation (from rotation.yaml)")
    # every action and every resource of every role appears, with its reason
    module, _ = api.load(ROOT / "examples" / "rotation.yaml")
    for fn in module.functions:
        assert explain_formats.role_title(explain.facts(module)["roles"][module.functions.index(fn)]) in out
        for st in fn.policy.statements:
            assert st.reason in out
            for item in (*st.actions, *st.resources):
                assert item in out


def test_explain_rich_on_a_terminal_follows_width_and_no_color() -> None:
    coloured = cli_tty("explain", "examples/rotation.yaml", columns=100)
    assert ANSI.search(coloured), "expected colour on a terminal"
    assert "┏" in coloured and "㊙" not in coloured, "tables, and ARNs printed verbatim (no emoji codes)"
    wide = ANSI.sub("", cli_tty("explain", "examples/rotation.yaml", columns=400))
    assert "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/users/db-XyZ123" in wide
    plain_text = ANSI.sub("", coloured)
    assert max(len(line) for line in plain_text.splitlines()) <= 100
    narrow = ANSI.sub("", cli_tty("explain", "examples/rotation.yaml", columns=60))
    assert max(len(line) for line in narrow.splitlines()) <= 60
    no_color = cli_tty("explain", "examples/rotation.yaml", env={"NO_COLOR": "1"})
    assert "┏" in no_color
    assert not re.search(r"\x1b\[(3[0-9]|9[0-9])m", no_color), "NO_COLOR must turn colour off"


def test_explain_and_module_readme_show_the_compact_form(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "examples" / "minimal.yaml").read_text())
    data["secrets"] = {
        f"prod/service-{i:03d}/database": {"function": "rotator", "schedule": {"every_days": 7}} for i in range(160)
    }
    manifest = tmp_path / "many.yaml"
    manifest.write_text(yaml.safe_dump(data))
    proc = cli("explain", "many.yaml", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    role = json.loads(proc.stdout)["roles"][0]
    assert role["form"] == "compact" and role["policy_size"] <= role["policy_size_limit"]
    rotate = role["statements"][0]
    assert rotate["condition"] == {
        "StringEquals": {
            "secretsmanager:resource/AllowRotationLambdaArn": data["functions"]["rotator"]["existing_function_arn"]
        }
    }
    assert cli("generate", "many.yaml", cwd=tmp_path).returncode == 0
    readme = (tmp_path / "out" / "many" / "README.md").read_text()
    assert "Compact form:" in readme and "compact form," in readme
    assert readme.count("| `prod/service-") == 160


def test_explain_bad_manifest_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\n")
    proc = cli("explain", str(bad))
    assert proc.returncode == 2 and "error:" in proc.stderr and not proc.stdout
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------------------
# generate: several manifests, --check output


def test_generate_several_manifests_and_check(workdir: Path) -> None:
    args = ("generate", "examples/rotation.yaml", "examples/minimal.yaml")
    assert cli(*args, cwd=workdir).returncode == 0
    assert (workdir / "out" / "rotation" / "iam.tf").is_file() and (workdir / "out" / "minimal" / "iam.tf").is_file()
    assert cli(*args, "--check", cwd=workdir).returncode == 0

    (workdir / "out" / "minimal" / "outputs.tf").unlink()
    iam = workdir / "out" / "rotation" / "iam.tf"
    iam.write_text(iam.read_text().replace("acme-mysql-alt-rotation", "edited", 1))
    proc = cli(*args, "--check", cwd=workdir)
    assert proc.returncode == 1
    assert "MISSING: out/minimal/outputs.tf" in proc.stdout and "--- a/out/rotation/iam.tf" in proc.stdout
    assert not ANSI.search(proc.stdout), "no colour when piped"
    assert proc.stderr.strip().splitlines()[-1] == (
        "2 files would change; run: rotation-tf generate examples/rotation.yaml examples/minimal.yaml"
    )
    coloured = cli(*args, "--check", "--color", "always", cwd=workdir).stdout
    assert '\x1b[31m-  name                 = "edited-use1"\x1b[0m' in coloured
    assert '\x1b[32m+  name                 = "acme-mysql-alt-rotation-use1"\x1b[0m' in coloured
    assert ANSI.sub("", coloured) == proc.stdout


def test_check_colours_on_a_terminal_only(workdir: Path) -> None:
    assert cli("generate", "examples/minimal.yaml", cwd=workdir).returncode == 0
    (workdir / "out" / "minimal" / "iam.tf").write_text(
        (workdir / "out" / "minimal" / "iam.tf").read_text().replace("rotator-rotation", "edited", 1)
    )
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "generate", "examples/minimal.yaml", "--check"],
        cwd=workdir,
        stdout=slave,
        stderr=subprocess.PIPE,
        env=env,
        timeout=60,
    )
    os.close(slave)
    out = b""
    while select.select([master], [], [], 0.5)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.returncode == 1
    assert b"\x1b[31m-" in out and b"\x1b[32m+" in out
    assert not ANSI.search(
        cli("generate", "examples/minimal.yaml", "--check", cwd=workdir, env={"NO_COLOR": "1"}).stdout
    )


def test_several_manifests_all_or_nothing(workdir: Path) -> None:
    bad = workdir / "examples" / "bad.yaml"
    bad.write_text((workdir / "examples" / "minimal.yaml").read_text().replace("every_days: 7", "every_days: seven"))
    proc = cli("generate", "examples/rotation.yaml", "examples/bad.yaml", cwd=workdir)
    assert proc.returncode == 2
    assert "examples/bad.yaml:" in proc.stderr and "nothing was written" in proc.stderr
    assert not (workdir / "out").exists()


def test_two_manifests_for_one_module_folder_are_refused(workdir: Path) -> None:
    (workdir / "other").mkdir()
    shutil.copy(workdir / "examples" / "minimal.yaml", workdir / "other" / "minimal.yaml")
    proc = cli("generate", "examples/minimal.yaml", "other/minimal.yaml", cwd=workdir)
    assert proc.returncode == 2
    assert "same module folder" in proc.stderr
    assert not (workdir / "out").exists()


# --------------------------------------------------------------------------------------
# init


@pytest.mark.parametrize(
    "engine,strategy",
    [
        ("postgresql", "single_user"),
        ("mysql", "alternating_users"),
        ("sqlserver", "alternating_users"),
        ("other", "single_user"),
    ],
)
def test_init_writes_a_manifest_that_validates_and_generates(tmp_path: Path, engine: str, strategy: str) -> None:
    proc = cli(
        "init",
        "rotation.yaml",
        "--engine",
        engine,
        "--strategy",
        strategy,
        "--account-id",
        "123456789012",
        "--region",
        "eu-west-1",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "rotation.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    assert f"engine: {engine}" in text and f"strategy: {strategy}" in text
    assert ("master_secret:" in text) == (strategy == "alternating_users")
    # what init cannot know is a placeholder, and validate refuses the file until it is filled in
    fill = {
        "FILL-IN-FUNCTION-NAME": "team-rotator",
        "FILL-IN-SECRET-NAME": "prod/app/db",
        "FILL-IN-MASTER-SECRET-NAME": "prod/app/admin",
    }
    assert {p for p in fill if p in text} == set(fill) - (
        {"FILL-IN-MASTER-SECRET-NAME"} if strategy == "single_user" else set()
    )
    proc = cli("validate", "rotation.yaml", cwd=tmp_path)
    assert proc.returncode == 2 and all(
        "replace the placeholder FILL-IN-" in line for line in proc.stderr.splitlines()
    ), proc.stderr
    for placeholder, value in fill.items():
        text = text.replace(placeholder, value)
    assert not re.search(r"FILL-IN-[A-Z]", text)
    (tmp_path / "rotation.yaml").write_text(text)
    assert cli("validate", "rotation.yaml", cwd=tmp_path).returncode == 0
    assert cli("generate", "rotation.yaml", cwd=tmp_path).returncode == 0
    assert cli("generate", "rotation.yaml", "--check", cwd=tmp_path).returncode == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("rotation-tf-init-")] == []


def test_init_writes_the_schema_its_first_line_names_and_never_overwrites_it(tmp_path: Path) -> None:
    """Issue 19: the starter's first line names rotation-tf.schema.json; init writes it
    beside the manifest (the schema `rotation-tf schema` prints) when it is absent, and
    keeps any file of that name, saying when it is not this version's schema."""
    from generator import schema

    (tmp_path / "team").mkdir()
    proc = cli("init", "team/rotation.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    first = (tmp_path / "team" / "rotation.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=rotation-tf.schema.json"
    written = tmp_path / "team" / first.rsplit("=", 1)[1]  # relative to the manifest, as the editor reads it
    assert written.read_text() == schema.dumps() == cli("schema").stdout
    assert json.loads(written.read_text())["title"] == "rotation-tf manifest"
    assert proc.stderr.startswith(
        "wrote team/rotation.yaml and team/rotation-tf.schema.json (its JSON Schema, for editors); fill in"
    )
    # a second manifest in the same folder: the schema is current and stays as it is
    before = written.stat()
    proc = cli("init", "team/other.yaml", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr.startswith(
        "wrote team/other.yaml (team/rotation-tf.schema.json beside it is current); fill in"
    ), proc.stderr
    assert written.stat().st_ino == before.st_ino and written.stat().st_mtime_ns == before.st_mtime_ns
    # an old or hand-written file of that name is never overwritten; init says how to refresh it
    written.write_text('{"old": true}\n')
    proc = cli("init", "team/third.yaml", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stderr.startswith(
        "wrote team/third.yaml; kept team/rotation-tf.schema.json, which is not this version's schema "
        "(to refresh it: rotation-tf schema > team/rotation-tf.schema.json); fill in"
    ), proc.stderr
    assert written.read_text() == '{"old": true}\n'
    assert sorted(p.name for p in (tmp_path / "team").iterdir()) == [
        "other.yaml",
        "rotation-tf.schema.json",
        "rotation.yaml",
        "third.yaml",
    ]
    # a refused manifest writes no schema either
    (tmp_path / "fresh").mkdir()
    assert cli("init", "fresh/x.yaml", "--region", "moon-1", cwd=tmp_path).returncode == 2
    assert list((tmp_path / "fresh").iterdir()) == []


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "rotation.yaml"
    target.write_text("mine\n")
    proc = cli("init", "rotation.yaml", cwd=tmp_path)
    assert proc.returncode == 2 and "already exists" in proc.stderr
    assert target.read_text() == "mine\n"


def test_init_rejects_bad_options(tmp_path: Path) -> None:
    proc = cli("init", "x.yaml", "--account-id", "12345", "--region", "moon-1", cwd=tmp_path)
    assert proc.returncode == 2
    assert "account_id" in proc.stderr and "region" in proc.stderr and "Traceback" not in proc.stderr
    assert cli("init", "y.yaml", "--engine", "postgres", cwd=tmp_path).returncode == 2
    assert list(tmp_path.iterdir()) == []


def test_completion_is_offered() -> None:
    proc = cli("--help")
    assert "--install-completion" in proc.stdout and "--show-completion" in proc.stdout


# --------------------------------------------------------------------------------------
# Issue 14: several manifests everywhere, explain's layout, init's placeholder, tabs


def test_validate_and_explain_take_several_manifests() -> None:
    proc = cli("validate", "examples/rotation.yaml", "examples/minimal.yaml")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == ["examples/rotation.yaml: ok", "examples/minimal.yaml: ok"]
    proc = cli("explain", "examples/rotation.yaml", "examples/minimal.yaml", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert [d["module"] for d in json.loads(proc.stdout)] == ["rotation", "minimal"]
    proc = cli("explain", "examples/rotation.yaml", "examples/minimal.yaml")
    assert "Module rotation (from rotation.yaml)" in proc.stdout and "Module minimal (from minimal.yaml)" in proc.stdout


def test_validate_reports_every_bad_manifest(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("version: 1\n")
    shutil.copyfile(ROOT / "examples" / "minimal.yaml", tmp_path / "b.yaml")
    (tmp_path / "c.yaml").write_text("version: 2\n")
    proc = cli("validate", "a.yaml", "b.yaml", "c.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "b.yaml: ok" in proc.stderr
    assert any(line.startswith("a.yaml") for line in proc.stderr.splitlines())
    assert any(line.startswith("c.yaml") for line in proc.stderr.splitlines())


def test_explain_piped_puts_one_value_a_line(tmp_path: Path) -> None:
    """One key, many secrets: the condition names each secret; piped, each on its own line
    (it used to be one line of hundreds of characters)."""
    data = yaml.safe_load((ROOT / "examples" / "minimal.yaml").read_text())
    key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    data["secrets"] = {
        f"prod/svc-{i}/db": {"function": "rotator", "kms_key_arn": key, "schedule": {"every_days": 7}}
        for i in range(12)
    }
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(data))
    proc = cli("explain", "m.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    arns = [f"arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/svc-{i}/db-??????" for i in range(12)]
    for arn in arns:  # each ARN whole, on a line of its own (in resources and in the condition)
        assert sum(1 for line in lines if line.strip() == arn or line.endswith("  " + arn)) == 2, arn
    assert max(len(line) for line in lines) <= 140, max(lines, key=len)


def test_explain_shows_schedules_and_windows() -> None:
    data = json.loads(cli("explain", "examples/rotation.yaml", "--format", "json").stdout)
    by_name = {s["secret"]: s for s in data["secrets"]}
    assert (
        by_name["prod/billing/db"]["expression"] == "cron(0 4 ? * SUN *)"
        and by_name["prod/billing/db"]["window"] == "2h"
    )
    assert (
        by_name["prod/orders/db"]["every_days"] == 30 and by_name["prod/orders/db"]["schedule_text"] == "every 30 days"
    )
    assert by_name["prod/users/db"]["window"] is None
    text = cli("explain", "examples/rotation.yaml").stdout
    assert re.search(r"^prod/billing/db\s+pg-single\s+cron\(0 4 \? \* SUN \*\)\s+2h\s+no$", text, re.M), text
    assert re.search(r"^prod/users/db\s+mysql-alt\s+rate\(10 days\)\s+default\s+no$", text, re.M), text


def test_explain_on_a_narrow_terminal_breaks_arns_only_between_parts() -> None:
    module, _ = api.load(ROOT / "examples" / "rotation.yaml")
    arns = {r for fn in module.functions for st in fn.policy.statements for r in st.resources if r.startswith("arn:")}
    for columns in (60, 80):
        out = ANSI.sub("", cli_tty("explain", "examples/rotation.yaml", columns=columns))
        assert max(len(line) for line in out.splitlines()) <= columns
        marked = re.sub(r" *\n +", "|", out)  # a line break and the next line's indent
        for arn in arns:
            # the ARN, with a break allowed only right after one of its ':' or '/'
            pattern = "".join(re.escape(c) + (r"\|?" if c in ":/" else "") for c in arn)
            assert re.search(pattern + r"(?![\w-])", marked), (columns, arn)


def test_init_without_account_writes_a_placeholder_that_fails_validate(tmp_path: Path) -> None:
    proc = cli("init", "rotation.yaml", "--strategy", "alternating_users", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == (
        "wrote rotation.yaml and rotation-tf.schema.json (its JSON Schema, for editors); "
        "fill in its FILL-IN-... placeholders (account_id, "
        "functions.postgresql-alt.existing_function_arn, the secret's name under secrets, its master_secret.name), "
        "then: rotation-tf validate rotation.yaml && rotation-tf generate rotation.yaml\n"
    )
    text = (tmp_path / "rotation.yaml").read_text()
    assert 'account_id: "FILL-IN-ACCOUNT-ID"' in text and "111122223333" not in text
    proc = cli("validate", "rotation.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "rotation.yaml:8:13: error: account_id: replace the placeholder FILL-IN-ACCOUNT-ID with your 12-digit AWS account id (quoted)",
        "rotation.yaml:19:28: error: functions.postgresql-alt.existing_function_arn: replace FILL-IN-ACCOUNT-ID in this ARN "
        "with your 12-digit AWS account id",
        "rotation.yaml:19:28: error: functions.postgresql-alt.existing_function_arn: replace the placeholder "
        "FILL-IN-FUNCTION-NAME with the name of your rotation Lambda function",
        "rotation.yaml:31:3: error: secrets.FILL-IN-SECRET-NAME: replace the placeholder FILL-IN-SECRET-NAME with the "
        "name of a secret to rotate",
        "rotation.yaml:36:13: error: secrets.FILL-IN-SECRET-NAME.master_secret.name: replace the placeholder "
        "FILL-IN-MASTER-SECRET-NAME with the name of the secret that holds the master (admin) user's credentials",
    ]
    # the account alone filled in: the other placeholders still fail; all filled in, it validates
    text = text.replace("FILL-IN-ACCOUNT-ID", "123456789012")
    (tmp_path / "rotation.yaml").write_text(text)
    assert cli("validate", "rotation.yaml", cwd=tmp_path).returncode == 2
    for placeholder in ("FILL-IN-FUNCTION-NAME", "FILL-IN-SECRET-NAME", "FILL-IN-MASTER-SECRET-NAME"):
        text = text.replace(placeholder, placeholder.lower().removeprefix("fill-in-"))
    (tmp_path / "rotation.yaml").write_text(text)
    assert cli("validate", "rotation.yaml", cwd=tmp_path).returncode == 0


def test_init_suggests_the_region_like_validate(tmp_path: Path) -> None:
    proc = cli("init", "x.yaml", "--region", "us-eats-1", cwd=tmp_path)
    assert proc.returncode == 2 and "'us-eats-1' is not an AWS region; did you mean 'us-east-1'?" in proc.stderr
    (tmp_path / "y.yaml").write_text(
        (ROOT / "examples" / "minimal.yaml").read_text().replace("region: us-east-1", "region: us-eats-1")
    )
    assert (
        "'us-eats-1' is not an AWS region; did you mean 'us-east-1'?" in cli("validate", "y.yaml", cwd=tmp_path).stderr
    )


def test_tab_indentation_is_named() -> None:
    expected = (ROOT / "tests" / "data" / "hostile" / "yaml_syntax_tab_indent.expected").read_text()
    assert "yaml_syntax_tab_indent.yaml:10:1: error: tabs are not allowed for indentation in YAML" in expected
    # a tab deeper in a block, after valid lines
    from generator import source
    from generator.errors import Failed

    text = (ROOT / "examples" / "minimal.yaml").read_text().replace("    engine: postgresql", "  \tengine: postgresql")
    path = SNAPSHOTS / "_tab.yaml"
    try:
        path.write_text(text)
        with pytest.raises(Failed) as info:
            source.load(path)
    finally:
        path.unlink()
    d = info.value.diagnostics[0]
    assert (d.line, d.column, d.message) == (
        text.splitlines().index("  \tengine: postgresql") + 1,
        3,
        "tabs are not allowed for indentation in YAML; indent with spaces",
    )


def test_fast_path_and_typer_agree(workdir: Path) -> None:
    """main.py runs plain generate/validate without typer; the typer commands call the same
    code. Both must print and exit alike (the typer path is forced through generator.cli)."""
    typer_cmd = [sys.executable, "-c", "import sys; from generator.cli import run; sys.argv[0] = 'rotation-tf'; run()"]
    fast_cmd = [sys.executable, "-m", "generator"]
    (workdir / "examples" / "bad.yaml").write_text("version: 1\n")
    for args in (
        ["validate", "examples/rotation.yaml", "examples/minimal.yaml"],
        ["validate", "examples/bad.yaml"],
        ["generate", "examples/minimal.yaml", "--check"],
        ["generate", "examples/minimal.yaml", "-o", "out"],
        ["generate", "--check", "--out=out", "examples/minimal.yaml", "--color", "always"],
        ["generate", "examples/bad.yaml"],
    ):
        shutil.rmtree(workdir / "out", ignore_errors=True)
        fast = subprocess.run(fast_cmd + args, cwd=workdir, capture_output=True, text=True, timeout=120)
        shutil.rmtree(workdir / "out", ignore_errors=True)
        slow = subprocess.run(typer_cmd + args, cwd=workdir, capture_output=True, text=True, timeout=120)
        assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr), args


@pytest.mark.parametrize("columns", [80, 100])
def test_help_never_cuts_an_option_name_short(columns: int) -> None:
    """At 80 columns rich shrank every column of typer's options table alike and printed
    `--role-session-n…` (issue 25 §4): every option name of every command is whole, and no
    word of any help ends in an ellipsis."""
    import typer.main

    from generator.cli import app

    group = typer.main.get_command(app)
    commands = {"": group, **group.commands}  # type: ignore[attr-defined]
    for name, command in commands.items():
        run = cli(*([name] if name else []), "--help", env={"COLUMNS": str(columns), "TERM": "dumb", "NO_COLOR": "1"})
        assert run.returncode == 0, run.stderr
        assert "…" not in run.stdout, f"{name} --help at {columns} columns cuts a word:\n{run.stdout}"
        width = max(len(line) for line in run.stdout.splitlines())
        assert width <= columns, f"{name} --help is {width} columns wide"
        for param in command.params:
            for opt in [*param.opts, *param.secondary_opts]:
                if opt.startswith("-"):
                    assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", run.stdout), (
                        f"{name} --help at {columns} columns does not show {opt} whole:\n{run.stdout}"
                    )
