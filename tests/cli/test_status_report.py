"""`paywatch status` and `paywatch report` read what the Redis live view holds."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import subprocess
from pathlib import Path

from models.kpi import Counters
from models.registry import Registry
from models.targets import Targets
from sinks.redis_view import RedisView
from sinks.unit_directory import UnitDirectory
from tests.processes import paywatch

ROOT = Path(__file__).resolve().parents[2]

# (district, year 2022 paid, paid online, December paid, December online)
DISTRICTS = [
    ("148", 1000, 450, 100, 30),  # 45% for the year, December 30%: going down
    ("150", 200, 40, 20, 10),  # 20%, December 50%: going up
    ("152", 500, 150, 50, 15),  # 30% exactly, December 30%: flat
]


def _fill(redis_url: str, prefix: str) -> None:
    registry = Registry.load({"17"})
    directory = UnitDirectory(registry, Targets.load(ROOT / "deploy" / "targets", registry))

    async def run() -> None:
        view = RedisView(redis_url, prefix, directory)
        await view.start()
        for code, paid, online, dec_paid, dec_online in DISTRICTS:
            view.update(code, "2022", Counters(paid=paid, paid_online=online))
            view.update(code, "2022-12", Counters(paid=dec_paid, paid_online=dec_online))
        view.update("17", "2022", Counters(paid=1700, paid_online=640))
        assert await view.wait_idle(20)
        await view.stop()

    asyncio.run(run())


def _run(
    *args: str, redis_url: str, prefix: str, **env_vars: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PAYWATCH_REDIS_URL": redis_url,
        "PAYWATCH_REDIS_PREFIX": prefix,
        "COLUMNS": "80",
        **env_vars,
    }
    return paywatch(*args, env=env, timeout_s=120)


def test_status_lists_districts_best_first_with_rank_target_gap_trend(
    redis_server_url: str, redis_prefix: str
) -> None:
    _fill(redis_server_url, redis_prefix)
    result = _run("status", "--json", redis_url=redis_server_url, prefix=redis_prefix)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 10  # every district of Hòa Bình, with or without data
    top = [(r["code"], r["ratio"], r["rank"], r["ranked"], r["trend"]) for r in rows[:3]]
    assert top == [
        ("148", 0.45, 1, 3, "down"),
        ("152", 0.3, 2, 3, "flat"),
        ("150", 0.2, 3, 3, "up"),
    ]
    first = rows[0]
    assert first["period"] == "2022"  # the newest year the view holds
    assert first["target"] == 0.3
    assert abs(first["gap"] - 0.15) < 1e-12
    assert (first["transactions"], first["transactions_online"]) == (1000, 450)
    assert first["name"] == "Thành phố Hòa Bình"
    no_data = rows[3:]
    assert all(r["ratio"] is None and r["rank"] is None for r in no_data)
    # Without payments yet, a unit still shows its target (from the targets file), no gap.
    assert all(r["target"] == 0.3 and r["gap"] is None for r in no_data)

    table = _run("status", redis_url=redis_server_url, prefix=redis_prefix)
    assert table.returncode == 0, table.stderr
    assert "45.0" in table.stdout and "+15.0" in table.stdout and "1/3" in table.stdout


def _fill_money_and_dossiers(redis_url: str, prefix: str) -> None:
    """District 148 with different shares of transactions (40%), dossiers (25%) and amount
    (12.5%), and payments on 2022-12-31."""
    registry = Registry.load({"17"})
    directory = UnitDirectory(registry, Targets.load(ROOT / "deploy" / "targets", registry))
    year = Counters(
        paid=1000,
        paid_online=400,
        paid_amount=8_000_000_000,
        paid_online_amount=1_000_000_000,
        dossiers=800,
        dossiers_online=200,
    )

    async def run() -> None:
        view = RedisView(redis_url, prefix, directory)
        await view.start()
        for period in ("2022", "2022-12", "2022-12-31"):
            view.update("148", period, year)
            view.update("17", period, year)
        assert await view.wait_idle(20)
        await view.stop()

    asyncio.run(run())


def test_status_shows_the_figures_of_the_chosen_kpi(
    redis_server_url: str, redis_prefix: str
) -> None:
    _fill_money_and_dossiers(redis_server_url, redis_prefix)

    def first(kpi: str) -> dict[str, object]:
        result = _run(
            "status", "--kpi", kpi, "--json", redis_url=redis_server_url, prefix=redis_prefix
        )
        assert result.returncode == 0, result.stderr
        row: dict[str, object] = json.loads(result.stdout)[0]
        assert row["code"] == "148" and row["kpi"] == kpi and row["target"] == 0.3
        return row

    dossiers = first("dossiers")
    assert (dossiers["dossiers_online"], dossiers["dossiers"], dossiers["ratio"]) == (
        200,
        800,
        0.25,
    )
    assert dossiers["gap"] == -0.05 and "transactions" not in dossiers
    amount = first("amount")
    assert (amount["amount_online"], amount["amount"]) == (1_000_000_000, 8_000_000_000)
    assert amount["ratio"] == 0.125 and amount["gap"] == -0.175
    assert "transactions" not in amount and "dossiers" not in amount

    table = _run("status", "--kpi", "amount", redis_url=redis_server_url, prefix=redis_prefix)
    assert table.returncode == 0, table.stderr
    line = next(x for x in table.stdout.splitlines() if " 148 " in x)
    assert line.split()[-3:] == ["-17.5", "→", "1.00B/8.00B"]
    assert "amount paid, VND" in table.stdout
    assert "newest payments 2022-12-31" in table.stdout and "as of " in table.stdout


def test_status_fits_80_columns_cutting_long_names(
    redis_server_url: str, redis_prefix: str
) -> None:
    _fill_money_and_dossiers(redis_server_url, redis_prefix)
    for args in (("--level", "department"), ("--kpi", "amount"), ("--parent", "148")):
        result = _run("status", *args, redis_url=redis_server_url, prefix=redis_prefix)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert max(len(x) for x in lines) <= 80, result.stdout
        header = next(x for x in lines if x.startswith("rank"))
        assert header.split()[-1] == "online/all", header  # no header cut
        units = [x for x in lines if re.match(r"\s*(—|\d+/\d+)\s", x)]
        assert len(units) == {"--level": 15, "--kpi": 10, "--parent": 19}[args[0]]


def test_status_defaults_to_the_bulk_year_not_one_outlier_and_can_be_pinned(
    redis_server_url: str, redis_prefix: str, hoa_binh: Registry
) -> None:
    """A December 2022 backfill holding one payment dated June 2023: the default period stays
    2022 (docs/event-time.md); PAYWATCH_CURRENT_DAY pins it."""
    directory = UnitDirectory(hoa_binh, Targets.load(ROOT / "deploy" / "targets", hoa_binh))
    day_rows = {f"2022-12-{d:02d}": Counters(paid=20, paid_online=5) for d in range(1, 32)}
    outlier = {p: Counters(paid=1, paid_online=1) for p in ("2023", "2023-06", "2023-06-01")}

    async def run() -> None:
        view = RedisView(redis_server_url, redis_prefix, directory)
        await view.start()
        for code in ("17", "148"):
            view.update(code, "2022", Counters(paid=620, paid_online=155))
            view.update(code, "2022-12", Counters(paid=620, paid_online=155))
            for period, counters in (day_rows | outlier).items():
                view.update(code, period, counters)
        assert await view.wait_idle(20)
        await view.stop()

    asyncio.run(run())

    def period(**env_vars: str) -> str:
        result = _run(
            "status", "--json", redis_url=redis_server_url, prefix=redis_prefix, **env_vars
        )
        assert result.returncode == 0, result.stderr
        rows = json.loads(result.stdout)
        assert rows[0]["code"] == "148"
        return str(rows[0]["period"])

    assert period() == "2022"
    assert period(PAYWATCH_CURRENT_DAY="2023-06-01") == "2023"
    bad = _run(
        "status", redis_url=redis_server_url, prefix=redis_prefix, PAYWATCH_CURRENT_DAY="2023-6"
    )
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "PAYWATCH_CURRENT_DAY='2023-6'" in bad.stderr and "2022-12-31" in bad.stderr


def test_status_names_the_bad_option(redis_server_url: str, redis_prefix: str) -> None:
    _fill_money_and_dossiers(redis_server_url, redis_prefix)
    cases = {
        ("--parent", "999"): "--parent '999': no unit has that code",
        ("--parent", "04789"): "has no units under it",
        ("--period", "2022-13"): "--period '2022-13' is not a period",
        ("--province", "99"): "--province '99' is not a configured province",
    }
    for args, message in cases.items():
        result = _run("status", *args, redis_url=redis_server_url, prefix=redis_prefix)
        assert result.returncode == 2, (args, result.stdout)
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_status_says_what_to_run_when_redis_is_empty_or_down(
    redis_server_url: str, redis_prefix: str
) -> None:
    empty = _run("status", redis_url=redis_server_url, prefix=redis_prefix)
    assert empty.returncode == 2
    assert "no paywatch data in Redis for province 17" in empty.stderr
    assert "make up" in empty.stderr and "paywatch replay" in empty.stderr
    down = _run("status", redis_url="redis://:x@127.0.0.1:1/0", prefix=redis_prefix)
    assert down.returncode == 2
    assert "cannot reach Redis" in down.stderr and "make up" in down.stderr


def test_report_writes_csv_of_every_unit_and_a_chart(
    redis_server_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    _fill(redis_server_url, redis_prefix)
    result = _run(
        "report",
        "2022",
        "--out-dir",
        str(tmp_path),
        redis_url=redis_server_url,
        prefix=redis_prefix,
    )
    assert result.returncode == 0, result.stderr
    raw = (tmp_path / "paywatch-17-2022.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a byte-order mark: Excel reads it as UTF-8
    with (tmp_path / "paywatch-17-2022.csv").open(encoding="utf-8-sig") as handle:
        rows = {row["code"]: row for row in csv.DictReader(handle)}
    assert len(rows) == 1 + 15 + 10 + 151  # province, departments, districts, communes
    assert rows["148"]["ratio_transactions"] == "0.45"
    assert rows["148"]["target"] == "0.3"
    assert rows["148"]["on_track"] == "1"
    assert rows["150"]["on_track"] == "0"
    assert rows["17"]["transactions"] == "1700"
    assert rows["04789"]["transactions"] == ""  # no data: an empty cell, not a zero
    png = (tmp_path / "paywatch-17-2022.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert rows["17"]["name"] == "Tỉnh Hòa Bình"  # one spelling (models/spelling.py)
    bad = _run("report", "2022-03-01", redis_url=redis_server_url, prefix=redis_prefix)
    assert bad.returncode != 0 and "a report covers a month" in bad.stderr


def test_report_refuses_a_period_without_data_and_names_a_bad_province(
    redis_server_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    _fill(redis_server_url, redis_prefix)
    empty = _run(
        "report",
        "2021",
        "--out-dir",
        str(tmp_path),
        redis_url=redis_server_url,
        prefix=redis_prefix,
    )
    assert empty.returncode == 2
    assert "no data for province 17 in 2021 in the live view (it holds 2022)" in (empty.stderr)
    assert list(tmp_path.iterdir()) == []  # no empty files
    for province in ("99", "148"):
        bad = _run(
            "report",
            "2022",
            "--province",
            province,
            redis_url=redis_server_url,
            prefix=redis_prefix,
        )
        assert bad.returncode == 2 and "Invalid value for --province" in bad.stderr
        assert "Invalid value for PERIOD" not in bad.stderr


def test_report_chart_draws_grey_bars_value_labels_and_the_time(tmp_path: Path) -> None:
    """The chart's own drawing, read back from the figure matplotlib builds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from streams.report import write_chart

    rows = [
        {"level": "district", "name": "A", "code": "148", "ratio_transactions": "0.45",
         "target": "0.3", "on_track": "1"},
        {"level": "district", "name": "B", "code": "150", "ratio_transactions": "",
         "target": "0.3", "on_track": ""},
    ]  # fmt: skip
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    drawn: list[Figure] = []
    real_close = plt.close

    def keep(fig: Figure) -> None:
        drawn.append(fig)

    plt.close = keep  # type: ignore[assignment]
    try:
        write_chart(rows, "title", "paywatch report, as of 2022-12-31 10:00:00", tmp_path / "c.png")
    finally:
        plt.close = real_close
    (ax,) = drawn[0].axes
    bars = {
        round(p.get_width(), 3): p.get_facecolor() for p in ax.patches if isinstance(p, Rectangle)
    }
    assert set(bars) == {45.0, 100.0}  # the unit without data: a full pale grey bar
    assert matplotlib.colors.to_hex(bars[100.0]) == "#e0e0e0"
    texts = {t.get_text() for t in ax.texts}
    assert texts == {"45.0%", "no data"}
    assert [t.get_text() for t in drawn[0].texts] == ["paywatch report, as of 2022-12-31 10:00:00"]
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")
