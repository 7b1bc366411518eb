"""Fixtures for the studio API tests: a real `oxbow serve` (embedded broker + studio), and the studio
alone against Apache Kafka (`oxbow serve --no-broker --bootstrap-servers …`).

Run: `.venv/bin/python -m pytest -q tests/studio` (OXBOW_BIN defaults to target/debug/oxbow).
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from studio_helpers import KAFKA_RE, KAFKA_READY_TIMEOUT_S, ROOT, Studio, make_studio, start_oxbow, stop


@pytest.fixture(scope="session")
def studio(tmp_path_factory) -> Studio:
    """`oxbow serve --ephemeral --kafka-port 0 --studio-port 0` with a private profiles file."""
    tmp = tmp_path_factory.mktemp("studio")
    profiles = tmp / "profiles.json"
    proc, lines = start_oxbow(["--ephemeral", "--kafka-port", "0", "--studio-port", "0",
                               "--profiles-file", str(profiles)], tmp / "oxbow.log", expect_kafka=True)
    kafka = next(KAFKA_RE.match(l).group(1) for l in lines if KAFKA_RE.match(l))
    # The kafka line comes first, then the studio line: the CLI contract.
    assert lines.index(next(l for l in lines if l.startswith("ready kafka"))) < \
        lines.index(next(l for l in lines if l.startswith("ready studio")))
    s = make_studio(proc, lines, kafka, profiles)
    yield s
    assert stop(proc) == 0


@pytest.fixture(scope="session")
def apache_kafka(tmp_path_factory) -> str:
    """Apache Kafka from scripts/apache-kafka.sh (skipped when the jars were not fetched)."""
    script = ROOT / "scripts" / "apache-kafka.sh"
    if not (ROOT / "scripts" / "kafka-dist").exists():
        pytest.skip("Apache Kafka is not fetched (scripts/fetch-kafka.sh)")
    tmp = tmp_path_factory.mktemp("kafka")
    log = open(tmp / "kafka.log", "w")
    proc = subprocess.Popen(["bash", str(script), "start", "--ephemeral", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=log, text=True, start_new_session=True, env={**os.environ, "TMPDIR": str(tmp)})
    deadline = time.monotonic() + KAFKA_READY_TIMEOUT_S
    bootstrap = None
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        m = KAFKA_RE.match(line.strip())
        if m:
            bootstrap = m.group(1)
            break
    if bootstrap is None:
        proc.kill()
        pytest.fail(f"Apache Kafka did not start: {(tmp / 'kafka.log').read_text()[-2000:]}")
    yield bootstrap
    stop(proc)


@pytest.fixture(scope="session")
def external_studio(apache_kafka, tmp_path_factory) -> Studio:
    """The studio alone, against Apache Kafka."""
    tmp = tmp_path_factory.mktemp("external")
    profiles = tmp / "profiles.json"
    proc, lines = start_oxbow(["--no-broker", "--bootstrap-servers", apache_kafka, "--studio-port", "0",
                               "--profiles-file", str(profiles)], tmp / "oxbow.log", expect_kafka=False)
    assert not any(l.startswith("ready kafka") for l in lines), lines
    s = make_studio(proc, lines, apache_kafka, profiles)
    yield s
    assert stop(proc) == 0
