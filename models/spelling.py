"""One spelling of each Vietnamese unit name: Unicode NFC, and the tone mark of a syllable that
ends in the vowel pairs "oa", "oe" or "uy" on the first vowel ("Hòa", "Khỏe", "Thủy").

The official list the registry comes from mixes the two placements Vietnamese allows (the
province "Tỉnh Hoà Bình" and its city "Thành phố Hòa Bình"), so the same word would be two
strings, sort apart and fail a search. Most of its names, and the project's documents, put
the mark on the first vowel; every name is written that way. Where the syllable goes on
("Hoàng", "Thuyên") or "u" belongs to "qu" ("Quý"), the mark stays where it is.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["unit_name"]

#: The five tone marks (combining characters after NFD).
_TONES: Final = "\u0300\u0301\u0303\u0309\u0323"
#: o+a, o+e or u+y with the tone on the second vowel, ending the syllable, not after "q".
_MOVED: Final = re.compile(
    rf"(?<![qQ])([oO]a|[oO]e|[uU]y)([{_TONES}])(?![^\W\d_])", flags=re.UNICODE
)


def unit_name(name: str) -> str:
    """``name`` in NFC with the tone of a final "oa", "oe", "uy" on the first vowel."""
    decomposed = unicodedata.normalize("NFD", name)
    moved = _MOVED.sub(lambda m: m[1][0] + m[2] + m[1][1], decomposed)
    return unicodedata.normalize("NFC", moved)
