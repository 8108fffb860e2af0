"""The offline recount on small hand-made inputs, one rule at a time.

Every expected counter here was worked out by hand from the rules (docs/counting-rules.md).
Hòa Bình: commune 04789 (Phường Thái Bình) is in district 148 (TP Hòa Bình) of province 17;
department 17.SNV (Sở Nội vụ) is directly under the province.
"""

from __future__ import annotations

import itertools
from typing import Any

from models.registry import Registry
from tests.events import OFFLINE, event_bytes
from tests.recount import FIELDS, recount

COMMUNE = ("04789", "148", "17")
DEPT = ("17.SNV", "17")


#: Every event here: a cash payment of 20,000 VND in dossier D1 at 09:00 on 1 March 2022.
CASH = {
    **OFFLINE,
    "dossier_code": "D1",
    "procedure_code": "1.001612",
    "amount": 20_000,
    "event_time": "2022-03-01T09:00:00+07:00",
}


def ev(tx: str, **changes: Any) -> bytes:
    return event_bytes(**{**CASH, **changes}, transaction_id=tx)


def online(tx: str, **changes: Any) -> bytes:
    return ev(tx, channel="online_portal", provider="VNPAY", **changes)


def rows(
    units: tuple[str, ...], periods: tuple[str, ...], **values: int
) -> dict[tuple[str, str], dict[str, int]]:
    """The same literal values for every (unit, period) pair; unnamed fields are 0."""
    row = {name: values.get(name, 0) for name in FIELDS}
    return {(u, p): dict(row) for u in units for p in periods}


def test_a_payment_counts_once_in_every_ancestor_and_period_in_vietnam_time(
    hoa_binh: Registry,
) -> None:
    # 2022-12-31 17:30 UTC is 2023-01-01 00:30 in Vietnam: the new year.
    result = recount([online("P1", amount=50_000, event_time="2022-12-31T17:30:00Z")], hoa_binh)
    assert result.counters == rows(
        COMMUNE,
        ("2023-01-01", "2023-01", "2023"),
        paid=1,
        paid_online=1,
        paid_amount=50_000,
        paid_online_amount=50_000,
        dossiers=1,
        dossiers_online=1,
    )
    assert result.dead_letters == []


def test_b_exact_resend_is_ignored_and_a_different_payload_is_a_conflict(
    hoa_binh: Registry,
) -> None:
    records = [
        ev("P1", unit_code="17.SNV"),
        ev("P1", unit_code="17.SNV"),  # exact re-send
        ev("P1", unit_code="17.SNV", event_time="2022-03-01T02:00:00Z"),  # same instant
        ev("P1", unit_code="17.SNV", amount=30_000),  # conflict: the first one stands
    ]
    result = recount(records, hoa_binh)
    assert result.counters == rows(
        DEPT, ("2022-03-01", "2022-03", "2022"), paid=1, paid_amount=20_000, dossiers=1
    )
    assert result.dead_letters == [(3, "conflict")]
    assert result.duplicates == 2


def test_c_reversals_waiting_second_and_invalid(hoa_binh: Registry) -> None:
    t = "2022-05-10T10:00:00+07:00"
    later = "2022-05-11T08:00:00+07:00"
    records = [
        ev("R1", kind="refund", reverses="P1", event_time=later),  # 0: before its payment
        online("P1", amount=100_000, event_time=t),  # 1: counts paid and reversed at once
        ev("R2", kind="cancellation", reverses="P1", event_time=later),  # 2: already reversed
        ev("P2", dossier_code="D2", amount=40_000, event_time=t),  # 3
        ev("R3", kind="refund", reverses="P2", event_time=later),  # 4: dossier D1, not D2
        ev("R4", kind="refund", reverses="R1", event_time=later),  # 5: reverses a refund
    ]
    result = recount(records, hoa_binh)
    assert result.counters == rows(
        COMMUNE,
        ("2022-05-10", "2022-05", "2022"),
        paid=2,
        paid_online=1,
        paid_amount=140_000,
        paid_online_amount=100_000,
        reversed=1,
        reversed_online=1,
        reversed_amount=100_000,
        reversed_online_amount=100_000,
        dossiers=1,
        dossiers_online=0,
    )
    assert result.dead_letters == [
        (2, "already_reversed"),
        (4, "invalid_reversal"),
        (5, "invalid_reversal"),
    ]
    assert result.waiting == []


def test_d_reversal_is_booked_in_the_payments_unit_and_periods(hoa_binh: Registry) -> None:
    records = [
        ev("P1", amount=10_000, event_time="2022-01-31T23:50:00+07:00"),
        ev("R1", kind="refund", reverses="P1", amount=999, event_time="2022-02-01T08:00:00+07:00"),
    ]
    result = recount(records, hoa_binh)
    assert result.counters == rows(
        COMMUNE,
        ("2022-01-31", "2022-01", "2022"),
        paid=1,
        paid_amount=10_000,
        reversed=1,
        reversed_amount=10_000,
    )


DOSSIER = [
    ev("T2", amount=0, event_time="2022-06-01T09:00:00+07:00"),  # commune, free
    ev("T1", unit_code="17.SNV", amount=5_000, event_time="2022-06-01T09:00:00+07:00"),
    online("T3", amount=15_000, event_time="2022-06-02T10:00:00+07:00"),
]
DAY1 = ("2022-06-01", "2022-06", "2022")


