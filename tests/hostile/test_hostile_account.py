"""An AWS account written by an attacker (issue 26 §2): nothing it holds becomes structure.

Fast, in this process: the keys discover gives functions, and the helpers every account
string goes through on its way into discover's manifest (YAML scalars and comments).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import hostile_world as hw
from helpers import rendered
from helpers.cli import cli
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import api, hcl, naming, source, terminal
from generator.live import discover as discover_mod

PROPERTY = settings(max_examples=400, derandomize=True, deadline=None, database=None)

# Names YAML 1.1 or HCL read as something else than a name, and names no key can hold as they are.
TRICKY_NAMES = [*sorted(hcl.KEYWORDS), "True", "NULL", "yes", "no", "on", "off", "y", "n", "~", "1e3", "0x10",
                "0o17", ".inf", "-.inf", ".nan", "2024-01-01", "<<", "=", "-", "_", "", "a" * 200, "é", "日本", "😀",
                "a b", "a:b", "#x", "&a", "*a", "!x", "%x", "@x", "`x", "'x", '"x', "{x}", "[x]", "x\ny", "x\u2028y"]  # fmt: skip


def _key(name: str, used: set[str] | None = None) -> str:
    fn = discover_mod.Fn(f"arn:aws:lambda:us-east-1:111122223333:function:{name}", "", name)
    return discover_mod._unique_key(discover_mod._function_key(fn), used or set(), set())


@pytest.mark.parametrize("name", TRICKY_NAMES, ids=range(len(TRICKY_NAMES)))
def test_a_function_key_discover_writes_is_always_a_valid_key(name: str) -> None:
    key = _key(name)
    assert naming.function_key_problem(key) is None, key
    assert hcl.ident(key) == key  # what generate calls: it raises on anything else


@PROPERTY
@given(st.text(max_size=80), st.sets(st.text(max_size=70), max_size=5))
def test_function_keys_are_valid_and_distinct_whatever_the_names(name: str, others: set[str]) -> None:
    used: set[str] = set()
    for n in sorted(others | {name}):
        key = _key(n, used)
        assert naming.function_key_problem(key) is None and key not in used, (n, key)
        used.add(key)


@pytest.mark.parametrize("key", sorted(hcl.KEYWORDS))
def test_a_keyword_function_key_is_exit_2_at_the_key_never_a_crash(key: str, tmp_path) -> None:
    """It validated, and generate crashed: ``'null' cannot be a Terraform identifier``."""
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        f"""version: 1
account_id: "111122223333"
region: us-east-1
functions:
  {key}:
    strategy: single_user
    engine: postgresql
    existing_function_arn: arn:aws:lambda:us-east-1:111122223333:function:rotator
secrets:
  app/db:
    function: "{key}"
    arn: arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-a1B2c3
    schedule: {{every_days: 7}}
""",
        encoding="utf-8",
    )
    for result in (api.validate(manifest), api.generate(manifest, tmp_path / "out")):
        assert result.exit == api.Exit.USAGE
        [d] = result.diagnostics
        assert (d.path, d.line) == (("functions", key), 6) and "HCL keyword" in d.message
    assert not (tmp_path / "out").exists()


# ---- YAML: every scalar round-trips, every comment stays one comment ---------------------------

any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)  # Cs: not text, see yq


def _loaders() -> list[Any]:
    return [lambda text: yaml.load(text, Loader=yaml.SafeLoader), lambda text: yaml.load(text, Loader=yaml.CSafeLoader),
            lambda text: source.load_text(text, "d.yaml").data]  # fmt: skip


@PROPERTY
@given(any_text)
def test_every_scalar_discover_writes_reads_back_exactly(value: str) -> None:
    """yq and key_line: read back by PyYAML (pure and libyaml) and by rotation-tf's own
    loader as exactly the string, as a value and as a key, with nothing invisible in the text."""
    doc = f"{discover_mod.key_line('', value)} {discover_mod.yq(value)}\nafter: 1\n"
    for load in _loaders():
        assert load(doc) == {value: value, "after": 1}
    assert not [c for c in doc if c != "\n" and (terminal.hidden(c) or c in "\x85\u2028\u2029")], doc


@pytest.mark.parametrize("value", [*hw.CLASSES.values(), hw.ALL, hw.NAME_INJECTION, hw.VPC_INJECTION, "é" * 2000,
                                   "\\" * 600, '"' * 600, "\U0001f600" * 400, "\ufffe\uffff",
                                   "é" * 998, "日" * 999, "\U0001f600" * 1100])  # fmt: skip
def test_long_and_hostile_scalars_read_back_exactly(value: str) -> None:
    """A key longer than a YAML reader takes as an implicit key (1024 characters) is written
    in the explicit form; U+FFFE and U+FFFF, outside YAML's character set, escaped."""
    test_every_scalar_discover_writes_reads_back_exactly.hypothesis.inner_test(value)  # type: ignore[attr-defined]


