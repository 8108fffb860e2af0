"""One spelling of every unit name (models/spelling.py)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import pytest

from models.registry import Registry
from models.spelling import unit_name


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("Tỉnh Hoà Bình", "Tỉnh Hòa Bình"),  # the official list's province ...
        ("Thành phố Hòa Bình", "Thành phố Hòa Bình"),  # ... and its city
        ("Xã Thuỷ Sơn", "Xã Thủy Sơn"),
        ("Xã Khoẻ", "Xã Khỏe"),
        ("Xã Toạ", "Xã Tọa"),
        ("Xã Hoàng Diệu", "Xã Hoàng Diệu"),  # the syllable goes on: the mark stays
        ("Xã Quỳnh Văn", "Xã Quỳnh Văn"),
        ("Xã Quý Hòa", "Xã Quý Hòa"),  # "qu" is a consonant
        ("Xã Quỷ", "Xã Quỷ"),
        ("Xã Hoà-An", "Xã Hòa-An"),
        (unicodedata.normalize("NFD", "Xã Đà Bắc"), "Xã Đà Bắc"),  # NFC
    ],
)
def test_unit_name(written: str, shown: str) -> None:
    assert unit_name(written) == shown
    assert unit_name(shown) == shown


def test_every_registry_name_has_the_one_spelling() -> None:
    registry = Registry.load(None)
    names = {u.name for u in registry.units()}
    assert registry.name("17", date(2022, 1, 1)) == "Tỉnh Hòa Bình"
    assert registry.name("148", date(2022, 1, 1)) == "Thành phố Hòa Bình"
    second_vowel = re.compile(r"(?<![qQ])(oà|oá|oả|oã|oạ|oè|oé|oẻ|oẽ|oẹ|uỳ|uý|uỷ|uỹ|uỵ)\b")
    assert [n for n in names if second_vowel.search(n)] == []
    assert all(unicodedata.is_normalized("NFC", n) for n in names)
