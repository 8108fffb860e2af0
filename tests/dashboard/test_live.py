"""The overview in a real browser, fed live: a private worker counts events produced through
Kafka, the dashboard (reading Redis as its least-privileged user) pushes the changes, and the
page changes without a reload; when updates stop, the freshness banner says so."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.dashboard.dashboard_harness import (
    Dashboard,
    DashboardUser,
    dashboard_env,
    integer,
    kpi_hash,
    pct,
    points,
    visible_numbers,
)
from tests.events import OFFLINE, event_record
from tests.ports import free_port
from tests.streams.stream_harness import Worker, create_topics, produce

PROVINCE = "17"
# (commune, its district): Phường Thái Bình and Phường Tân Thịnh (TP Hòa Bình), Thị trấn Lương Sơn
COMMUNES = (("04789", "148"), ("04792", "148"), ("04924", "152"))
DEPARTMENT = "17.SCT"


def event(tx: str, unit: str, online: bool, day: str = "2022-10-03") -> tuple[bytes, bytes]:
    paid = {} if online else OFFLINE
    return event_record(tx, unit_code=unit, event_time=f"{day}T10:00:00+07:00", **paid)


def first_events() -> list[tuple[bytes, bytes]]:
    out = []
    for i in range(36):
        unit = DEPARTMENT if i % 4 == 3 else COMMUNES[i % 3][0]
        out.append(event(f"t{i}", unit, online=i % 5 in (0, 2), day=f"2022-10-{1 + i % 9:02d}"))
    return out


def wait_for_redis(url: str, prefix: str, unit: str, period: str, transactions: int) -> None:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        WebDriverWait(cast(Any, client), 180, poll_frequency=0.5).until(
            lambda c: (
                c.hget(f"{prefix}:v1:kpi:{unit}:{period}", "transactions") == str(transactions)
            )
        )
    finally:
        client.close()


def text_of(driver: WebDriver, unit: str, field: str, scope: str = "main") -> str:
    return str(
        driver.find_element(
            By.CSS_SELECTOR, f'{scope} [data-unit="{unit}"][data-field="{field}"]'
        ).text
    )


def check_overview_numbers(driver: WebDriver, admin_url: str, prefix: str, year: str) -> int:
    """Every figure on the overview equals what Redis holds; returns how many were compared."""
    client = redis.Redis.from_url(admin_url, decode_responses=True)
    try:
        ranks = {}
        for level in ("district", "department"):
            ranking = f"{prefix}:v1:rank:{level}:{PROVINCE}:{year}:transactions"
            for position, code in enumerate(client.zrevrange(ranking, 0, -1)):
                ranks[code] = str(position + 1)
    finally:
        client.close()
    compared = 0
    for unit, field, _, text in visible_numbers(driver):
        fields = kpi_hash(admin_url, prefix, unit, year)
        if field == "rank":
            want = ranks.get(unit, "—")
        elif field.startswith(("ratio_", "required_rest_ratio")):
            want = pct(fields.get(field))
        elif field == "target":
            want = pct(fields.get("target") or "0.3")  # the targets file's 30% for 2022
        elif field.startswith("gap"):
            want = points(fields.get(field))
        elif field.startswith("projected_total"):
            value = fields.get(field)
            want = "—" if value is None else f"{integer(str(round(float(value))))} giao dịch"
        else:
            want = integer(fields.get(field))
        assert text == want, f"{unit} {field}: the page shows {text!r}, Redis holds {want!r}"
        compared += 1
    return compared


@pytest.mark.timeout(600)
def test_overview_changes_live_and_warns_when_updates_stop(
    settings_factory: Callable[..., Any],
    kafka_bootstrap: str,
    redis_server_url: str,
    redis_prefix: str,
    browser: WebDriver,
    tmp_path: Path,
) -> None:
    settings = settings_factory()
    create_topics(settings)
    worker = Worker(settings, tmp_path / "worker.log").start()
    user = DashboardUser(redis_server_url, redis_prefix)
    env = dashboard_env(settings, user.url, stale_s=4)
    dashboard = Dashboard(env, free_port(), tmp_path / "dashboard.log")
    try:
        events = first_events()
        produce(kafka_bootstrap, settings.topic("payments"), events)
        wait_for_redis(redis_server_url, redis_prefix, PROVINCE, "2022", len(events))
        dashboard.start()
        browser.get(f"{dashboard.url}/p/{PROVINCE}?year=2022")
        wait = WebDriverWait(browser, 60, poll_frequency=0.2)
        wait.until(
            lambda d: d.find_elements(By.CSS_SELECTOR, '#table-district tr[data-unit="152"]')
        )
        # Vietnamese names with their diacritics, as the registry spells them
        assert "Huyện Lương Sơn" in browser.find_element(By.ID, "table-district").text
        assert "Tỉnh Hòa Bình" in browser.find_element(By.ID, "title").text
        # (retried: a figure that changes between reading the page and reading Redis differs)
        figures = WebDriverWait(browser, 30, 0.5, ignored_exceptions=(AssertionError,)).until(
            lambda d: check_overview_numbers(d, redis_server_url, redis_prefix, "2022")
        )
        assert figures >= 60

        browser.execute_script("window.__sameDocument = 42")
        before_district = text_of(browser, "152", "transactions", "#table-district")
        before_province = text_of(browser, PROVINCE, "transactions", "#card-counts")
        assert before_province == integer(len(events))
        produce(kafka_bootstrap, settings.topic("payments"), [event("live-1", "04924", True)])
        wait.until(
            lambda d: (
                text_of(d, "152", "transactions", "#table-district")
                == integer(int(before_district) + 1)
                and text_of(d, PROVINCE, "transactions", "#card-counts") == integer(len(events) + 1)
            )
        )
        assert browser.execute_script("return window.__sameDocument") == 42, "the page reloaded"
        assert browser.execute_script("return window.paywatch.loads") == 1
        wait_for_redis(redis_server_url, redis_prefix, PROVINCE, "2022", len(events) + 1)
        WebDriverWait(browser, 30, 0.5, ignored_exceptions=(AssertionError,)).until(
            lambda d: check_overview_numbers(d, redis_server_url, redis_prefix, "2022")
        )

        # No more events: within the threshold (4 s here) the banner says so, loudly.
        banner = browser.find_element(By.ID, "freshness")
        WebDriverWait(browser, 30, poll_frequency=0.2).until(lambda d: banner.is_displayed())
        assert "không được cập nhật" in banner.text
        produce(kafka_bootstrap, settings.topic("payments"), [event("live-2", "04789", False)])
        WebDriverWait(browser, 60, poll_frequency=0.2).until(lambda d: not banner.is_displayed())
    finally:
        dashboard.stop()
        worker.stop()
        user.drop()
