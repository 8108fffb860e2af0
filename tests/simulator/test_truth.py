"""The ground truth (streams/simulator/truth.py): built from the generator's intent, it equals
the offline recount of the records' bytes, and survives its file."""

from __future__ import annotations

from pathlib import Path

from models.registry import Registry
from streams.simulator import Simulation, load_truth
from streams.simulator.records import SimRecord
from streams.simulator.truth import PaymentFacts, Truth
from tests.recount import recount


def test_truth_equals_the_offline_recount(
    hoa_binh: Registry, run: tuple[Simulation, list[SimRecord]]
) -> None:
    sim, records = run
    result = recount([r.value for r in records], hoa_binh)
    assert sim.truth.dead_letters == result.dead_letters
    expected = sim.truth.counter_dict()
    assert expected == result.counters
    assert len(expected) > 10_000


CHAIN = ("04789", "148", "17")


def facts(tx: str, day: str, epoch_s: float, *, online: bool, amount: int = 50_000) -> PaymentFacts:
    return PaymentFacts(tx, "D-1", CHAIN, (day, day[:7], day[:4]), epoch_s, amount, online)


def test_a_reversal_sent_before_its_payment_is_booked_when_the_payment_goes_out() -> None:
    truth = Truth()
    truth.reversal("T1")
    assert truth.reversal_before_payment == {"T1"} and not truth.counters
    truth.payment(facts("T1", "2022-03-01", 1.0, online=True))
    year = truth.counter_dict()[("17", "2022")]
    assert (year["paid"], year["reversed"], year["reversed_online_amount"]) == (1, 1, 50_000)
    assert year["dossiers"] == 0  # nothing paid is left in the dossier


def test_a_dossier_counts_once_on_its_first_payment_and_online_if_any_payment_was() -> None:
    truth = Truth()
    truth.payment(facts("T2", "2022-03-09", 9.0, online=True))
    truth.payment(facts("T1", "2022-03-01", 1.0, online=False))
    rows = truth.counter_dict()
    first, later = rows[("148", "2022-03-01")], rows[("148", "2022-03-09")]
    assert (first["dossiers"], first["dossiers_online"]) == (1, 1)
    assert later["dossiers"] == 0 and later["paid_online"] == 1
    assert rows[("148", "2022-03")]["dossiers"] == 1


def test_the_truth_survives_its_file(
    run: tuple[Simulation, list[SimRecord]], tmp_path: Path
) -> None:
    sim, _ = run
    path = tmp_path / "sim.truth.json"
    sim.truth.write(path, sim.config.describe(), "default")
    assert load_truth(path) == (sim.truth.counter_dict(), sim.truth.dead_letters)
