"""Browser tests of the live dashboard: real Kafka, Redis, worker, server and Chromium."""

import sys
from pathlib import Path

# The harnesses of the stream tests (workers) and sinks tests (a private redis-server) serve
# these tests too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "streams"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sinks"))
