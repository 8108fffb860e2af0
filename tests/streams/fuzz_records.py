"""Bad records for the fuzz test (``test_fuzz.py``), drawn with Hypothesis from fixed seeds:
the same code and the same Hypothesis version give the same bytes (about 13,000 records in some
20 s on a busy machine).

Each family starts from valid payments of the simulator's stream (``Base``) and breaks them one
way at a time. Whether a record is a dead letter, and why, is left to the recount
(``tests/recount.py``): a family only has to make the shapes. A record that happens to stay a
valid event is a fresh payment (its own transaction id and dossier), so it is simply counted.

Families (``FuzzRecord.family``; ``case`` names the shape):

- ``kafka``: null value (with a key, or with no key at all), empty value, no key, binary,
  empty and long keys, headers (binary, null, repeated, many, long), record timestamps at
  the epoch; values just at and over the event limit (``MAX_EVENT_BYTES``) and far over it
  (up to 900 KB); valid payments with odd keys, headers or timestamps (counted, rerouted).
  :func:`broker_edge_records` adds the records sized against the broker's own limit: a batch
  of exactly ``message.max.bytes`` (accepted, ``too_large``), one byte more (refused by the
  broker), and keys that fill a batch (with a null value, a bad value, and a valid payment,
  which counts like any other).
- ``json``: nesting 1,000 to 30,000 levels deep (arrays, objects, inside a field, unclosed),
  huge and out-of-range numbers, long strings, duplicate keys, invalid UTF-8 (bad bytes,
  overlong forms, raw surrogates, Latin-1 and CP1258 text), byte-order marks (UTF-8/16/32, in
  front and inside strings), odd Unicode (escaped lone surrogates, NUL escaped and raw, control
  characters, RTL and zero-width marks, emoji, noncharacters), trailing garbage, truncated
  documents, non-JSON text and bytes, JSON that is not an object.
- ``schema``: every field missing, null, of every wrong JSON type, out of range, too long,
  empty, a bad enum value, bad dates and times (formats, impossible dates, years out of range,
  offsets), cross-field rules (provider vs channel, reverses vs kind, self-reversal), unknown
  fields (near-miss names, personal-data names, long names), other schema versions.
- ``semantic``: reversals of payments never seen (they wait), second and third reversals of one
  payment (``already_reversed``), reversals naming another dossier's payment or a reversal
  (``invalid_reversal``), reversals of a reversal before it arrives, conflicting payloads under
  one transaction id (``conflict``), re-encodings of an event that are the same event (exact
  duplicates: key order, spacing, time zone form, escapes), unknown unit codes (other
  provinces, near-miss spellings, units that exist only on other dates), and reversals piling
  up on one payment that never comes (24 of 60 KB each; 3 with 500 KB keys): they all wait.

Records of the semantic family are keyed by their transaction id (as in production), so those
whose outcome depends on order share a partition with what they depend on (the pile with long
keys aside: waiting does not depend on order); every other family may use any key or none.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final, TypeVar

from aiokafka.record.default_records import DefaultRecordBatchBuilder
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from models.event_decode import decode_event
from models.events import (
    FIELDS,
    MAX_EVENT_BYTES,
    MAX_ID_LENGTH,
    REQUIRED_FIELDS,
    EventError,
    Kind,
)
from models.periods import VN_TZ, local_date
from models.registry import Registry

__all__ = [
    "FAMILIES",
    "Base",
    "FuzzRecord",
    "batch_size",
    "broker_edge_records",
    "fuzz_records",
]

Doc = dict[str, Any]
Header = tuple[str, bytes | None]
T = TypeVar("T")


@dataclass(frozen=True)
class FuzzRecord:
    """One Kafka record to produce: ``value`` None is a null value (and ``key`` None no key)."""

    family: str
    case: str
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()
    timestamp_ms: int | None = None


ID_FIELDS: Final = (
    "transaction_id",
    "dossier_code",
    "procedure_code",
    "unit_code",
    "provider",
    "reverses",
)
ENUMS: Final = {
    "kind": ("payment", "refund", "cancellation"),
    "channel": (
        "online_portal",
        "online_gateway",
        "offline_counter",
        "offline_cash",
        "offline_transfer",
    ),
    "fee_type": ("phi", "le_phi"),
}
ONLINE: Final = ("online_portal", "online_gateway")
OFFLINE: Final = ("offline_counter", "offline_cash", "offline_transfer")

# Characters that make text odd without making it invalid JSON once escaped.
ODD_CHARS: Final = (
    "\u202e",  # right-to-left override
    "\u200f",  # right-to-left mark
    "\u200b",  # zero width space
    "\u200d",  # zero width joiner
    "\ufeff",  # BOM inside a string
    "\u2028",  # line separator
    "\u0301",  # combining acute accent
    "\uffff",  # noncharacter
    "\U0001f4b8",  # emoji
    "\U0001f1fb\U0001f1f3",  # flag (two regional indicators)
    "\u1ea1",  # ạ
    "\x7f",
)
# Escapes as they would appear inside a JSON string (some valid, some not).
ODD_ESCAPES: Final = (
    b"\\ud800",  # lone high surrogate
    b"\\udfff",  # lone low surrogate
    b"\\udc00\\ud800",  # surrogates in the wrong order
    b"\\ud83d\\udcb8",  # a valid pair (emoji)
    b"\\u0000",  # NUL, escaped: valid JSON
    b"\\u001b",
    b"\\/",
    b"\\u202e",
    b"\\uFEFF",
    b"\\x41",  # not a JSON escape
    b"\\u12",  # short escape
    b"\\",  # a lone backslash
)
# Raw bytes that are not valid UTF-8 (or not allowed raw inside a JSON string).
BAD_BYTES: Final = (
    b"\xff",
    b"\xfe\xff",
    b"\x80",
    b"\xc0\xaf",  # overlong "/"
    b"\xe0\x80\xaf",  # overlong, 3 bytes
    b"\xed\xa0\x80",  # a UTF-16 surrogate encoded as UTF-8
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"\xe2\x82",  # truncated sequence
    b"\x00",  # raw NUL
    b"\x01\x1f",  # raw control characters
    b"\n",
)
BOMS: Final = (
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\xff\xfe\x00\x00",
    b"\x00\x00\xfe\xff",
)
BAD_TIMES: Final = (
    "2022-03-01",
    "09:30:00",
    "2022-03-01T09:30",
    "2022-03-01T09:30:00.",
    "2022-03-01T24:00:00+07:00",
    "2022-03-01T23:60:00+07:00",
    "2022-03-01T23:59:60+07:00",
    "2022-02-29T09:30:00+07:00",
    "2022-02-30T09:30:00+07:00",
    "2022-13-01T09:30:00+07:00",
    "2022-00-10T09:30:00+07:00",
    "2022-03-32T09:30:00+07:00",
    "2022-03-01T09:30:00+24:00",
    "2022-03-01T09:30:00+07:60",
    "2022-03-01T09:30:00+7",
    "2022-03-01T09:30:00 +07:00",
    "2022-03-01T09:30:00+07:00Z",
    "2022-03-01T09:30:00+07:00[Asia/Ho_Chi_Minh]",
    "2022-3-1T9:30:00+07:00",
    "22-03-01T09:30:00+07:00",
    "20220301T093000+0700",
    "01/03/2022 09:30:00",
    "Tue, 01 Mar 2022 09:30:00 +0700",
    "２０２２-03-01T09:30:00+07:00",
    "2022-03-01T09:30:00.1234567891234+07:00",
    "1999-12-31T23:59:59+07:00",
    "2100-01-01T00:00:00+07:00",
    "1999-12-31T20:00:00Z",
    "0001-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59-23:59",
    "10000-01-01T00:00:00Z",
    "-2022-03-01T09:30:00Z",
    "",
    " ",
    "now",
)
BAD_ENUM_WORDS: Final = (
    "Payment",
    "PAYMENT",
    " payment",
    "payment ",
    "payment\u0000",
    "refunds",
    "chargeback",
    "Online_Portal",
    "online-portal",
    "online portal",
    "onlineportal",
    "qr_code",
    "cash",
    "LE_PHI",
    "le phi",
    "lệ_phí",
    "phí",
    "thue",
    "",
    "null",
    "0",
)
UNKNOWN_FIELD_NAMES: Final = (
    "citizen_name",
    "citizen_id",
    "cccd",
    "phone",
    "email",
    "Amount",
    "amount ",
    " amount",
    "schemaVersion",
    "transactionId",
    "event-time",
    "__proto__",
    "constructor",
    "",
    "\u0000",
    "\u202eamount",
    "x" * 500,
)
NOT_JSON: Final = (
    b"<html><body>502 Bad Gateway</body></html>",
    b"<?xml version='1.0'?><payment/>",
    b"schema_version: 1\ntransaction_id: X\n",
    b"{'schema_version': 1}",
    b'{schema_version: 1, "kind": "payment"}',
    b'{"schema_version": 1, /* comment */ "kind": "payment"}',
    b'{"schema_version": 1,}',
    b"[1, 2, 3,]",
    b"undefined",
    b"NaN",
    b"-Infinity",
    b"nul",
    b"tru",
    b"\x82\xa1a\x01",  # msgpack
    b"\x1f\x8b\x08\x00\x00\x00\x00\x00",  # gzip header
    b"PK\x03\x04",  # zip header
)
NOT_OBJECTS: Final = (
    b"null",
    b"true",
    b"false",
    b"0",
    b"-1",
    b"1e999",
    b'""',
    b'"payment"',
    b"[]",
    b"[{}]",
    b"{}",
    b"[[]]",
)
HUGE_NUMBERS: Final = (
    b"1e309",
    b"-1e309",
    b"1e-400",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"9223372036854775808",
    b"1000000000000000.0",
    b"1E15",
    b"0.0",
    b"-0",
    b"-0.0",
    b"5e0",
    b"00012",
    b"+5",
    b".5",
    b"5.",
    b"0x10",
    b"Infinity",
    b"NaN",
)
INTS_OUT_OF_RANGE: Final = (
    -1,
    -(10**15),
    10**15 + 1,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63),
    -(2**63) - 1,
    10**30,
)
VERSIONS: Final = (0, 2, 3, -1, 10, 255, 2**31, 2**63, 10**20)
#: UTC offsets for drawn times (fixed ones, so the draw does not depend on the machine's zones).
OFFSETS: Final = tuple(
    timezone(timedelta(minutes=m)) for m in (0, 420, -300, 345, 840, -720, 23 * 60 + 59, -1439)
)


# -- the valid material everything is built from ------------------------------------------------


@dataclass(frozen=True)
class Base:
    """Valid events of the input the fuzz records refer to or copy (wire form, as sent)."""

    payments: tuple[Doc, ...]  # valid payments whose unit is known on their date
    reversals: tuple[Doc, ...]  # valid refunds and cancellations, likewise
    own_units: tuple[str, ...]  # unit codes of the counted province
    other_units: tuple[str, ...]  # real unit codes of other provinces
    gaps: tuple[tuple[str, str], ...]  # (own unit code, an event time when it is unknown)

    @classmethod
    def of(cls, values: Sequence[bytes | None], registry: Registry, others: Registry) -> Base:
        payments: list[Doc] = []
        reversals: list[Doc] = []
        seen: set[str] = set()
        for raw in values:
            try:
                event = decode_event(raw)
            except EventError:
                continue
            day = local_date(event.event_time)
            if event.transaction_id in seen or not registry.chain(event.unit_code, day):
                continue
            seen.add(event.transaction_id)
            doc = json.loads(raw or b"")
            (payments if event.kind is Kind.PAYMENT else reversals).append(doc)
        own = sorted({u.code for u in registry.units()})
        return cls(
            payments=tuple(payments),
            reversals=tuple(reversals),
            own_units=tuple(own),
            other_units=tuple(sorted({u.code for u in others.units()} - set(own))),
            gaps=tuple(_gaps(registry, own)),
        )


def _gaps(registry: Registry, codes: Sequence[str]) -> list[tuple[str, str]]:
    """For each code: event times (Vietnam noon) just before its first version starts and just
    after its last one ends, when it is known on neither day."""
    out = []
    for code in codes:
        versions = registry.versions(code)
        days = [versions[0].valid_from - timedelta(days=1)]
        if versions[-1].valid_to is not None:
            days.append(versions[-1].valid_to + timedelta(days=1))
        for day in days:
            if not registry.chain(code, day):
                out.append((code, f"{day.isoformat()}T12:00:00+07:00"))
    return out


class Maker:
    """Fresh identities: every fuzz record that could pass as valid gets its own transaction
    id and dossier, so it never meets another record except where a family means it to."""

    def __init__(self, base: Base) -> None:
        self.base = base
        self._serial = itertools.count(1)

    def serial(self) -> int:
        return next(self._serial)

    def fresh(self, data: st.DataObject, kind: str = "payment") -> Doc:
        """A valid event copied from a payment of the base, with new ids."""
        template = pick(data, self.base.payments)
        n = self.serial()
        doc = dict(template)
        doc["transaction_id"] = f"FZ{n:06d}"
        doc["dossier_code"] = f"FZD{n:06d}"
        doc.pop("reverses", None)
        doc["kind"] = kind
        if kind != "payment":
            doc["reverses"] = f"FZNONE{n:06d}"
        return doc


def pick(data: st.DataObject, items: Sequence[T]) -> T:
    """One of ``items``, spread over all of them (Hypothesis favours small integers, so the
    index is a wide one, reduced)."""
    return items[data.draw(st.integers(0, 2**32 - 1)) % len(items)]


def dump(doc: object, ascii_only: bool = False, spaced: bool = False) -> bytes:
    """JSON bytes (lone surrogates come out escaped, or raw with ``ascii_only`` False)."""
    separators = (", ", ": ") if spaced else (",", ":")
    text = json.dumps(doc, ensure_ascii=ascii_only, separators=separators)
    return text.encode("utf-8", "surrogatepass")


def draw_dump(data: st.DataObject, doc: object) -> bytes:
    return dump(doc, ascii_only=data.draw(st.booleans()), spaced=data.draw(st.booleans()))


def splice(raw: bytes, field: str, fragment: bytes) -> bytes:
    """``raw`` (compact JSON of an object holding ``field``) with that field's value replaced
    by the JSON ``fragment`` as given (which need not be valid)."""
    doc = json.loads(raw)
    marker = "\x00MARK\x00"
    doc[field] = marker
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return text.encode().replace(json.dumps(marker).encode(), fragment)


def any_key(data: st.DataObject, doc: Doc | None = None) -> bytes | None:
    """A key as a bad record may carry: the transaction id, none, empty, binary, text, long."""
    choice = data.draw(st.integers(0, 6))
    if choice == 0 and doc is not None and isinstance(doc.get("transaction_id"), str):
        return str(doc["transaction_id"]).encode("utf-8", "surrogatepass")
    if choice in (0, 1):
        return None
    if choice == 2:
        return b""
    if choice == 3:
        return data.draw(st.binary(min_size=1, max_size=24))
    if choice == 4:
        return data.draw(st.text(max_size=16)).encode("utf-8", "surrogatepass")
    if choice == 5:
        return data.draw(st.sampled_from(BAD_BYTES)) * data.draw(st.integers(1, 2000))
    return b"k" * data.draw(st.integers(1_000, 20_000))


def long_text(data: st.DataObject, low: int, high: int) -> str:
    """A string of ``low``..``high`` characters (Hypothesis draws the pattern, not each one)."""
    unit = data.draw(st.sampled_from(("x", "é", "ạ", "\U0001f4b8", " ", "0", "\u202e", "\\")))
    return unit * data.draw(st.integers(low, high))


def json_value(data: st.DataObject, exclude: Sequence[str] = ()) -> Any:
    """A JSON value of a type not in ``exclude`` (names: null, boolean, integer, number,
    string, array, object)."""
    types = [
        t
        for t in ("null", "boolean", "integer", "number", "string", "array", "object")
        if t not in exclude
    ]
    kind = data.draw(st.sampled_from(types))
    scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    if kind == "null":
        return None
    if kind == "boolean":
        return data.draw(st.booleans())
    if kind == "integer":
        return data.draw(st.integers() | st.sampled_from(INTS_OUT_OF_RANGE))
    if kind == "number":
        return data.draw(st.floats(allow_nan=False, allow_infinity=False).filter(_not_int))
    if kind == "string":
        return data.draw(st.text(max_size=12))
    if kind == "array":
        return data.draw(st.lists(scalars, max_size=4))
    return data.draw(st.dictionaries(st.text(max_size=6), scalars, max_size=4))


def _not_int(value: float) -> bool:
    return not value.is_integer()


def expected_types(field: str) -> tuple[str, ...]:
    if field in ("schema_version", "amount"):
        return ("integer",)
    if field in ("provider", "reverses"):
        return ("string", "null")
    return ("string",)


# -- kafka --------------------------------------------------------------------------------------

KAFKA_CASES: Final = (
    "null_value",
    "null_value_no_key",
    "empty_value",
    "no_key_bad_value",
    "odd_key_bad_value",
    "headers_bad_value",
    "headers_null_value",
    "valid_odd_key",
    "valid_headers",
    "valid_epoch_timestamp",
)


def draw_headers(data: st.DataObject) -> tuple[Header, ...]:
    names = st.sampled_from(("content-type", "trace", "", "x" * 300, "\u202e", "schema"))
    values = (
        st.none()
        | st.binary(max_size=32)
        | st.sampled_from((b"application/avro", b"\xff\xfe", b"", b"\x00" * 64))
    )
    headers = data.draw(st.lists(st.tuples(names | st.text(max_size=8), values), max_size=6))
    if data.draw(st.booleans()):  # many, or a long one
        headers += [("h", b"v")] * data.draw(st.integers(50, 300))
    else:
        headers.append(("big", b"\xab" * data.draw(st.integers(1, 20_000))))
    return tuple(headers)


def kafka_record(data: st.DataObject, maker: Maker, case: str) -> FuzzRecord:
    doc = maker.fresh(data)
    bad = json_record_value(data, maker)
    key = any_key(data, doc)
    if case == "null_value":
        return FuzzRecord("kafka", case, key if key is not None else b"k", None)
    if case == "null_value_no_key":
        return FuzzRecord("kafka", case, None, None)
    if case == "empty_value":
        return FuzzRecord("kafka", case, key, b"")
    if case == "no_key_bad_value":
        return FuzzRecord("kafka", case, None, bad)
    if case == "odd_key_bad_value":
        return FuzzRecord("kafka", case, any_key(data), bad)
    if case == "headers_bad_value":
        return FuzzRecord("kafka", case, key, bad, draw_headers(data))
    if case == "headers_null_value":
        return FuzzRecord("kafka", case, key, None, draw_headers(data))
    value = draw_dump(data, doc)
    if case == "valid_odd_key":
        return FuzzRecord("kafka", case, any_key(data), value)
    if case == "valid_headers":
        return FuzzRecord("kafka", case, key, value, draw_headers(data))
    return FuzzRecord("kafka", case, key, value, (), data.draw(st.sampled_from((0, 1))))


def large_kafka_records(base: Base) -> list[FuzzRecord]:
    """Records around the event limit and far over it (fixed sizes: a few are enough)."""
    template = dict(base.payments[0])
    out = []
    for n, size in enumerate((MAX_EVENT_BYTES - 1, MAX_EVENT_BYTES, MAX_EVENT_BYTES + 1)):
        doc = dict(template, transaction_id=f"FZBIG{n:03d}", dossier_code=f"FZBIGD{n:03d}")
        raw = dump(doc)
        padded = raw[:-1] + b" " * (size - len(raw)) + b"}"  # still the same valid event
        out.append(
            FuzzRecord("kafka", f"padded_event_{size}", doc["transaction_id"].encode(), padded)
        )
    controls = b'"' + b"\x01" * (MAX_EVENT_BYTES - 2) + b'"'  # worst case for a dead letter
    out.append(FuzzRecord("kafka", "controls_at_event_limit", None, controls))
    out.append(
        FuzzRecord("kafka", "garbage_over_event_limit", b"k", b"\xff" * (MAX_EVENT_BYTES + 1))
    )
    for size in (100_000, 400_000, 900_000):
        out.append(FuzzRecord("kafka", f"value_{size}", None, b"[" * size))
    out.append(FuzzRecord("kafka", "key_600000_null_value", b"\x00" * 600_000, None))
    out.append(FuzzRecord("kafka", "key_300000_bad_value", b"\xfe" * 300_000, b"{}"))
    doc = dict(template, transaction_id="FZBIGKEY", dossier_code="FZBIGKEYD")
    out.append(FuzzRecord("kafka", "valid_key_300000", b"K" * 300_000, dump(doc)))
    return out


def batch_size(key: bytes | None, value: bytes | None, headers: Sequence[Header] = ()) -> int:
    """The bytes of a record batch holding only this record, as the broker measures it against
    its ``message.max.bytes`` (uncompressed, as the test's producer sends it)."""
    builder = DefaultRecordBatchBuilder(2, 0, False, -1, -1, -1, 16384)
    builder.append(0, timestamp=None, key=key, value=value, headers=list(headers))
    return len(builder.build())


def _sized(target: int, make: Callable[[int], tuple[bytes | None, bytes | None]]) -> int:
    """The n for which ``make(n)`` (key, value) is a batch of exactly ``target`` bytes."""
    n = target
    for _ in range(8):
        size = batch_size(*make(n))
        if size == target:
            return n
        n += target - size
    raise AssertionError(f"no record makes a batch of exactly {target} bytes")


def broker_edge_records(limit: int, base: Base) -> list[FuzzRecord]:
    """Records sized against the broker's ``limit`` (max.message.bytes of the topic): a batch of
    exactly ``limit`` bytes (accepted; ``too_large`` for paywatch), one of ``limit + 1`` (the
    broker refuses it: case ``over_broker_limit``), and keys that fill the batch (with a null
    value, a bad one, and a valid payment, which is counted like any other)."""
    doc = dict(base.payments[0], transaction_id="FZEDGE", dossier_code="FZEDGED")
    raw = dump(doc)

    def padded(n: int) -> tuple[bytes | None, bytes | None]:
        return b"FZEDGE", raw[:-1] + b" " * n + b"}"

    def keyed(n: int) -> tuple[bytes | None, bytes | None]:
        return b"\x01" * n, None

    def keyed_bad(n: int) -> tuple[bytes | None, bytes | None]:
        return b"K" * n, b"[]"

    payment = dump(dict(doc, transaction_id="FZEDGEKEY", dossier_code="FZEDGEKEYD"))

    def keyed_valid(n: int) -> tuple[bytes | None, bytes | None]:
        return b"V" * n, payment

    out = []
    for case, make, target in (
        ("at_broker_limit", padded, limit),
        ("over_broker_limit", padded, limit + 1),
        ("key_at_broker_limit_null_value", keyed, limit),
        ("key_near_broker_limit_bad_value", keyed_bad, limit - 100),
        ("valid_key_near_broker_limit", keyed_valid, limit - 100),
    ):
        key, value = make(_sized(target, make))
        out.append(FuzzRecord("kafka", case, key, value))
    return out


# -- json ---------------------------------------------------------------------------------------

JSON_CASES: Final = (
    "deep_nesting",
    "shallow_nesting",
    "huge_number",
    "long_string",
    "duplicate_keys",
    "invalid_utf8",
    "bom",
    "odd_unicode",
    "odd_escape",
    "trailing_garbage",
    "truncated",
    "not_json",
    "random_bytes",
    "not_an_object",
)


def json_record_value(data: st.DataObject, maker: Maker, case: str | None = None) -> bytes:
    """The value of one record of the json family (``case`` drawn when None)."""
    if case is None:
        case = data.draw(st.sampled_from(JSON_CASES))
    doc = maker.fresh(data)
    raw = dump(doc)
    field = data.draw(st.sampled_from(REQUIRED_FIELDS))
    if case == "deep_nesting":
        depth = data.draw(st.integers(1_000, 30_000))
        shape = data.draw(st.integers(0, 4))
        if shape == 0:
            return b"[" * depth + b"]" * depth
        if shape == 1:
            depth = min(depth, 10_000)
            return b'{"a":' * depth + b"1" + b"}" * depth
        if shape == 2:
            return splice(raw, field, b"[" * depth + b"]" * depth)
        if shape == 3:
            return b"[" * depth  # never closed
        depth = min(depth, 8_000)
        return b'[{"k":' * depth + b"0" + b"}]" * depth
    if case == "shallow_nesting":  # nested, but well within any parser's depth
        depth = data.draw(st.integers(2, 200))
        return splice(raw, field, b"[" * depth + b"]" * depth)
    if case == "huge_number":
        digits = data.draw(st.integers(17, 20_000))
        number = data.draw(
            st.sampled_from(HUGE_NUMBERS)
            | st.just(b"9" * digits)
            | st.just(b"-" + b"1" * digits)
            | st.just(b"1" + b"0" * digits + b".5")
            | st.just(b"1e" + b"9" * min(digits, 400))
        )
        target = data.draw(st.sampled_from(("amount", "schema_version", field)))
        return splice(raw, target, number)
    if case == "long_string":
        doc[field] = long_text(data, MAX_ID_LENGTH + 1, 20_000)
        if field == "transaction_id":
            doc[field] = f"FZ{maker.serial():06d}" + doc[field]
        return draw_dump(data, doc)
    if case == "duplicate_keys":
        again = data.draw(st.sampled_from(REQUIRED_FIELDS))
        value: object = data.draw(st.sampled_from((doc.get(again), None, "", "x", -1, 1, [])))
        if again == "transaction_id" and isinstance(value, str):
            value = f"FZ{maker.serial():06d}{value}"
        extra = dump({again: value})[1:-1]
        where = data.draw(st.booleans())
        return (b"{" + extra + b"," + raw[1:]) if where else (raw[:-1] + b"," + extra + b"}")
    if case == "invalid_utf8":
        bad = data.draw(st.sampled_from(BAD_BYTES))
        how = data.draw(st.integers(0, 3))
        if how == 0:  # inside a string value
            text = json.dumps(doc[field]).encode() if isinstance(doc[field], str) else b'"x"'
            return splice(raw, field, text[:-1] + bad + b'"')
        if how == 1:  # outside any string
            cut = data.draw(st.integers(0, len(raw)))
            return raw[:cut] + bad + raw[cut:]
        if how == 2:  # Vietnamese text in a legacy code page
            legacy = data.draw(st.sampled_from(("latin-1", "cp1258")))
            doc["dossier_code"] = f"FZD{maker.serial():06d}-Hòa Bình"
            return json.dumps(doc, ensure_ascii=False).encode(legacy, "replace")
        return raw.replace(b'"', b'"' + bad, 1)  # in a key
    if case == "bom":
        bom = data.draw(st.sampled_from(BOMS))
        how = data.draw(st.integers(0, 3))
        if how == 0:
            return bom + raw
        if how == 1:
            codec = data.draw(st.sampled_from(("utf-16", "utf-16-be", "utf-32", "utf-8-sig")))
            return json.dumps(doc).encode(codec)
        if how == 2:  # a BOM character inside a string: valid text, a valid event
            doc["dossier_code"] = "\ufeff" + doc["dossier_code"]
            return dump(doc)
        return raw + bom
    if case == "odd_unicode":
        odd = "".join(data.draw(st.lists(st.sampled_from(ODD_CHARS), min_size=1, max_size=6)))
        target = data.draw(st.sampled_from((*ID_FIELDS[:4], "kind", "event_time", "channel")))
        value = str(doc.get(target, ""))
        at = data.draw(st.integers(0, len(value)))
        doc[target] = value[:at] + odd + value[at:]
        return draw_dump(data, doc)
    if case == "odd_escape":
        escape = data.draw(st.sampled_from(ODD_ESCAPES))
        target = data.draw(st.sampled_from(("transaction_id", "dossier_code", "procedure_code")))
        text = json.dumps(doc[target]).encode()
        return splice(raw, target, text[:-1] + escape + b'"')
    if case == "trailing_garbage":
        tail = data.draw(
            st.sampled_from((b"x", b"}", b",", b"\x00", b"{}", b"\n{}", b"]", b"  \n\t", b"//"))
            | st.binary(min_size=1, max_size=16)
        )
        return raw + tail
    if case == "truncated":
        return raw[: data.draw(st.integers(1, len(raw) - 1))]
    if case == "not_json":
        return data.draw(st.sampled_from(NOT_JSON) | st.text(max_size=40).map(str.encode))
    if case == "random_bytes":
        return data.draw(st.binary(min_size=1, max_size=200))
    whole = data.draw(st.sampled_from(NOT_OBJECTS) | st.just(dump([doc])) | st.just(dump(str(doc))))
    return whole


def json_record(data: st.DataObject, maker: Maker, case: str) -> FuzzRecord:
    value = json_record_value(data, maker, case)
    return FuzzRecord("json", case, any_key(data), value)


# -- schema -------------------------------------------------------------------------------------

SCHEMA_CASES: Final = (
    "missing",
    "null",
    "wrong_type",
    "bad_value",
    "cross_field",
    "unknown_field",
    "version",
)
CROSS_CASES: Final = (
    "online_without_provider",
    "online_null_provider",
    "offline_with_provider",
    "payment_with_reverses",
    "payment_null_reverses",
    "reversal_without_reverses",
    "reversal_null_reverses",
    "self_reversal",
    "self_reversal_offline_provider",
)


def bad_value(data: st.DataObject, maker: Maker, doc: Doc, field: str) -> Any:
    """A value of the right JSON type that the field does not allow (now and then one it does:
    the recount says which)."""
    if field == "schema_version":
        return data.draw(st.sampled_from(VERSIONS) | st.integers())
    if field == "amount":
        return data.draw(
            st.sampled_from(INTS_OUT_OF_RANGE)
            | st.integers(max_value=-1)
            | st.integers(min_value=10**15 + 1)
            | st.sampled_from((0, 10**15))
        )
    if field in ENUMS:
        allowed = ENUMS[field]
        return data.draw(
            st.sampled_from(BAD_ENUM_WORDS)
            | st.sampled_from(allowed).map(str.upper)
            | st.text(max_size=20).filter(lambda t: t not in allowed)
        )
    if field == "event_time":
        when = data.draw(st.datetimes(timezones=st.none() | st.sampled_from(OFFSETS)))
        form = data.draw(st.sampled_from(("iso", "space", "date", "noseconds", "text")))
        if form == "iso":
            return when.isoformat()
        if form == "space":
            return when.isoformat(sep=" ")
        if form == "date":
            return when.date().isoformat()
        if form == "noseconds":
            return when.isoformat(timespec="minutes")
        return data.draw(st.sampled_from(BAD_TIMES))
    # an id: empty, too long, exactly the limit, whitespace, odd
    shape = data.draw(st.sampled_from(("empty", "long", "limit", "limit_wide", "space", "odd")))
    if shape == "empty":
        return ""
    if shape == "long":
        return long_text(data, MAX_ID_LENGTH + 1, 5_000)
    prefix = f"FZ{maker.serial():06d}" if field == "transaction_id" else ""
    if shape == "limit":
        return (prefix + "x" * MAX_ID_LENGTH)[:MAX_ID_LENGTH]
    if shape == "limit_wide":
        return (prefix + "\U0001f4b8" * MAX_ID_LENGTH)[:MAX_ID_LENGTH]
    if shape == "space":
        return prefix + " "
    return prefix + data.draw(st.text(min_size=1, max_size=30))


def cross_field(data: st.DataObject, maker: Maker, doc: Doc, case: str) -> None:
    provider = data.draw(st.sampled_from(("VNPay", "NAPAS", "", "x" * 101)))
    if case in ("online_without_provider", "online_null_provider"):
        doc["channel"] = data.draw(st.sampled_from(ONLINE))
        doc.pop("provider", None)
        if case == "online_null_provider":
            doc["provider"] = None
    elif case == "offline_with_provider":
        doc["channel"] = data.draw(st.sampled_from(OFFLINE))
        doc["provider"] = provider
    elif case in ("payment_with_reverses", "payment_null_reverses"):
        doc["reverses"] = None if case == "payment_null_reverses" else f"FZNONE{maker.serial()}"
    elif case in ("reversal_without_reverses", "reversal_null_reverses"):
        doc["kind"] = data.draw(st.sampled_from(("refund", "cancellation")))
        doc.pop("reverses", None)
        if case == "reversal_null_reverses":
            doc["reverses"] = None
    else:
        doc["kind"] = data.draw(st.sampled_from(("refund", "cancellation")))
        doc["reverses"] = doc["transaction_id"]
        if case == "self_reversal_offline_provider":
            doc["channel"] = data.draw(st.sampled_from(OFFLINE))
            doc["provider"] = provider


def schema_record(data: st.DataObject, maker: Maker, case: str) -> FuzzRecord:
    doc = maker.fresh(data)
    field = data.draw(st.sampled_from(FIELDS))
    if case == "missing":
        doc.pop(field, None)
    elif case == "null":
        doc[field] = None
    elif case == "wrong_type":
        doc[field] = json_value(data, exclude=expected_types(field))
    elif case == "bad_value":
        doc[field] = bad_value(data, maker, doc, field)
    elif case == "cross_field":
        case = data.draw(st.sampled_from(CROSS_CASES))
        cross_field(data, maker, doc, case)
    elif case == "unknown_field":
        name = data.draw(st.sampled_from(UNKNOWN_FIELD_NAMES) | st.text(max_size=20))
        if name not in FIELDS:
            doc[name] = json_value(data)
    else:
        doc["schema_version"] = data.draw(st.sampled_from(VERSIONS))
        if data.draw(st.booleans()):  # another version may well have other fields
            doc["payer"] = {"name": "x"}
            doc.pop(data.draw(st.sampled_from(FIELDS[1:])), None)
    items = list(doc.items())
    if data.draw(st.booleans()):
        items = data.draw(st.permutations(items))
    return FuzzRecord("schema", case, any_key(data, doc), draw_dump(data, dict(items)))


# -- semantic -----------------------------------------------------------------------------------

SEMANTIC_CASES: Final = (
    "reversal_of_unknown",
    "reversals_of_one_unknown",
    "another_reversal",
    "other_dossier",
    "reversal_of_reversal",
    "own_chain",
    "conflict",
    "same_event_reencoded",
    "unknown_unit",
    "unit_on_other_date",
    "known_tx_unknown_unit",
)


def _keyed(case: str, doc: Doc, data: st.DataObject) -> FuzzRecord:
    return FuzzRecord("semantic", case, str(doc["transaction_id"]).encode(), draw_dump(data, doc))


def _reversal(maker: Maker, data: st.DataObject, target: str, dossier: str) -> Doc:
    doc = maker.fresh(data, kind=data.draw(st.sampled_from(("refund", "cancellation"))))
    doc["transaction_id"] = f"FZR{maker.serial():06d}"
    doc["reverses"] = target
    doc["dossier_code"] = dossier
    doc["amount"] = data.draw(st.sampled_from((0, 1, doc["amount"], 10**15)))  # never used
    return doc


def _time_forms(text: str) -> list[str]:
    """Other spellings of the same instant as ``text`` (the zone rule: no offset = Vietnam)."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=VN_TZ)
    local = parsed.astimezone(VN_TZ)
    utc = parsed.astimezone(UTC)
    return [
        local.isoformat(),
        local.replace(tzinfo=None).isoformat(),
        local.isoformat(sep=" "),
        local.isoformat(sep="t"),
        utc.replace(tzinfo=None).isoformat() + "Z",
        utc.isoformat(),
        parsed.astimezone(timezone(timedelta(hours=-5))).isoformat(),
    ]


def _escaped(raw: bytes) -> bytes:
    """The same JSON with every ASCII letter of string values written as a \\u escape."""
    doc = json.loads(raw)
    parts = []
    for name, value in doc.items():
        if isinstance(value, str):
            text = '"' + "".join(f"\\u{ord(c):04x}" if c.isalpha() else c for c in value) + '"'
            parts.append(json.dumps(name) + ":" + text)
        else:
            parts.append(json.dumps(name) + ":" + json.dumps(value))
    return ("{" + ",".join(parts) + "}").encode()


def semantic_records(data: st.DataObject, maker: Maker, case: str) -> list[FuzzRecord]:
    """One record of the semantic family's ``case`` (some cases make several records)."""
    base = maker.base
    if case == "reversal_of_unknown":
        n = maker.serial()
        return [_keyed(case, _reversal(maker, data, f"FZNOPAY{n:06d}", f"FZND{n:06d}"), data)]
    if case == "reversals_of_one_unknown":
        n = maker.serial()
        dossier = data.draw(st.sampled_from((f"FZND{n:06d}", f"FZNE{n:06d}")))
        return [
            _keyed(case, _reversal(maker, data, f"FZNOPAY{n:06d}", dossier), data)
            for _ in range(data.draw(st.integers(2, 4)))
        ]
    if case == "another_reversal":  # of a payment of the base: it may or may not be reversed
        target = pick(data, base.payments)
        doc = _reversal(maker, data, target["transaction_id"], target["dossier_code"])
        return [_keyed(case, doc, data)]
    if case == "other_dossier":
        target = pick(data, base.payments)
        dossier = pick(data, base.payments)["dossier_code"]
        if dossier == target["dossier_code"]:
            dossier += "-X"
        return [_keyed(case, _reversal(maker, data, target["transaction_id"], dossier), data)]
    if case == "reversal_of_reversal":
        target = pick(data, base.reversals)
        doc = _reversal(maker, data, target["transaction_id"], target["dossier_code"])
        return [_keyed(case, doc, data)]
    if case == "own_chain":
        # a payment, reversals of it (same dossier, other dossier) and of a reversal, in any
        # order: one reverses it, the others are already_reversed or invalid_reversal
        payment = maker.fresh(data)
        tx, dossier = payment["transaction_id"], payment["dossier_code"]
        first = _reversal(maker, data, tx, dossier)
        docs = [payment, first]
        docs += [_reversal(maker, data, tx, dossier) for _ in range(data.draw(st.integers(0, 2)))]
        if data.draw(st.booleans()):
            docs.append(_reversal(maker, data, tx, dossier + "-OTHER"))
        if data.draw(st.booleans()):
            docs.append(_reversal(maker, data, first["transaction_id"], dossier))
        return [_keyed(case, doc, data) for doc in data.draw(st.permutations(docs))]
    if case == "conflict":
        original = dict(pick(data, base.payments + base.reversals))
        change = data.draw(
            st.sampled_from(("amount", "dossier_code", "channel", "event_time", "fee_type"))
        )
        if change == "amount":
            original["amount"] = original["amount"] + data.draw(st.integers(1, 10**6))
        elif change == "dossier_code":
            original["dossier_code"] += "-C"
        elif change == "channel":
            online = original["channel"] in ONLINE
            original["channel"] = data.draw(st.sampled_from(OFFLINE if online else ONLINE))
            if online:
                original.pop("provider", None)
            else:
                original["provider"] = "VNPay"
        elif change == "event_time":
            forms = _time_forms(original["event_time"])
            shifted = datetime.fromisoformat(forms[0]) + timedelta(seconds=1)
            original["event_time"] = shifted.isoformat()
        else:
            original["fee_type"] = "phi" if original["fee_type"] == "le_phi" else "le_phi"
        return [_keyed(case, original, data)]
    if case == "same_event_reencoded":
        original = dict(pick(data, base.payments + base.reversals))
        how = data.draw(st.sampled_from(("order", "time", "null_optional", "escapes", "spaces")))
        key = original["transaction_id"].encode()
        if how == "order":
            items = data.draw(st.permutations(list(original.items())))
            return [FuzzRecord("semantic", case, key, dump(dict(items)))]
        if how == "time":
            original["event_time"] = data.draw(st.sampled_from(_time_forms(original["event_time"])))
        elif how == "null_optional":
            if original["channel"] in OFFLINE:
                original["provider"] = None
            if original["kind"] == "payment":
                original["reverses"] = None
        elif how == "escapes":
            return [FuzzRecord("semantic", case, key, _escaped(dump(original)))]
        else:
            return [FuzzRecord("semantic", case, key, b" \t\r\n" + dump(original, spaced=True))]
        return [FuzzRecord("semantic", case, key, dump(original))]
    if case == "known_tx_unknown_unit":  # an unknown unit is judged before the duplicate check
        original = dict(pick(data, base.payments))
        original["unit_code"] = pick(data, base.other_units)
        return [_keyed(case, original, data)]
    doc = maker.fresh(data, kind=data.draw(st.sampled_from(("payment", "refund"))))
    if doc["kind"] == "refund":  # a reversal of a real payment, but from an unknown unit
        target = pick(data, base.payments)
        doc["reverses"], doc["dossier_code"] = target["transaction_id"], target["dossier_code"]
    if case == "unknown_unit":
        code = pick(data, base.own_units)
        near = (code.lstrip("0"), " " + code, code + " ", code + "\u200b", code.lower() + ".x")
        wide = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        shape = data.draw(st.integers(0, 3))
        if shape == 0:
            doc["unit_code"] = pick(data, base.other_units)
        elif shape == 1:
            doc["unit_code"] = pick(data, near)
        elif shape == 2:
            doc["unit_code"] = wide
        else:
            doc["unit_code"] = data.draw(st.text(min_size=1, max_size=12))
    else:  # a unit that exists, but not on the event's date
        when = data.draw(
            st.sampled_from(
                (
                    "2019-12-31T23:59:59+07:00",
                    "2019-12-31T16:59:59Z",
                    "2025-07-01T00:00:00+07:00",
                    "2025-06-30T17:00:00Z",
                    "2026-03-01T09:30:00+07:00",
                    "2000-01-01T00:00:00+07:00",
                    "2099-12-31T20:00:00Z",
                )
            )
        )
        if data.draw(st.booleans()):
            doc["unit_code"], doc["event_time"] = pick(data, base.gaps)
        else:
            doc["unit_code"] = pick(data, base.own_units)
            doc["event_time"] = when
    return [_keyed(case, doc, data)]


def pileup_records(base: Base, count: int = 24, size: int = 60_000) -> list[FuzzRecord]:
    """Reversals that all wait for one payment that never comes: ``count`` large ones (each a
    valid event padded to ``size`` bytes), and three small ones with 500 KB keys."""
    template = base.payments[0]
    out = []
    for n in range(count):
        doc = dict(template, kind="refund", transaction_id=f"FZPILE{n:04d}")
        doc.update(reverses="FZPILE-NEVER", dossier_code="FZPILE-D")
        raw = dump(doc)
        value = raw[:-1] + b" " * (size - len(raw)) + b"}"
        out.append(FuzzRecord("semantic", "pileup_waiting", doc["transaction_id"].encode(), value))
    for n in range(3):
        doc = dict(template, kind="cancellation", transaction_id=f"FZPILEKEY{n}")
        doc.update(reverses="FZPILEKEY-NEVER", dossier_code="FZPILEKEY-D")
        key = bytes([65 + n]) * 500_000
        out.append(FuzzRecord("semantic", "pileup_waiting_long_keys", key, dump(doc)))
    return out


# -- drawing ------------------------------------------------------------------------------------

FAMILIES: Final = ("kafka", "json", "schema", "semantic")

Draw = Callable[[st.DataObject, Maker, str], list[FuzzRecord]]
_FAMILY: Final[dict[str, tuple[tuple[str, ...], Draw]]] = {
    "kafka": (KAFKA_CASES, lambda data, maker, case: [kafka_record(data, maker, case)]),
    "json": (JSON_CASES, lambda data, maker, case: [json_record(data, maker, case)]),
    "schema": (SCHEMA_CASES, lambda data, maker, case: [schema_record(data, maker, case)]),
    "semantic": (SEMANTIC_CASES, semantic_records),
}


def draw(family: str, count: int, maker: Maker, seed_value: int) -> list[FuzzRecord]:
    """``count`` records of ``family``, every case in turn, drawn by Hypothesis from
    ``seed_value``."""
    out: list[FuzzRecord] = []
    cases, draw_one = _FAMILY[family]

    @seed(seed_value)
    @settings(
        max_examples=math.ceil(count / len(cases) * 1.25),
        database=None,
        phases=(Phase.generate,),
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def run(data: st.DataObject) -> None:
        made: list[FuzzRecord] = []
        for case in cases:
            made += draw_one(data, maker, case)
        out.extend(made)  # only whole examples: one that overran its buffer adds nothing

    run()
    if len(out) < count:
        raise AssertionError(f"family {family}: drew {len(out)} records, wanted {count}")
    return out[:count]


def fuzz_records(base: Base, counts: dict[str, int], seed_value: int) -> list[FuzzRecord]:
    """The fuzz records of every family (``counts``: records wanted per family), plus the fixed
    large records and the pile-up; broker-limit records come from :func:`broker_edge_records`."""
    maker = Maker(base)
    out: list[FuzzRecord] = []
    for n, family in enumerate(FAMILIES):
        out += draw(family, counts.get(family, 0), maker, seed_value + n)
    return out + large_kafka_records(base) + pileup_records(base)


def describe(record: FuzzRecord) -> str:
    """A short printable form of a record (for failure messages)."""
    value = record.value
    shown = "null" if value is None else base64.b64encode(value[:60]).decode()
    size = 0 if value is None else len(value)
    return f"{record.family}/{record.case} value[{size}]={shown}"
