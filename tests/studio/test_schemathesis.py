"""Fuzz the studio API from its own OpenAPI document with schemathesis: no 5xx, every response matches the
document (status codes, content types, schemas, headers). Bounded: a few examples per operation.

Excluded, with reasons:
- `PUT /api/profiles/active`: switching to a fuzzed profile points the studio at a cluster that does not exist,
  after which every cluster call is (rightly) a 503.
- the `positive_data_acceptance` check: the API validates more than a schema can say (a partition must exist,
  a hex key must be hex, a topic must be new), and answers those with documented 4xx errors.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from studio_helpers import Studio, make_studio, start_oxbow

MAX_EXAMPLES = int(os.environ.get("STUDIO_FUZZ_EXAMPLES", "15"))


@pytest.fixture
def fuzz_studio(tmp_path):
    """A studio of its own: the fuzzer creates topics with up to 1,000 partitions, and the shared instance's
    other tests should not pay for them (nor its clean-stop assertion: checkpointing thousands of partitions at
    shutdown may take longer than the 5 s the CLI contract gives)."""
    proc, lines = start_oxbow(["--ephemeral", "--kafka-port", "0", "--studio-port", "0",
                               "--profiles-file", str(tmp_path / "profiles.json")], tmp_path / "oxbow.log", expect_kafka=True)
    kafka = next(l.split()[2] for l in lines if l.startswith("ready kafka"))
    yield make_studio(proc, lines, kafka, tmp_path / "profiles.json")
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def test_openapi_fuzz(fuzz_studio: Studio, tmp_path):
    studio = fuzz_studio
    cli = Path(sys.executable).parent / "schemathesis"
    command = [
        str(cli), "run", f"{studio.base}/api/openapi.json",
        "--header", f"Authorization: Bearer {studio.token}",
        "--checks", "all", "--exclude-checks", "positive_data_acceptance",
        "--exclude-path", "/api/profiles/active",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", os.environ.get("STUDIO_FUZZ_SEED", "20261125"),
        "--request-timeout", "60",
        "--max-failures", "20",
        "--report-dir", str(tmp_path),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    output = result.stdout + result.stderr
    # The token never shows in output: schemathesis filters the Authorization header.
    assert result.returncode == 0, output[-12000:]
    assert "passed" in output