def test_a_lone_surrogate_is_written_as_the_replacement_character() -> None:
    """Not text (no UTF-8, and libyaml refuses even its escape): the one value yq changes."""
    written = discover_mod.yq("a\ud800b")
    assert yaml.load(f"k: {written}", Loader=yaml.CSafeLoader) == {"k": "a\ufffdb"}


@PROPERTY
@given(any_text)
def test_a_comment_holds_any_text_on_one_line(text: str) -> None:
    line = discover_mod.comment("    ", text)
    for load in _loaders():
        assert load(f"a:\n  b: 1\n{line}\n  c: 2\n") == {"a": {"b": 1, "c": 2}}
    assert not [c for c in line if c != "\t" and (terminal.hidden(c) or c in "\x85\u2028\u2029")], line


# ---- the hostile account, in moto's in-process mock ------------------------------------------


@pytest.fixture(scope="module")
def account() -> Iterator[hw.World]:
    with hw.in_process() as world:
        yield world


@dataclass
class Discovered:
    text: str
    data: dict[str, Any]
    err: str
    path: Path


def _discover(tmp: Path, *extra: str) -> Discovered:
    path = tmp / "discovered.yaml"
    run = cli("discover", "--region", hw.REGION, "--max-attempts", "1", "--out", str(path), *extra, cwd=tmp)
    assert run.returncode == 0, run.stderr
    text = path.read_text(encoding="utf-8")
    return Discovered(text, yaml.safe_load(text), run.stderr, path)


@pytest.fixture(scope="module")
def discovered(account: hw.World, tmp_path_factory: pytest.TempPathFactory) -> Discovered:
    return _discover(tmp_path_factory.mktemp("plain"))


@pytest.fixture(scope="module")
def discovered_values(account: hw.World, tmp_path_factory: pytest.TempPathFactory) -> Discovered:
    return _discover(tmp_path_factory.mktemp("values"), "--read-values")


_STRUCTURAL = re.compile(r'^ *(?:(?:"(?:[^"\\]|\\.)*"|[a-z_]+):(?: .*)?|\? "(?:[^"\\]|\\.)*"|:)$')
_BREAKS = frozenset("\r\x85\u2028\u2029\x0b\x0c")


def _assert_only_structure(d: Discovered, expected: set[tuple[str, ...]]) -> None:
    assert hw.key_paths(d.data) == expected
    # every line is blank, one comment, or one line of structure; nothing else breaks a line
    assert not [c for c in d.text if c != "\n" and (c in _BREAKS or terminal.hidden(c))]
    for line in d.text.splitlines():
        assert not line.strip() or line.lstrip().startswith("# ") or _STRUCTURAL.match(line), line
    assert "pwned" not in json.dumps(d.data) and hw.CANARY not in d.text


def test_the_manifest_holds_only_what_discover_meant_to_write(account: hw.World, discovered: Discovered) -> None:
    _assert_only_structure(discovered, hw.expected_paths(account))
    assert "vpc" not in json.dumps(discovered.data)  # the stack name's vpc block stayed in its comment