def test_e_dossier_counts_at_its_earliest_live_payment_ties_by_transaction_id(
    hoa_binh: Registry,
) -> None:
    result = recount(DOSSIER, hoa_binh)
    expected = (
        rows(("04789", "148"), DAY1, paid=1, paid_amount=0)
        | rows(
            ("04789", "148"),
            ("2022-06-02",),
            paid=1,
            paid_online=1,
            paid_amount=15_000,
            paid_online_amount=15_000,
        )
        | rows(("17.SNV",), DAY1, paid=1, paid_amount=5_000, dossiers=1, dossiers_online=1)
    )
    # the month and year rows of 04789/148 hold both commune payments
    for unit in ("04789", "148"):
        for period in ("2022-06", "2022"):
            expected[(unit, period)] = dict(
                rows(
                    (unit,),
                    (period,),
                    paid=2,
                    paid_online=1,
                    paid_amount=15_000,
                    paid_online_amount=15_000,
                )[(unit, period)]
            )
    expected[("17", "2022-06-01")] = rows(
        ("17",), ("2022-06-01",), paid=2, paid_amount=5_000, dossiers=1, dossiers_online=1
    )[("17", "2022-06-01")]
    expected[("17", "2022-06-02")] = rows(
        ("17",),
        ("2022-06-02",),
        paid=1,
        paid_online=1,
        paid_amount=15_000,
        paid_online_amount=15_000,
    )[("17", "2022-06-02")]
    for period in ("2022-06", "2022"):
        expected[("17", period)] = rows(
            ("17",),
            (period,),
            paid=3,
            paid_online=1,
            paid_amount=20_000,
            paid_online_amount=15_000,
            dossiers=1,
            dossiers_online=1,
        )[("17", period)]
    assert result.counters == expected


def test_e_dossier_moves_when_its_first_payment_is_reversed(hoa_binh: Registry) -> None:
    refund = ev(
        "R1",
        unit_code="17.SNV",
        kind="refund",
        reverses="T1",
        event_time="2022-06-03T09:00:00+07:00",
    )
    result = recount([*DOSSIER, refund], hoa_binh)
    dossiers = {k: (v["dossiers"], v["dossiers_online"]) for k, v in result.counters.items()}
    # T1 is reversed: the earliest live payment is now T2 (commune, 2022-06-01), a zero
    # amount, but the dossier's live sum is 15,000 > 0 and T3 is online with an amount.
    assert {k: v for k, v in dossiers.items() if v != (0, 0)} == {
        (u, p): (1, 1) for u in COMMUNE for p in DAY1
    }
    assert result.counters[("17.SNV", "2022-06-01")]["reversed_amount"] == 5_000


def test_e_dossier_rule_is_order_independent(hoa_binh: Registry) -> None:
    refund = ev(
        "R1",
        unit_code="17.SNV",
        kind="refund",
        reverses="T1",
        event_time="2022-06-03T09:00:00+07:00",
    )
    records = [*DOSSIER, refund]
    first = recount(records, hoa_binh).counters
    for order in itertools.permutations(records):
        assert recount(list(order), hoa_binh).counters == first


def test_e_zero_fee_dossier_and_online_zero_amount_do_not_count(
    hoa_binh: Registry,
) -> None:
    records = [
        ev("Z1", dossier_code="FREE", amount=0),
        online("Z2", dossier_code="MIXED", amount=0),
        ev("Z3", dossier_code="MIXED", amount=8_000),
    ]
    result = recount(records, hoa_binh)
    assert result.counters == rows(
        COMMUNE,
        ("2022-03-01", "2022-03", "2022"),
        paid=3,
        paid_online=1,
        paid_amount=8_000,
        paid_online_amount=0,
        dossiers=1,
        dossiers_online=0,
    )


def test_f_bad_records_and_unknown_units_are_dead_letters(hoa_binh: Registry) -> None:
    records = [
        b"{",
        ev("X1", amount=-5),
        ev("X2", channel="online_portal"),  # online without provider
        ev("X3", unit_code="99999"),
        ev("X4", event_time="2025-07-05T09:00:00+07:00"),  # 04789 no longer exists then
        ev("X5", unit_code="17.SNV", event_time="2025-03-02T09:00:00+07:00"),  # still exists
    ]
    result = recount(records, hoa_binh)
    assert result.dead_letters == [
        (0, "malformed_json"),
        (1, "invalid_value"),
        (2, "missing_field"),
        (3, "unknown_unit"),
        (4, "unknown_unit"),
    ]
    assert result.counters == rows(
        DEPT, ("2025-03-02", "2025-03", "2025"), paid=1, paid_amount=20_000, dossiers=1
    )


def test_g_waiting_reversals_judged_when_their_target_arrives(hoa_binh: Registry) -> None:
    records = [
        ev("R1", kind="refund", reverses="P1", dossier_code="OTHER"),  # 0: wrong dossier
        ev("R5", kind="refund", reverses="NEVER"),  # 1: waits for ever
        ev("R6", kind="refund", reverses="R5"),  # 2: names a refund: invalid at once
        ev("R7", kind="refund", reverses="R8"),  # 3: waits for R8, which is a refund
        ev("P1", amount=7_000),  # 4
        ev("R8", kind="cancellation", reverses="P1"),  # 5: the valid reversal of P1
    ]
    result = recount(records, hoa_binh)
    assert result.dead_letters == [
        (0, "invalid_reversal"),
        (2, "invalid_reversal"),
        (3, "invalid_reversal"),
    ]
    assert result.waiting == [(1, "R5")]
    assert result.counters == rows(
        COMMUNE,
        ("2022-03-01", "2022-03", "2022"),
        paid=1,
        paid_amount=7_000,
        reversed=1,
        reversed_amount=7_000,
    )
