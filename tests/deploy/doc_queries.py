"""The PromQL queries of the documentation (README.md, docs/, deploy/runbooks.md), for the test
that runs them on a real Prometheus (test_doc_queries.py).

Two kinds:
- the examples of ```promql blocks: each query (lines up to a blank or comment line) must parse
  and return data;
- PromQL in inline code spans (`paywatch:events:rate1m{outcome="counted"}`): each must parse and
  name only series that exist (a recording rule, a metric of the worker, or Prometheus's own).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Placeholders the docs use inside queries, and the real values a test fills in.
PLACEHOLDERS = {"<code>": "148", "<province code>": "17"}

_FENCE = re.compile(r"^```promql\n(.*?)^```", re.M | re.S)
_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
#: An inline span is PromQL when it names a paywatch series or starts like one of the queries
#: the docs give about Prometheus's own series.
_LOOKS_LIKE_PROMQL = re.compile(
    r"\bpaywatch[:_][a-z]|^(ALERTS\b|hour\(|changes\()|^[a-z_]+\{[a-z_]+=~?\""
)


@dataclass(frozen=True)
class DocQuery:
    path: str
    line: int
    expr: str

    def where(self) -> str:
        return f"{self.path}:{self.line}"


def doc_files() -> list[Path]:
    return [
        ROOT / "README.md",
        *sorted((ROOT / "docs").rglob("*.md")),
        ROOT / "deploy" / "runbooks.md",
    ]


def _fill(expr: str) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        expr = expr.replace(placeholder, value)
    return expr


def example_queries(files: list[Path] | None = None) -> list[DocQuery]:
    """Every query of every ```promql block (lines joined up to a blank or a comment line)."""
    found = []
    for path in files or doc_files():
        text = path.read_text(encoding="utf-8")
        for block in _FENCE.finditer(text):
            first = text.count("\n", 0, block.start(1)) + 1
            lines: list[str] = []
            start = first
            for number, line in enumerate([*block.group(1).split("\n"), ""], start=first):
                if line.strip() and not line.lstrip().startswith("#"):
                    if not lines:
                        start = number
                    lines.append(line.strip())
                elif lines:
                    found.append(DocQuery(_rel(path), start, _fill(" ".join(lines))))
                    lines = []
    return found


def inline_queries(files: list[Path] | None = None) -> list[DocQuery]:
    """Every inline code span that is PromQL. A span with `…` (a pattern, not a query) is not."""
    found = []
    for path in files or doc_files():
        text = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), path.read_text(encoding="utf-8"))
        text = re.sub(
            r"^```.*?^```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.M | re.S
        )
        for span in _SPAN.finditer(text):
            expr = span.group(1).strip()
            if "…" in expr or not _LOOKS_LIKE_PROMQL.search(expr) or "/" in expr.split("{")[0]:
                continue
            line = text.count("\n", 0, span.start()) + 1
            found.append(DocQuery(_rel(path), line, _fill(expr)))
    return found


_FUNCTIONS_AND_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "sum", "min", "max", "avg", "count", "topk", "bottomk", "rate",
    "increase", "changes", "hour", "day_of_week", "vector", "time", "deriv", "histogram_quantile",
}  # fmt: skip


def series_names(expr: str) -> set[str]:
    """The metric and recording-rule names an expression reads (label values and functions
    left out)."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_matchers = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", without_strings)
    without_groupings = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", without_matchers
    )
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][\w:]*", without_groupings):
        name = match.group(0)
        after = without_groupings[match.end() :].lstrip()
        if name in _FUNCTIONS_AND_WORDS or after.startswith("("):
            continue
        names.add(name)
    return names


def with_bool(expr: str) -> str:
    """``expr`` with every comparison made a ``bool`` one: a filter that keeps no series still
    returns its matched pairs (0 or 1), so a query whose two sides never match (different
    labels) returns nothing even when its threshold would keep something."""
    out = []
    i, depth, quoted = 0, 0, False
    while i < len(expr):
        c = expr[i]
        if quoted:
            quoted = c != '"' or expr[i - 1] == "\\"
        elif c == '"':
            quoted = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0 and (m := re.match(r"(==|!=|<=|>=|<|>)(?!\s*bool\b)", expr[i:])):
            out.append(m.group(1) + " bool")
            i += len(m.group(1))
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))