def test_with_values_read_too(account: hw.World, discovered_values: Discovered) -> None:
    """A value's engine, host and masterarn are hostile as well: they reach comments only."""
    expected = hw.expected_paths(account) | {("secrets", "prod/ok-1", "master_secret"),
                                             ("secrets", "prod/ok-1", "master_secret", "arn")}  # fmt: skip
    _assert_only_structure(discovered_values, expected)
    assert discovered_values.data["secrets"]["prod/ok-1"]["master_secret"] == {"arn": "FILL-IN-MASTER-SECRET-ARN"}


def test_every_account_string_is_in_its_comment_escaped(account: hw.World, discovered: Discovered) -> None:
    text = discovered.text
    shown = discover_mod.comment_text
    assert f"#   {shown(hw.NAME_INJECTION)}\n" in text  # the secret name, one comment line
    assert f"(stack {shown(hw.VPC_INJECTION)}), function app-rotator." in text  # the stack name
    for cls, value in hw.CLASSES.items():
        assert f"#   {shown(f'n/{cls}/{value}')}\n" in text, cls  # secrets without rotation
        assert f"#   secrets.{shown(f'r/{cls}/{value}')}: " in text, cls  # left out, with the reason
    assert "#   functions.postgresql-alternating: " in text  # the hostile semantic version: left out
    assert "\n# Left out, because" in text and "\n# Secrets without rotation (left out):\n" in text


def test_every_comment_line_goes_through_comment_text(account, tmp_path, monkeypatch) -> None:
    """Each comment line discover writes, with comment_text marking what it was given."""
    real = discover_mod.comment_text
    monkeypatch.setattr(discover_mod, "comment_text", lambda text: f"<<{real(text)}>>")
    d = _discover(tmp_path, "--read-values")
    comments = [line.split("# ", 1)[1] for line in d.text.splitlines() if "# " in line]
    assert len(comments) > 50
    unmarked = [c for c in comments if not (c.startswith("<<") and c.endswith(">>"))]
    assert unmarked == []


def test_discover_says_on_stderr_no_terminal_escape(discovered: Discovered, discovered_values: Discovered) -> None:
    for d in (discovered, discovered_values):
        assert not [c for c in d.err if c not in "\n\t" and terminal.hidden(c)], d.err
    assert "FILL-IN placeholders to replace" in discovered_values.err


# ---- terminals: what the commands print shows every account string, obeys none -----------------

_OWN_SGR = re.compile(r"\x1b\[[0-9;]*m")  # the colours doctor, diff and rich paint with --color always


def _assert_no_escape(text: str, *, colours: bool = False) -> None:
    """No terminal escape, bidirectional or zero-width mark, carriage return or other control
    character; with ``colours``, the tool's own SGR colour sequences only, around words of its own."""
    if colours:
        text = _OWN_SGR.sub("", text)
    bad = sorted({c for c in text if c not in "\n\t" and terminal.hidden(c)})
    assert not bad, f"{bad} in {text!r}"


@pytest.mark.parametrize("value", [*hw.CLASSES.values(), hw.HOSTILE_FUNCTION, "\ud800 lone", "a\rb"])
def test_safe_shows_every_hidden_character_and_keeps_the_rest(value: str) -> None:
    shown = terminal.safe(value)
    _assert_no_escape(shown)
    assert [c for c in shown if c in "\n\t"] == [c for c in value if c in "\n\t"]
    assert terminal.safe(shown) == shown  # nothing left to escape
    assert terminal.safe("plain ASCII: `|[x](y)` ${a} é 日本 😀") == "plain ASCII: `|[x](y)` ${a} é 日本 😀"


