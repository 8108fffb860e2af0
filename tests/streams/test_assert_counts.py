"""The harness's comparison of counter tables (tests/streams/stream_harness.py): what a failing
server test prints must name the wrong rows in a few lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.counters import FIELDS
from tests.streams.stream_harness import assert_counts


def row(paid: int) -> dict[str, int]:
    return dict.fromkeys(FIELDS, 0) | {"paid": paid, "dossiers": paid}


def test_equal_tables_pass_and_a_difference_is_summed_up_with_the_worker_log(
    tmp_path: Path,
) -> None:
    expected = {("17", "2022"): row(3), ("148", "2022"): row(2), ("04789", "2022"): row(1)}
    assert_counts(dict(expected), expected)
    got = {("17", "2022"): row(4), ("148", "2022"): row(2), ("05341", "2022"): row(1)}
    log = tmp_path / "worker.log"
    log.write_text(
        "a [INFO] line\nb [WARNING] stalled\nc [INFO] p-3: offset 7 missing; reading again\n"
        "d [ERROR] step failed\n"
    )
    with pytest.raises(AssertionError) as failed:
        assert_counts(got, expected, log)
    lines = str(failed.value).splitlines()
    assert lines[0] == (
        "counters differ: 1 rows missing, 1 extra, 1 different of 3; "
        "paid summed over all rows: expected 6, got 7"
    )
    assert "('04789', '2022'): expected" in lines[1] and "got None" in lines[1]
    assert lines[-4:] == [
        "worker.log: last of 3 noted lines:",
        "b [WARNING] stalled",
        "c [INFO] p-3: offset 7 missing; reading again",
        "d [ERROR] step failed",
    ]
