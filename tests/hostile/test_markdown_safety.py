"""No value becomes Markdown structure: every string that is not the tool's own words
reaches the module README (and the diff comment) inside a code span (generator.markdown.code)
or escaped as text (markdown.text), and a CommonMark renderer (markdown-it-py, CommonMark
with GitHub's tables) finds in it no link, image, HTML element or broken table row, only a
code element holding the value itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from helpers.paths import ROOT
from helpers.rendered import parse as _parse
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import api, markdown, render

HOSTILE = [
    "/`|[click](https:evil.example)|`/",  # issue 26: a role path that rendered as a link
    "``double`` and ```triple```",
    "`leading and trailing`",
    "<img src=x onerror=alert(1)>",
    "<!-- comment -->",
    "![image](https://evil.example/x.png)",
    "[ref]: https://evil.example",
    "https://evil.example/autolink <https://evil.example>",
    "a|b|c",
    "line\nbreak\r\nand\rmore\u2028ls\u2029ps\x85nel",
    "rtl \u202eevil\u202c zero\u200bwidth",
    "arabic letter mark \u061c, tag \U000e0041, soft\u00adhyphen, isolate \u2067x\u2069",
    "&#x202e;evil&#x202c; &lt;img src=x&gt; &amp; &#27;[31m",  # references decode to marks and markup
    "\x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x1b\\osc8\x1b]8;;\x1b\\",
    "# heading",
    "- list item",
    "*emphasis* _under_",
    "\\`escaped\\` \\| \\",
    " space at both ends ",
    "",
    "x" * 2000,
]


def _shown(value: str) -> str:
    """What a code span shows of ``value``: line breaks as spaces, invisible marks escaped."""
    return markdown._visible(markdown.LINE_BREAKS.sub(" ", value)) or " "


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_a_code_span_holds_any_value_and_nothing_else(value: str) -> None:
    for cell in (False, True):
        span = markdown.code(value, cell=cell)
        doc = f"| a |\n|---|\n| {span} |\n" if cell else f"### The role {span} runs as\n"
        p = _parse(doc)
        assert [t for t, _ in p.tags if t not in ("table", "thead", "tbody", "tr", "th", "td", "h3", "p")] == ["code"]
        assert p.code == [_shown(value)]
        assert "\n" not in span and "\r" not in span


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_escaped_text_makes_no_link_html_or_code(value: str) -> None:
    p = _parse(f"| a |\n|---|\n| {markdown.text(value, cell=True)} |\n")
    assert {t for t, _ in p.tags} <= {"table", "thead", "tbody", "tr", "th", "td", "br", "em", "strong"}
    assert [t for t, _ in p.tags].count("tr") == 2 and [t for t, _ in p.tags].count("td") == 1  # one row, one cell


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60))
def test_code_spans_hold_arbitrary_text(value: str) -> None:
    p = _parse(f"| a |\n|---|\n| {markdown.code(value, cell=True)} |\n")
    assert [t for t, _ in p.tags if t == "code" or t in ("a", "img")] == ["code"]
    assert p.code == [_shown(value)]


ROLE = "arn:aws:iam::111122223333:role/`|[click](https:evil.example)|`<img/src=x>/app"  # any printable ASCII
METADATA = "`|[x](https://evil.example)`\n# heading <b>bold</b>"


def _hostile_manifest(tmp_path: Path) -> Path:
    """The external-secrets example, with an existing function whose role path and a
    partner's metadata value are chosen to break Markdown."""
    data = yaml.safe_load((ROOT / "examples" / "external-secrets.yaml").read_text(encoding="utf-8"))
    data["functions"] = {
        "legacy": {
            "strategy": "single_user",
            "engine": "postgresql",
            "existing_function_arn": "arn:aws:lambda:us-east-1:111122223333:function:legacy-rotator",
            "execution_role_arn": ROLE,
        }
    }
    data["secrets"]["prod/legacy/db"] = {"function": "legacy", "schedule": {"every_days": 30}}
    data["secrets"]["prod/snowflake/loader"]["external"]["metadata"]["cryptographicAlgorithm"] = METADATA
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_the_module_readme_of_hostile_values_renders_no_foreign_structure(tmp_path: Path) -> None:
    manifest = _hostile_manifest(tmp_path)
    try:
        rendered = api.render(manifest, tmp_path / "out")
    except Exception as exc:  # pragma: no cover - the manifest must be valid for the test to mean anything
        pytest.fail(f"the hostile manifest must validate: {exc}")
    readme = rendered.files["README.md"]
    assert "https:evil.example" in readme  # the value is there, and what follows shows how
    p = _parse(readme)
    hrefs = {a.get("href") or "" for t, a in p.tags if t == "a"}
    assert hrefs and all(re.match(r"https://(docs\.aws\.amazon\.com|registry\.terraform\.io|github\.com)/", h)
                         for h in hrefs), hrefs  # fmt: skip
    assert not [t for t, _ in p.tags if t in ("img", "b", "script")]
    assert [t for t, _ in p.tags].count("h1") == 1  # the README's own title
    assert ROLE in p.code  # shown whole, as code
    assert "`|[x](https://evil.example)` # heading <b>bold</b>" in p.code
    # every table row still has its table's number of cells
    for block in re.split(r"\n\n", readme):
        rows = [r for r in block.splitlines() if r.startswith("|")]
        if rows:
            widths = {len(re.split(r"(?<!\\)\|", r)) for r in rows}
            assert len(widths) == 1, rows
    assert render.FILTERS["code"] is markdown.code