@pytest.fixture(scope="module")
def filled(discovered: Discovered, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manifest with its FILL-IN placeholders filled in, as its user would."""
    from helpers import liveworld as lw

    path = tmp_path_factory.mktemp("filled") / "hostile.yaml"
    path.write_text(lw.fill_in(discovered.text), encoding="utf-8")
    return path


def test_doctor_shows_the_accounts_strings_escaped(account: hw.World, filled: Path) -> None:
    """The account rotates a secret with the hostile function: doctor quotes its ARN, in the
    table (colours on) and in json; the table shows it escaped, and stays in its columns."""
    sm = account.client("secretsmanager")
    arn = account.secret_arns["prod/ok-1"]

    def rotate_with(fn: str) -> None:
        sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn, RotationRules={"AutomaticallyAfterDays": 30},
                         RotateImmediately=False)  # fmt: skip
        for version, labels in sm.describe_secret(SecretId=arn).get("VersionIdsToStages", {}).items():
            if "AWSPENDING" in labels and "AWSCURRENT" not in labels:
                sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=version)

    rotate_with(account.ids["hostile-function"])
    try:
        table = cli(
            "doctor", str(filled), "--no-simulate", "--max-attempts", "1", "--color", "always", cwd=filled.parent
        )
        doc = cli("doctor", str(filled), "--no-simulate", "--max-attempts", "1", "--format", "json", cwd=filled.parent)
    finally:
        rotate_with(account.ids["function"])
    assert table.returncode == doc.returncode == 3, table.stderr  # fails, and grants not seen (no function yet)
    [quoted] = [f["message"] for f in json.loads(doc.stdout)["findings"] if f["check"] == "rotation"
                and f["subject"] == "prod/ok-1"]  # fmt: skip
    assert hw.HOSTILE_FUNCTION in quoted  # what doctor saw: the function's name as AWS gave it
    _assert_no_escape(table.stdout + table.stderr, colours=True)
    # the check column is as wide as the longest check shown (last-rotation)
    assert re.search(r"\x1b\[31;1mFAIL\x1b\[0m    rotation +rotation uses", table.stdout), table.stdout
    flat = " ".join(line.strip() for line in table.stdout.splitlines())
    assert terminal.safe(hw.HOSTILE_FUNCTION, lines=False).replace(" ", "") in flat.replace(" ", "")


def test_explain_diff_and_errors_show_a_hostile_file_name_escaped(filled: Path, tmp_path: Path) -> None:
    """A manifest's file name reaches explain's summary, diff's title and every error message."""
    osc8 = hw.CLASSES["osc8"].replace("/", "")  # a file name holds no '/'
    name = f"m{hw.CLASSES['ansi']}{osc8}{hw.CLASSES['bidi']}.yaml"
    named = tmp_path / name
    named.write_text(filled.read_text(encoding="utf-8").replace("version: 1\n", "version: 1\nmodule: hostile\n", 1))
    runs = [
        cli("explain", name, cwd=tmp_path),
        cli("explain", name, "--color", "always", cwd=tmp_path),
        cli("diff", "/dev/null", name, cwd=tmp_path),
        cli("diff", "/dev/null", name, "--color", "always", cwd=tmp_path),
    ]
    assert [r.returncode for r in runs] == [0, 0, 1, 1], [r.stderr for r in runs]
    for run in runs:
        _assert_no_escape(run.stdout + run.stderr, colours=True)
        assert "\\u202e" in run.stdout, run.stdout[:300]  # the name is there, shown
    bad = tmp_path / f"x{osc8}\u202e.yaml"  # no module: the file name cannot be one
    bad.write_text(filled.read_text(encoding="utf-8"), encoding="utf-8")
    key = tmp_path / "key.yaml"  # a key YAML reads from escapes: a field nobody knows
    key.write_text(filled.read_text(encoding="utf-8") + '"\\e]8;;https://evil.example\\e\\\\x\\u202e": 1\n')
    for args in (("validate", bad.name), ("generate", bad.name, "--out", "out"), ("validate", "key.yaml"),
                 ("explain", "key.yaml"), ("diff", "key.yaml", "/dev/null")):  # fmt: skip
        run = cli(*args, cwd=tmp_path)
        assert run.returncode == 2, (args, run.stderr)
        _assert_no_escape(run.stdout + run.stderr)
        assert "\\u202e" in run.stderr, run.stderr


# ---- the path: validate -> generate -> (terraform: test_terraform_hostile_account.py) -> diff
# ---- --format markdown -> the module README, rendered ---------------------------------------

# What the role path (printable ASCII, as IAM allows) holds that HCL would read as a template.
_TEMPLATES = ("${a}", "%{b}")


def generated(filled: Path, out: Path) -> Path:
    result = api.generate(filled, out)
    assert result.exit == api.Exit.OK, [d.render() for d in result.diagnostics]
    assert result.target is not None
    return result.target


def test_the_filled_manifest_generates_a_module_where_no_account_string_is_live(
    account: hw.World, filled: Path, tmp_path: Path
) -> None:
    import hcl2
    from helpers.hclparse import decode_string, load_module, resources

    assert api.validate(filled).exit == api.Exit.OK
    module = generated(filled, tmp_path / "out")
    parsed = load_module(module)  # python-hcl2 reads every file
    role_arn = account.ids["role"]
    checked = 0
    for tf in sorted(module.glob("*.tf")):
        text = tf.read_text(encoding="utf-8")
        hcl2.loads(text)
        for template in _TEMPLATES:  # the role path's ${a} and %{b}: never a live template
            assert template not in text, (tf.name, template)
        # each check on the function's role compares with the role ARN exactly, as AWS gave it
        for literal in re.findall(r'self\.role == ("(?:[^"\\]|\\.)*")', text):
            assert decode_string(literal) == role_arn
            checked += 1
    assert checked == len(account.kept_functions) - 1  # every existing function's (not the application's)
    assert {k: v["role"] for k, v in resources(parsed, "aws_iam_role_policy").items()} == {
        k: "hostile-exec" for k in account.kept_functions if k != "postgresql-single"
    }
    # secret names such as null, true, 1e3: Terraform names of their own (naming.secret_ident)
    rotations = resources(parsed, "aws_secretsmanager_secret_rotation")
    assert set(rotations) == {naming.secret_ident(n) for n in account.rotated}
    assert {"_null", "_true", "_false", "_for", "yes", "on", "_1e3", "_0x10"} <= set(rotations)


def test_the_diff_comment_and_the_readme_render_no_foreign_structure(
    account: hw.World, filled: Path, tmp_path: Path
) -> None:
    module = generated(filled, tmp_path / "out")
    readme = (module / "README.md").read_text(encoding="utf-8")
    run = cli("diff", "/dev/null", str(filled), "--format", "markdown", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    for md, own in ((readme, {"h1", "h2", "h3", "h4", "p", "ul", "ol", "li", "a", "strong", "em", "code", "pre",
                              "table", "thead", "tbody", "tr", "th", "td", "br", "hr", "blockquote"}),
                    (run.stdout, {"h3", "h4", "p", "strong", "code", "table", "thead", "tbody", "tr", "th", "td",
                                  "br", "details", "summary", "sub"})):  # fmt: skip
        p = rendered.parse(md)  # also: no invisible mark is rendered
        assert {t for t, _ in p.tags} <= own, {t for t, _ in p.tags} - own
        hrefs = {a.get("href") or "" for t, a in p.tags if t == "a"}
        assert all(re.match(r"https://(docs\.aws\.amazon\.com|registry\.terraform\.io|github\.com)/", h) for h in hrefs)
        for block in re.split(r"\n\n", md):  # every table row still has its table's number of cells
            rows = [r for r in block.splitlines() if r.startswith("|")]
            if rows:
                assert len({len(re.split(r"(?<!\\)\|", r)) for r in rows}) == 1, rows
    assert account.ids["role"] in rendered.parse(readme).code  # the role path, whole, as code
    assert "`kw/null`" in run.stdout and "`f-null`" in run.stdout
