"""Reading a payments export for `paywatch replay`: JSON Lines or CSV, as real exports come.

Every row becomes an event (the same decoder the stream uses) or a bad row with its line
number and a message that says what is wrong and how to fix it. What a spreadsheet does to an
export is detected and said rather than failing every row with a misleading message:

* a UTF-8 byte-order mark (Excel's "CSV UTF-8") is read past, and noted;
* cells separated by ";" (Excel's "CSV" where the decimal comma is local) or tabs are read with
  that separator, and noted;
* a CSV file that is not UTF-8 (e.g. Windows-1258, Excel's "CSV" on a Vietnamese Windows) stops
  the reading at its first such line, with the line number and how to save it as UTF-8 (in
  JSON Lines such a line is one bad record, as the stream would dead-letter it);
* a row with more cells than the header has columns is a bad row (a cell holding the separator
  that was not quoted), never silently cut;
* a unit code of 1 or 4 digits is a bad row: GSO codes are zero-padded (a spreadsheet reading
  04789 as a number writes 4789), which the stream would dead-letter as an unknown unit.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from models.event_decode import decode_event
from models.events import FIELDS, EventError, PaymentEvent

#: CSV cells that hold JSON integers (everything else is a string; an empty cell is absent).
_INTEGER_COLUMNS = frozenset({"schema_version", "amount"})
#: The columns of an export (the event's fields), to tell a header from a misread one.
COLUMNS = FIELDS
_SEPARATORS = {",": "','", ";": "';'", "\t": "tab"}
_BOM = codecs.BOM_UTF8.decode()


class ExportError(ValueError):
    """The file as a whole cannot be read; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str
    message: str


@dataclass
class Validated:
    events: list[PaymentEvent] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    rows: int = 0
    notes: list[str] = field(default_factory=list)  # how the file was read, when not plainly


def file_format(path: Path) -> str:
    suffixes = "".join(path.suffixes).lower()
    if suffixes.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if suffixes.endswith(".csv"):
        return "csv"
    raise ValueError(f"{path}: unknown export format (expected .jsonl, .ndjson or .csv)")


def _text_lines(path: Path, notes: list[str]) -> Iterator[str]:
    """A CSV file's lines (with their line ends) as text; stops at the first line that is not
    UTF-8 with :class:`ExportError`."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ExportError(_not_utf8(path, number, raw, exc)) from None
            if number == 1 and line.startswith(_BOM):
                line = line[1:]
                notes.append("UTF-8 with a byte-order mark (Excel's CSV UTF-8): read as UTF-8")
            yield line


def _not_utf8(path: Path, number: int, raw: bytes, exc: UnicodeDecodeError) -> str:
    guess = ""
    try:
        raw.decode("cp1258")
        guess = " (it reads as Windows-1258, Excel's CSV on a Vietnamese Windows)"
    except UnicodeDecodeError:
        pass
    return (
        f"{path}:{number}: not UTF-8: byte 0x{raw[exc.start]:02x} at column {exc.start + 1}"
        f"{guess}; save the export as UTF-8 (Excel: Save As, 'CSV UTF-8 (Comma delimited)'; "
        "or iconv -f CP1258 -t UTF-8)"
    )


def _separator(header: str) -> str:
    """The cell separator that splits the header into the most known column names."""
    known = set(COLUMNS)

    def score(separator: str) -> int:
        row = next(csv.reader([header], delimiter=separator), [])
        return len(known.intersection(cell.strip() for cell in row))

    return max(_SEPARATORS, key=score)


def _csv_cell(column: str, cell: str) -> object:
    if column in _INTEGER_COLUMNS:
        try:
            return int(cell)
        except ValueError:
            return cell  # the decoder reports it as the wrong type, naming the value
    return cell


def _jsonl_rows(path: Path, notes: list[str]) -> Iterator[tuple[int, bytes | BadRow]]:
    """Each line as bytes: a line that is not UTF-8 is one bad record (the decoder says so),
    as the stream would dead-letter it, not the end of the file."""
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if number == 1 and line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8) :]
                notes.append("UTF-8 with a byte-order mark: read as UTF-8")
            if line.strip():
                yield number, line.strip()


def _csv_rows(path: Path, notes: list[str]) -> Iterator[tuple[int, bytes | BadRow]]:
    lines = _text_lines(path, notes)
    first = next(lines, "")
    separator = _separator(first)
    if separator != ",":
        notes.append(f"cells separated by {_SEPARATORS[separator]}, not ',': read that way")

    def with_header() -> Iterator[str]:
        yield first
        yield from lines

    reader = csv.reader(with_header(), delimiter=separator)
    header = [cell.strip() for cell in next(reader, [])]
    if not set(header) & set(COLUMNS):
        raise ExportError(
            f"{path}:1: the first line is not a header of event fields (got {first.strip()!r}); "
            f"the first line names the columns: {','.join(COLUMNS)}"
        )
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        extra = [cell for cell in cells[len(header) :] if cell.strip()]
        if extra:
            yield (
                reader.line_num,
                BadRow(
                    reader.line_num,
                    "extra_cells",
                    f"{len(cells)} cells where the header has {len(header)} columns (extra: "
                    f"{', '.join(repr(c) for c in extra)}); quote a cell that holds "
                    f"{_SEPARATORS[separator]}, or remove the extra cells",
                ),
            )
            continue
        document = {
            column: _csv_cell(column, cell)
            for column, cell in zip(header, cells, strict=False)
            if column and cell != ""
        }
        yield reader.line_num, json.dumps(document, ensure_ascii=False).encode()


def _unpadded(event: PaymentEvent) -> str | None:
    code = event.unit_code
    if not (code.isdigit() and len(code) in {1, 4}):
        return None
    padded = code.zfill(2 if len(code) == 1 else 5)
    return (
        f"unit_code {code!r} is not zero-padded: GSO codes have 2 (province), 3 (district) "
        f"or 5 (commune) digits, so this is probably {padded!r}; format the column as text "
        "in the spreadsheet so leading zeros stay"
    )


def validate(path: Path) -> Validated:
    """Every row of the export, decoded and checked (:class:`ExportError` for the file)."""
    result = Validated()
    rows = _jsonl_rows if file_format(path) == "jsonl" else _csv_rows
    for line, row in rows(path, result.notes):
        result.rows += 1
        if isinstance(row, BadRow):
            result.bad.append(row)
            continue
        try:
            event = decode_event(row)
        except EventError as exc:
            result.bad.append(BadRow(line, exc.reason, str(exc)))
            continue
        unpadded = _unpadded(event)
        if unpadded:
            result.bad.append(BadRow(line, "unpadded_unit_code", unpadded))
        else:
            result.events.append(event)
    return result
