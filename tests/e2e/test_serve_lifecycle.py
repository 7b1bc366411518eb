"""`oxbow serve` as a process: ready line, clean stop on SIGTERM, restart on the same data, and a clear one-line
error with a non-zero exit for a port in use, a data dir that cannot be used, or one locked by another Oxbow.
Oxbow only: these pin the CLI contract, not Kafka behaviour."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import ConfigResource

import ck
from conftest import OXBOW_BIN, TARGET, unique
from support import Rec

pytestmark = [pytest.mark.control,
              pytest.mark.skipif(TARGET != "oxbow" or bool(os.environ.get("OXBOW_TEST_BOOTSTRAP")),
                                 reason="pins the oxbow serve CLI contract")]

READY_RE = re.compile(r"^ready kafka (127\.0\.0\.1:\d+)$")
# Bounds, not expectations of speed: the contract says 5 s to stop; start-up is given generous room.
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0


def serve(*args: str) -> subprocess.Popen:
    return subprocess.Popen([str(OXBOW_BIN), "serve", "--studio-port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "RUST_LOG": "warn"})


def wait_ready(proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + READY_TIMEOUT_S
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        m = READY_RE.match(line.strip())
        if m:
            return m.group(1)
    proc.kill()
    raise AssertionError(f"no ready line; stderr: {proc.stderr.read() if proc.stderr else ''}")


def stop(proc: subprocess.Popen) -> tuple[int, float]:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"oxbow serve did not exit within {STOP_TIMEOUT_S} s of SIGTERM")
    return code, time.monotonic() - started


def fails_with(args: list[str], pattern: str) -> str:
    """Runs `oxbow serve ARGS`, expects a quick non-zero exit with one error line matching `pattern`."""
    proc = serve(*args)
    try:
        out, err = proc.communicate(timeout=READY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"oxbow serve {args} kept running; expected it to fail")
    assert proc.returncode != 0, (out, err)
    assert "ready kafka" not in out, out
    error_lines = [line for line in err.splitlines() if line.startswith("oxbow: error:")]
    assert len(error_lines) == 1, err
    assert re.search(pattern, error_lines[0]), error_lines[0]
    return error_lines[0]


def test_sigterm_exits_zero_and_restart_keeps_everything(tmp_path):
    data = tmp_path / "data"
    proc = serve("--data-dir", str(data), "--kafka-port", "0")
    bootstrap = wait_ready(proc)
    topic = unique("lifecycle")
    ck.create_topic(bootstrap, topic, partitions=3, config={"retention.ms": "123456789"})
    recs = [Rec(id=str(i), key=f"k{i % 5}".encode(), value=f"v{i}".encode()) for i in range(300)]
    acked = ck.produce(ck.producer(bootstrap), topic, recs)
    code, _ = stop(proc)
    assert code == 0

    proc = serve("--data-dir", str(data), "--kafka-port", "0")
    try:
        bootstrap = wait_ready(proc)
        got = ck.consume_all(bootstrap, topic)
        assert len(got) == len(recs)
        by_pos = {(g.partition, g.offset): g for g in got}
        for r in recs:
            g = by_pos[acked[r.id]]
            assert (g.key, g.value) == (r.key, r.value)
        resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
        admin = ck.admin(bootstrap)  # the handle must outlive the future
        configs = admin.describe_configs([resource], request_timeout=10)[resource].result(10)
        assert configs["retention.ms"].value == "123456789"
    finally:
        assert stop(proc)[0] == 0


def test_port_in_use_is_one_clear_error(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        fails_with(["--ephemeral", "--kafka-port", str(port)], rf"{port}.*(in use|Address already in use)")


def test_second_oxbow_on_a_locked_data_dir_is_refused(tmp_path):
    data = tmp_path / "data"
    first = serve("--data-dir", str(data), "--kafka-port", "0")
    try:
        wait_ready(first)
        fails_with(["--data-dir", str(data), "--kafka-port", "0"], r"(?i)locked")
    finally:
        assert stop(first)[0] == 0


def test_data_dir_that_is_a_file_is_one_clear_error(tmp_path):
    not_a_dir = tmp_path / "plain-file"
    not_a_dir.write_text("not a directory")
    fails_with(["--data-dir", str(not_a_dir), "--kafka-port", "0"], re.escape(str(not_a_dir.name)))


def test_ephemeral_data_dir_is_removed_at_exit(tmp_path):
    # The info log goes to a file: a pipe nobody reads fills up, and the server then blocks on it.
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(OXBOW_BIN), "serve", "--ephemeral", "--kafka-port", "0", "--studio-port", "0"],
                                stdout=subprocess.PIPE, stderr=log, text=True, env={**os.environ, "RUST_LOG": "info"})
    wait_ready(proc)
    code, _ = stop(proc)
    err = log_path.read_text()
    assert code == 0
    m = re.search(r"data_dir=(\S+)", err)
    assert m, err
    assert not Path(m.group(1)).exists()


def test_help_documents_every_flag_and_its_environment_variable():
    out = subprocess.run([str(OXBOW_BIN), "serve", "--help"], capture_output=True, text=True, check=True).stdout
    for flag, env in [("--data-dir", "OXBOW_DATA_DIR"), ("--ephemeral", "OXBOW_EPHEMERAL"), ("--host", "OXBOW_HOST"),
                      ("--kafka-port", "OXBOW_KAFKA_PORT"), ("--brokers", "OXBOW_BROKERS"),
                      ("--auto-create-topics", "OXBOW_AUTO_CREATE_TOPICS"),
                      ("--num-partitions", "OXBOW_NUM_PARTITIONS")]:
        assert flag in out and env in out, (flag, env)


def test_flags_read_from_environment(tmp_path):
    env = {**os.environ, "OXBOW_DATA_DIR": str(tmp_path / "envdata"), "OXBOW_KAFKA_PORT": "0", "RUST_LOG": "warn"}
    proc = subprocess.Popen([str(OXBOW_BIN), "serve"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        wait_ready(proc)
        assert (tmp_path / "envdata").is_dir()
    finally:
        assert stop(proc)[0] == 0


def test_sigterm_with_a_thousand_written_partitions_exits_zero_and_keeps_them(tmp_path):
    """Closing every log fsyncs it; done one by one, 1,000 fresh partitions overran the shutdown bound and the
    process exited 1. The bound is the contract (5 s), not a speed expectation."""
    data = tmp_path / "data"
    proc = serve("--data-dir", str(data), "--kafka-port", "0")
    bootstrap = wait_ready(proc)
    topic = unique("many")
    partitions = 1000
    ck.create_topic(bootstrap, topic, partitions=partitions, timeout=60)
    producer = ck.producer(bootstrap, linger_ms=50)
    for partition in range(partitions):
        producer.produce(topic, value=f"v{partition}".encode(), partition=partition)
    assert producer.flush(60) == 0
    code, _ = stop(proc)
    assert code == 0, proc.stderr.read() if proc.stderr else ""

    proc = serve("--data-dir", str(data), "--kafka-port", "0")
    try:
        bootstrap = wait_ready(proc)
        got = ck.consume_all(bootstrap, topic, timeout=60)
        assert sorted((g.partition, g.value) for g in got) == [(p, f"v{p}".encode()) for p in range(partitions)]
    finally:
        assert stop(proc)[0] == 0
