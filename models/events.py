"""The payment event (schema version 1): its fields, validation rules, errors and canonical
encoding. Decoding bytes is :func:`models.event_decode.decode_event`.

Time rule (:mod:`models.event_time`): ``event_time`` is RFC 3339 (leap seconds included,
``+0700`` refused); without a UTC offset it means Vietnam time (Asia/Ho_Chi_Minh). After
decoding (or construction) every event time is aware and expressed in Vietnam time, so the
same instant always encodes the same way, and its year, in Vietnam time, is 2000..2099.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Final

import msgspec

from models.event_time import parse_event_time
from models.periods import VN_TZ

__all__ = [
    "EVENT_ERROR_REASONS",
    "FIELDS",
    "MAX_AMOUNT",
    "MAX_EVENT_BYTES",
    "MAX_ID_LENGTH",
    "MAX_WAITING_REVERSALS",
    "REQUIRED_FIELDS",
    "SCHEMA_VERSION",
    "Channel",
    "EventError",
    "FeeType",
    "Kind",
    "PaymentEvent",
    "encode_event",
    "fingerprint",
]

SCHEMA_VERSION: Final = 1
MAX_ID_LENGTH: Final = 100
MAX_AMOUNT: Final = 10**15  # VND; far above any fee, well inside float64's exact integers
EARLIEST_YEAR: Final = 2000
LATEST_YEAR: Final = 2099
#: The largest payload accepted as an event. A real event is well under 1 KiB; a bound keeps
#: one record from making any message the pipeline sends (a reroute, a claim, a dead letter)
#: larger than the broker accepts.
MAX_EVENT_BYTES: Final = 64 * 1024
#: How many reversals may wait for one transaction id that has not arrived yet (a payment is
#: reversed once; more than this waiting for it is not data the portal sends). Each keeps its
#: payload for a later dead letter, so the bound keeps the record that holds them under the
#: broker's message limit.
MAX_WAITING_REVERSALS: Final = 8

#: Every value ``EventError.reason`` can take (a bounded set: safe as a metric label).
EVENT_ERROR_REASONS: Final[frozenset[str]] = frozenset(
    {
        "unreadable",  # the Kafka record has no value at all (null)
        "too_large",  # the payload is over MAX_EVENT_BYTES
        "malformed_json",  # not UTF-8 JSON at all, truncated, or nested too deeply
        "wrong_type",  # the document is not an object, or a field has the wrong JSON type
        "missing_field",  # a required field is absent
        "unknown_field",  # a field that schema v1 does not define
        "unsupported_version",  # schema_version is an integer other than 1
        "invalid_value",  # right type, value not allowed (negative amount, unknown enum, ...)
    }
)

_SHOW_LIMIT: Final = 80


def show(value: object, limit: int = _SHOW_LIMIT) -> str:
    """A value as compact JSON, cut to ``limit`` characters (for error messages)."""
    try:
        text = msgspec.json.encode(value).decode()
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


class EventError(ValueError):
    """A payment event that cannot be accepted.

    ``reason`` is one of :data:`EVENT_ERROR_REASONS`, ``field`` the offending field
    (None when the problem is the document as a whole) and ``value`` the offending
    value as decoded from JSON (None when absent or withheld). ``str()`` names the
    field and shows the value, truncated to 80 characters; it never contains the
    whole payload.
    """

    def __init__(self, reason: str, field: str | None, value: object, detail: str) -> None:
        if reason not in EVENT_ERROR_REASONS:
            raise AssertionError(f"unknown EventError reason {reason!r}")
        self.reason = reason
        self.field = field
        self.value = value
        self.detail = detail
        super().__init__(detail)

    def __reduce__(self) -> tuple[type[EventError], tuple[str, str | None, object, str]]:
        return (EventError, (self.reason, self.field, self.value, self.detail))


class Kind(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"
    CANCELLATION = "cancellation"


class Channel(StrEnum):
    ONLINE_PORTAL = "online_portal"  # paid on the National Public Service Portal (766 flag 1)
    ONLINE_GATEWAY = "online_gateway"  # ministry or provincial payment gateway (766 flag 2)
    OFFLINE_COUNTER = "offline_counter"  # card/POS at the one-stop counter
    OFFLINE_CASH = "offline_cash"
    OFFLINE_TRANSFER = "offline_transfer"  # bank transfer outside the portal

    @property
    def is_online(self) -> bool:
        return self in _ONLINE


_ONLINE: Final = frozenset({Channel.ONLINE_PORTAL, Channel.ONLINE_GATEWAY})


class FeeType(StrEnum):
    PHI = "phi"  # phí: a charge for a service
    LE_PHI = "le_phi"  # lệ phí: a state administrative fee


if TYPE_CHECKING:
    WireTime = datetime
else:

    class WireTime(datetime):
        """``event_time`` as decoded: msgspec's own datetime parser accepts ``+0700`` and
        refuses leap seconds, so the field has this type, which msgspec leaves to
        :func:`decode_hook` (:func:`models.event_time.parse_event_time`). A constructed or
        decoded event holds a plain datetime."""


def decode_hook(kind: type, value: Any) -> Any:
    """msgspec's ``dec_hook``: reads ``event_time`` strings by the project's rule."""
    if kind is WireTime and isinstance(value, str):
        return parse_event_time(value, WireTime)
    raise TypeError(f"Expected `str`, got `{type(value).__name__}`")


Id = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=MAX_ID_LENGTH),
]
Amount = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT, description="VND, integer")]
Version = Annotated[int, msgspec.Meta(ge=SCHEMA_VERSION, le=SCHEMA_VERSION)]


class PaymentEvent(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True, gc=False
):
    """One payment, refund or cancellation reported by the payment platform.

    Constructing an event in code applies the cross-field rules and the zone rule
    (not the per-field bounds, which only ``decode_event`` checks).
    """

    schema_version: Version
    transaction_id: Id  # unique per payment
    kind: Kind
    dossier_code: Id  # mã hồ sơ
    procedure_code: Id  # mã TTHC
    unit_code: Id  # registry code of the unit that handles the dossier
    channel: Channel
    amount: Amount
    fee_type: FeeType
    event_time: WireTime  # RFC 3339 (models/event_time.py); no offset: Asia/Ho_Chi_Minh
    provider: Id | None = None  # required when online, absent when offline
    reverses: Id | None = None  # the reversed transaction id, for refund/cancellation only

    def __post_init__(self) -> None:
        ts = self.event_time
        if type(ts) is not datetime or ts.tzinfo is not VN_TZ:
            ts = _local(ts)
            msgspec.structs.force_setattr(self, "event_time", ts)
        if not EARLIEST_YEAR <= ts.year <= LATEST_YEAR:
            raise time_range_error(ts)
        error = cross_field_error(self.channel, self.provider, self.kind, self.reverses)
        if error is not None:
            raise error
        if self.reverses is not None and self.reverses == self.transaction_id:
            raise self_reversal_error(self.reverses)


#: The event's fields in schema order; every one but the last two (``provider``, ``reverses``)
#: is required.
FIELDS: Final[tuple[str, ...]] = PaymentEvent.__struct_fields__
REQUIRED_FIELDS: Final = FIELDS[: len(FIELDS) - len(PaymentEvent.__struct_defaults__)]


def _local(ts: datetime) -> datetime:
    """``ts`` as a plain datetime in Vietnam time (a naive ``ts`` is Vietnam time already)."""
    if ts.tzinfo is not None and ts.tzinfo is not VN_TZ:
        ts = ts.astimezone(VN_TZ)
    return datetime(ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second, ts.microsecond, VN_TZ)


def self_reversal_error(reverses: str) -> EventError:
    return EventError(
        "invalid_value",
        "reverses",
        reverses,
        f"field 'reverses' = {show(reverses)}: a transaction cannot reverse itself",
    )


def time_range_error(value: object) -> EventError:
    if isinstance(value, datetime):
        value = value.isoformat()
    return EventError(
        "invalid_value",
        "event_time",
        value,
        f"field 'event_time' = {show(value)}: year must be {EARLIEST_YEAR}..{LATEST_YEAR} "
        "in Vietnam time",
    )


def cross_field_error(
    channel: Channel, provider: str | None, kind: Kind, reverses: str | None
) -> EventError | None:
    """The first violated rule linking provider to channel and reverses to kind, if any."""
    if channel in _ONLINE:
        if provider is None:
            return EventError(
                "missing_field",
                "provider",
                None,
                f"field 'provider' is required when channel is {show(channel.value)} "
                "(value: absent)",
            )
    elif provider is not None:
        return EventError(
            "invalid_value",
            "provider",
            provider,
            f"field 'provider' = {show(provider)}: must be absent when channel is "
            f"{show(channel.value)} (offline)",
        )
    if kind is Kind.PAYMENT:
        if reverses is not None:
            return EventError(
                "invalid_value",
                "reverses",
                reverses,
                f"field 'reverses' = {show(reverses)}: must be absent when kind is \"payment\"",
            )
    elif reverses is None:
        return EventError(
            "missing_field",
            "reverses",
            None,
            f"field 'reverses' is required when kind is {show(kind.value)} (value: absent)",
        )
    return None


_ENCODER: Final = msgspec.json.Encoder(order="sorted")


def encode_event(event: PaymentEvent) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, absent optionals omitted, time in +07:00."""
    return _ENCODER.encode(event)


def fingerprint(event: PaymentEvent) -> str:
    """SHA-256 (hex) of :func:`encode_event`: equal for equal events, whatever the input form."""
    return hashlib.sha256(_ENCODER.encode(event)).hexdigest()
