"""Helpers of the dashboard's browser tests: a `paywatch dashboard` subprocess reading Redis as
a user with the dashboard's ACL rules (deploy/redis/dashboard.acl) for the test's own prefix,
headless Chromium (Debian's `chromium` and `chromium-driver`) driven by Selenium, and the page's
number formats written out independently, to compare what the page shows with what Redis holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import redis
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.processes import PAYWATCH, stop_process
from tests.tier import refuse_in_unit_tier

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def acl_rules(prefix: str) -> list[str]:
    """The dashboard user's rules for ``prefix``, from the file the local stack applies."""
    lines = (ROOT / "deploy/redis/dashboard.acl").read_text().splitlines()
    text = " ".join(line for line in lines if line.strip() and not line.startswith("#"))
    return text.replace("@PREFIX@", prefix).split()


class DashboardUser:
    """A Redis user with the dashboard's rules for one prefix (deleted by :meth:`drop`)."""

    def __init__(self, admin_url: str, prefix: str) -> None:
        self.admin_url = admin_url
        self.name = f"dash-{uuid.uuid4().hex[:8]}"
        self.password = uuid.uuid4().hex
        client = redis.Redis.from_url(admin_url)
        try:
            client.execute_command(
                "ACL", "SETUSER", self.name, "reset", "on", f">{self.password}", *acl_rules(prefix)
            )
        finally:
            client.close()
        port = admin_url.rsplit(":", 1)[1].split("/")[0]
        self.url = f"redis://{self.name}:{self.password}@127.0.0.1:{port}/0"

    def drop(self) -> None:
        client = redis.Redis.from_url(self.admin_url)
        try:
            client.execute_command("ACL", "DELUSER", self.name)
        finally:
            client.close()


class Dashboard:
    """One `paywatch dashboard` subprocess on a free port."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env = env
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_redis: bool = True) -> Dashboard:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [PAYWATCH, "dashboard", "--port", str(self.port)], env=self.env, stdout=out, stderr=out
        )
        deadline_s = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, f"the dashboard exited; see {self.log}"
            status = self.health()
            if status is not None and (status["redis"] or not wait_redis):
                return self
            assert time.monotonic() < deadline_s, f"the dashboard did not start; see {self.log}"
            time.sleep(0.2)

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                body: dict[str, Any] = json.load(response)
                return body
        except urllib.error.HTTPError as exc:
            body = json.load(exc)
            return body
        except OSError:
            return None

    def stop(self) -> None:
        stop_process(self.proc, grace_s=20)
        self.proc = None


def dashboard_env(settings: Any, redis_url: str, stale_s: float, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYWATCH_")}
    env.update(settings.environment())
    env["PAYWATCH_DASHBOARD_REDIS_URL"] = redis_url
    env["PAYWATCH_DASHBOARD_STALE_S"] = str(stale_s)
    env.update(extra)
    return env


def chromium(width: int = 1920, height: int = 1080) -> WebDriver:
    """Headless Chromium with a viewport of exactly ``width`` x ``height`` CSS pixels."""
    refuse_in_unit_tier("a browser")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--lang=vi-VN"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    viewport(driver, width, height)
    return driver


def viewport(driver: WebDriver, width: int, height: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def kpi_hash(admin_url: str, prefix: str, unit: str, period: str) -> dict[str, str]:
    client = redis.Redis.from_url(admin_url, decode_responses=True)
    try:
        return client.hgetall(f"{prefix}:v1:kpi:{unit}:{period}")  # type: ignore[return-value]
    finally:
        client.close()


# -- the page's number formats, written out again (vi-VN and en-GB) ------------------------------
def _decimal_text(value: Decimal, places: int, lang: str, sign: bool = False) -> str:
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{abs(rounded):,.{places}f}"
    if lang == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    if rounded < 0:
        text = "-" + text
    elif sign and rounded > 0:
        text = "+" + text
    return text


def pct(value: str | float | None, lang: str = "vi") -> str:
    if value is None:
        return "—"
    return _decimal_text(Decimal(str(value)) * 100, 1, lang) + "%"


def points(value: str | None, lang: str = "vi") -> str:
    if value is None:
        return "—"
    word = "điểm" if lang == "vi" else "pts"
    return f"{_decimal_text(Decimal(value) * 100, 1, lang, sign=True)} {word}"


def integer(value: str | int | None, lang: str = "vi") -> str:
    if value is None:
        return "—"
    return _decimal_text(Decimal(value), 0, lang)


def visible_numbers(driver: WebDriver) -> Iterator[tuple[str, str, str | None, str]]:
    """(unit, field, period or None, text) of every figure the page shows."""
    for node in driver.find_elements(By.CSS_SELECTOR, "main [data-field]"):
        if not node.is_displayed():
            continue
        yield (
            node.get_attribute("data-unit") or "",
            node.get_attribute("data-field") or "",
            node.get_attribute("data-period"),
            node.text.strip(),
        )
