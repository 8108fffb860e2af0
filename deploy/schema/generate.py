"""Write payment-event.v1.schema.json from the model: `python deploy/schema/generate.py`.

Run from the project root with the project's venv (.venv/bin/python). The test
tests/models/test_schema.py fails when the committed file differs from the model.
"""

from __future__ import annotations

from pathlib import Path

from models.schema import render

HERE = Path(__file__).resolve().parent

TARGET = HERE / "payment-event.v1.schema.json"


def main() -> None:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
