"""Markdown as a reader sees it: rendered by a CommonMark renderer (markdown-it-py, with
GitHub's tables), its elements and the text of its code elements, for the tests that no value
becomes Markdown structure (tests/hostile/test_markdown_safety.py, test_hostile_account.py)."""

from __future__ import annotations

from html import unescape
from html.parser import HTMLParser

from markdown_it import MarkdownIt

from generator import terminal

MD = MarkdownIt("commonmark").enable("table")


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.code: list[str] = []
        self._in_code = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "code":
            self._in_code += 1
            self.code.append("")

    def handle_endtag(self, tag):
        if tag == "code":
            self._in_code -= 1

    def handle_data(self, data):
        if self._in_code:
            self.code[-1] += data


def parse(text: str) -> Tags:
    html = MD.render(text)
    shown = unescape(html)  # what a browser shows: character references decoded
    assert not [c for c in shown if c not in "\n\t" and terminal.hidden(c)], f"an invisible mark is rendered: {html!r}"
    p = Tags()
    p.feed(html)
    return p
