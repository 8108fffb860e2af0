"""The configuration tables of docs/configuration.md, generated from the settings classes.

`.venv/bin/python -m streams.settings_doc` rewrites the tables between the page's markers;
tests/streams/test_settings_doc.py fails when the page and the settings differ.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from dashboard.settings import DashboardSettings
from streams.settings import ROOT, Settings

PAGE = ROOT / "docs" / "configuration.md"

#: The settings classes the page lists, each between its own pair of markers.
TABLES: dict[str, type[BaseSettings]] = {"worker": Settings, "dashboard": DashboardSettings}

_BOUNDS = {"ge": "≥ {}", "gt": "> {}", "le": "≤ {}", "lt": "< {}"}


def _default(value: object) -> str:
    if value is None:
        return "*(not set)*"
    if isinstance(value, Path):
        value = value.relative_to(ROOT) if value.is_relative_to(ROOT) else value
    text = str(value)
    return f"`{text}`" if text else "*(empty)*"


def _allowed(field: FieldInfo) -> str:
    """The limits pydantic checks by itself: bounds and patterns. Rules of a validator are in
    the field's description."""
    found = []
    for item in field.metadata:
        for name, template in _BOUNDS.items():
            if (bound := getattr(item, name, None)) is not None:
                found.append(template.format(f"{bound:,}" if isinstance(bound, int) else bound))
        if (pattern := getattr(item, "pattern", None)) is not None:
            found.append(f"`{pattern}`")
    return ", ".join(found)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def table(settings: type[BaseSettings]) -> str:
    """One Markdown table: variable, default, limits, meaning; in the class's order."""
    prefix = settings.model_config.get("env_prefix", "")
    lines = ["| variable | default | limits | meaning |", "|---|---|---|---|"]
    for name, field in settings.model_fields.items():
        if not field.description:
            raise ValueError(f"{settings.__name__}.{name} has no description")
        variable = f"`{prefix}{name.upper()}`"
        cells = (variable, _default(field.default), _allowed(field), field.description)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- settings:{name} (generated: python -m streams.settings_doc) -->", (
        f"<!-- /settings:{name} -->"
    )


def render(page: str) -> str:
    """``page`` with each generated table replaced by the one the settings give now."""
    for name, settings in TABLES.items():
        start, end = _markers(name)
        found = re.search(re.escape(start) + r".*?" + re.escape(end), page, re.S)
        if not found:
            raise ValueError(f"{PAGE.name}: the markers of table {name!r} are missing")
        generated = f"{start}\n{table(settings)}\n{end}"
        page = page[: found.start()] + generated + page[found.end() :]
    return page


def main() -> None:
    PAGE.write_text(render(PAGE.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {PAGE}")


if __name__ == "__main__":
    main()
