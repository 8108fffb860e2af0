"""docs/configuration.md lists exactly the settings: its tables are generated from them."""

from __future__ import annotations

import pytest
from pydantic import Field, create_model
from pydantic_settings import BaseSettings

from streams import settings_doc
from streams.settings import Settings


def test_the_page_is_what_the_settings_give() -> None:
    page = settings_doc.PAGE.read_text(encoding="utf-8")
    assert page == settings_doc.render(page), (
        "docs/configuration.md differs from the settings: run .venv/bin/python -m "
        "streams.settings_doc"
    )


def test_every_setting_is_on_the_page_with_its_default() -> None:
    page = settings_doc.PAGE.read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"| `PAYWATCH_{name.upper()}` |" in page
    assert "| `PAYWATCH_BATCH_SIZE` | `1000` | ≥ 1, ≤ 100,000 | events per agent step |" in page
    assert "| `PAYWATCH_STORE` | `rocksdb://` |  |" in page
    assert "| `PAYWATCH_DATA_DIR` | `.stack/worker` |" in page  # relative to the project


def test_a_setting_without_a_description_is_refused() -> None:
    bare = create_model(
        "Bare",
        __base__=BaseSettings,
        told=(int, Field(1, description="a setting")),
        untold=(int, 2),
    )
    with pytest.raises(ValueError, match=r"Bare\.untold has no description"):
        settings_doc.table(bare)


def test_missing_markers_are_named() -> None:
    with pytest.raises(ValueError, match="markers of table 'worker'"):
        settings_doc.render("# Configuration\n")
