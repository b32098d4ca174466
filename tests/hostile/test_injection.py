"""Injection: every free text the manifest can carry reaches HCL through ``hcl.string``
and comes back out exactly, whatever it holds.

* ``hcl.string`` on hostile strings (quotes, backslashes, ``${``, ``%{``, ``$${``, newlines,
  control characters, unicode, heredoc markers) parses with python-hcl2 and decodes back
  exactly (with the independent decoder in ``hclparse``).
* Valid manifests with hostile-but-allowed values (function descriptions, handlers, zip
  file names, tag keys and values, secret names) render to modules whose parsed values
  equal the manifest's.
* (test_terraform_injection.py) ``hcl.align`` agrees with ``terraform fmt`` on hostile
  (unicode) keys, and ``terraform plan`` against moto shows the same values.

Hypothesis runs derandomized with a fixed number of examples, so CI is repeatable.
"""

from __future__ import annotations

import hcl2
from helpers.hclparse import decode_string
from helpers.injection import assert_module_says, manifests, write_manifest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import api, hcl

FRAGMENTS = [
    '"',
    "\\",
    "${",
    "%{",
    "$${",
    "%%{",
    "$$",
    "}",
    "{",
    "\n",
    "\r",
    "\t",
    "\r\n",
    "<<EOF",
    "<<-EOT",
    "EOF",
    "\x00",
    "\x1b[31m",
    "\x7f",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\u200b",
    "é",
    "日本",
    "😀",
    "\\n",
    "\\u0024",
    "${path.module}",
    "%{ if true }x%{ endif }",
    '${file("/etc/passwd")}',
    "*/",
    "/*",
    "#",
    "//",
]

PROPERTY = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
MODULES = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)

any_char = st.characters(exclude_categories=("Cs",))  # no lone surrogates: not encodable
hostile_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(any_char, max_size=5)), max_size=12).map("".join)


@PROPERTY
@given(hostile_text)
def test_hcl_string_parses_and_decodes_exactly(s: str) -> None:
    literal = hcl.string(s)
    assert "\n" not in literal and "\r" not in literal
    assert "${" not in literal and "%{" not in literal, literal
    parsed = hcl2.loads(f"x = {literal}\n")["x"]
    assert parsed == literal, "python-hcl2 keeps string literals as written"
    assert decode_string(parsed) == s


def test_known_escapes() -> None:
    assert hcl.string('a"b\\c') == '"a\\"b\\\\c"'
    assert hcl.string("${x}") == '"\\u0024{x}"'
    assert hcl.string("%{x}") == '"\\u0025{x}"'
    assert hcl.string("$${x}") == '"$\\u0024{x}"'
    assert hcl.string("a\nb\x00") == '"a\\nb\\u0000"'
    assert hcl.string("<<EOF") == '"<<EOF"'


# ---- whole manifests (helpers/injection.py) ------------------------------------------------


@MODULES
@given(manifests())
def test_hostile_values_reach_the_module_exactly(tmp_path_factory, data: dict) -> None:
    work = tmp_path_factory.mktemp("m")
    manifest = write_manifest(work, data)
    result = api.generate(manifest, work / "out")
    assert result.exit == api.Exit.OK, [d.render() for d in result.diagnostics]
    assert_module_says(work / "out" / "hostile", data, manifest)


# ---- terraform ---------------------------------------------------------------------------
