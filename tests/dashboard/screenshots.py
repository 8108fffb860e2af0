"""Screenshots of the dashboard for docs/, taken from a running dashboard by the browser the
tests use (Debian's headless Chromium): ``make up``, wait a minute for data, then

    .venv/bin/python tests/dashboard/screenshots.py http://127.0.0.1:6070 docs/screenshots

writes dashboard-overview.png (1920x1080), dashboard-overview-phone.png (390x844),
dashboard-district.png, dashboard-unit.png and dashboard-overview-en.png.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.dashboard.dashboard_harness import chromium, viewport

SHOTS = (
    ("dashboard-overview.png", "/p/17?year=2022&lang=vi", (1920, 1080)),
    ("dashboard-overview-phone.png", "/p/17?year=2022&lang=vi", (390, 844)),
    ("dashboard-district.png", "/d/148?year=2022&lang=vi", (1920, 1080)),
    ("dashboard-unit.png", "/u/04789?year=2022&lang=vi", (1920, 1080)),
    ("dashboard-overview-en.png", "/p/17?year=2022&kpi=dossiers&lang=en", (1920, 1080)),
)


def main(base: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    driver = chromium()
    try:
        for name, path, (width, height) in SHOTS:
            viewport(driver, width, height)
            driver.get(base.rstrip("/") + path)
            WebDriverWait(driver, 30).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, "main .cards")
            )
            time.sleep(1.5)  # charts drawn, a live update or two merged
            driver.save_screenshot(str(out / name))
            print(out / name)
    finally:
        driver.quit()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: screenshots.py DASHBOARD_URL OUT_DIR")
    main(sys.argv[1], Path(sys.argv[2]))
