"""An AWS account written by an attacker (issue 26 §2): nothing it holds becomes structure.

Fast, in this process: the keys discover gives functions, and the helpers every account
string goes through on its way into discover's manifest (YAML scalars and comments).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import api, hcl, naming
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
