"""End-to-end tests: real workers (with their sinks), real Kafka, real Redis, real scrapes."""

import sys
from pathlib import Path

# The worker harness of the stream tests serves these tests too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "streams"))