def test_a_hostile_manifest_file_name_stays_in_the_header_comment(tmp_path: Path) -> None:
    """A file name may hold a line break: in the header of a .tf file it would end the comment
    and start HCL; in the README's HTML comment, ``-->`` would end the comment."""
    import hcl2

    data = yaml.safe_load((ROOT / "examples" / "minimal.yaml").read_text(encoding="utf-8"))
    data["module"] = "minimal"
    name = 'x\nresource "null_resource" "pwned" {}\n# -->[click](https:evil.example)\u2028y.yaml'
    manifest = tmp_path / name
    manifest.write_text(yaml.safe_dump(data), encoding="utf-8")
    files = api.render(manifest, tmp_path / "out").files
    for fname, text in files.items():
        first = text.split("\n", 1)[0]
        assert "pwned" in first or fname.endswith(".json"), (fname, first)
        if fname.endswith(".tf"):
            types = {t for block in hcl2.loads(text).get("resource", []) for t in block}
            assert "null_resource" not in types and '"null_resource"' not in types, fname
    p = _parse(files["README.md"])
    assert not [a for t, a in p.tags if t == "a" and "evil" in (a.get("href") or "")]


def test_the_diff_comment_of_hostile_values_renders_no_foreign_structure(tmp_path: Path) -> None:
    """``diff --format markdown``, the pull-request comment, of the hostile manifest, in a file
    whose name (the heading) and module name (from the file name: diff writes no folder) are
    chosen to break Markdown: they show as code, never as a link, an image or HTML."""
    from generator import diff
    from generator.formats import diff as diff_formats

    manifest = _hostile_manifest(tmp_path)
    name = tmp_path / "`|[c](https:e)<b>&#1;``.yaml"  # the module name too (diff: writes=False)
    name.write_text(manifest.read_text(encoding="utf-8"), encoding="utf-8")
    for base, new in ((None, name), (name, None)):
        sides = [diff.load_side(str(p) if p else diff.NOTHING) for p in (base, new)]
        result = diff.compare(sides[0], sides[1], str(base or diff.NOTHING), str(new or diff.NOTHING))
        md = diff_formats.markdown(result, max_rows=3)  # some rows collapsed into <details>
        p = _parse(md)
        assert not [a for t, a in p.tags if t == "a"], md
        assert {t for t, _ in p.tags} <= {"h3", "h4", "p", "strong", "code", "table", "thead", "tbody", "tr", "th",
                                          "td", "br", "details", "summary", "sub"}, md  # fmt: skip
        assert str(name) in p.code and name.stem in p.code  # the heading names file and module, whole, as code
        for block in re.split(r"\n\n", md):  # every table row still has its table's number of cells
            rows = [r for r in block.splitlines() if r.startswith("|")]
            if rows:
                assert len({len(re.split(r"(?<!\\)\|", r)) for r in rows}) == 1, rows


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_every_cell_of_the_diff_comment_holds_any_value(value: str) -> None:
    """Each column of both tables, and the heading, with a value that is not the tool's own:
    a code span holding it, or escaped text; one row, its cells all there."""
    from generator import diff
    from generator.formats import diff as diff_formats

    changes = [
        {"kind": "grant", "change": "added", "function": value or "f", "action": value, "resource": value,
         "condition": {"StringEquals": {"aws:SourceAccount": value}}, "reason": value},
        {"kind": "rotation", "change": "added", "secret": value, "function": value, "schedule": {"every_days": 7, "expression": None, "window": value, "rotate_immediately": False}},
        {"kind": "resource", "change": "created", "type": "role", "name": value, "function": value},
    ]  # fmt: skip
    md = diff_formats.markdown(diff.Diff(value, value, value or None, None, changes))
    p = _parse(md)
    assert {t for t, _ in p.tags} <= {"h3", "h4", "p", "strong", "code", "table", "thead", "tbody", "tr", "th", "td",
                                      "br", "sub", "em"}, md  # fmt: skip
    assert [t for t, _ in p.tags].count("tr") == 2 + 3 and [t for t, _ in p.tags].count("td") == 5 + 2 * 4, md
    if value.strip():
        assert _shown(value) in p.code
