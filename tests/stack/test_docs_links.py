"""The documentation stays whole: every relative link of README.md, CHANGELOG.md and docs/
leads to a file of the repository, a link to a heading (#anchor) to a heading that exists, and
a file path the pages name in code (`streams/app.py`) to a file that is there."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]

_LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.M | re.S)
_CODE_SPAN = re.compile(r"`[^`\n]*`")


def pages() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _prose(text: str) -> str:
    """The text without code blocks and code spans (a link there is an example)."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces made hyphens."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for line in _FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        if match := re.match(r"^#{1,6} (.+)$", line):
            base = slug(match.group(1))
            name, n = base, 0
            while name in found:  # a repeated heading gets -1, -2, ...
                n += 1
                name = f"{base}-{n}"
            found.add(name)
    return found


def broken_links(page: Path, text: str | None = None) -> list[str]:
    """The links of ``page`` (or of ``text`` as if it were at ``page``) that lead nowhere."""
    broken = []
    text = page.read_text(encoding="utf-8") if text is None else text
    for target in _LINK.findall(_prose(text)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = unquote(target).partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        where = f"{page.relative_to(ROOT)}: {target}"
        if not linked.is_relative_to(ROOT) or not linked.exists():
            broken.append(f"{where} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{where} (no heading #{anchor})")
    return broken


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_somewhere(page: Path) -> None:
    assert broken_links(page) == []


_NAMED_PATH = re.compile(
    r"`((?:models|streams|sinks|dashboard|deploy|tests|bench|docs)/[A-Za-z0-9_./-]*[A-Za-z0-9_/])`"
)


def missing_paths(text: str) -> list[str]:
    """The repository paths named in code spans (`deploy/local/supervise.sh`) that do not exist.
    A pattern (`*`, `<year>`, `{a,b}`) is not a path, so the expression leaves it out."""
    return [path for path in _NAMED_PATH.findall(text) if not (ROOT / path).exists()]


@pytest.mark.parametrize(
    "page",
    [p for p in pages() if p.name != "CHANGELOG.md"],  # history names files as they were
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_file_a_page_names_exists(page: Path) -> None:
    assert missing_paths(page.read_text(encoding="utf-8")) == []


def test_a_renamed_file_is_found() -> None:
    text = "`streams/app.py`, `streams/no_such_module.py`, `deploy/targets/<year>.yaml`, `tests/`"
    assert missing_paths(text) == ["streams/no_such_module.py"]


def test_every_docs_page_is_in_the_index() -> None:
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    for page in sorted((ROOT / "docs").glob("*.md")):
        if page.name != "README.md":
            assert f"]({page.name})" in index, f"docs/README.md does not list {page.name}"


def test_the_checker_finds_a_broken_file_and_a_broken_anchor() -> None:
    assert slug("`paywatch replay FILE`: backfill from exports") == (
        "paywatch-replay-file-backfill-from-exports"
    )
    assert "how-it-works-at-least-once-made-exact-not-fausts-exactly-once-mode" in anchors(
        ROOT / "docs" / "exactness.md"
    )
    text = (
        "[a](no-such-page.md) [b](exactness.md#no-such-heading) [c](exactness.md#limitations)"
        " `[d](in-a-code-span.md)` [e](https://example.org/x.md) ![f](screenshots/none.png)\n"
    )
    assert broken_links(ROOT / "docs" / "example.md", text) == [
        "docs/example.md: no-such-page.md (no such file)",
        "docs/example.md: exactness.md#no-such-heading (no heading #no-such-heading)",
        "docs/example.md: screenshots/none.png (no such file)",
    ]
