"""Helpers for the studio tests: start `oxbow serve`, read its ready lines, call the API with the token.
(A module of its own, not conftest, so test files can import it without clashing with tests/e2e.)
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
OXBOW_BIN = Path(os.environ.get("OXBOW_BIN") or ROOT / "target" / "debug" / "oxbow")
if not OXBOW_BIN.is_absolute():
    OXBOW_BIN = ROOT / OXBOW_BIN
READY_TIMEOUT_S = 60.0
KAFKA_READY_TIMEOUT_S = 150.0
STUDIO_RE = re.compile(r"^ready studio (http://(127\.0\.0\.1:\d+)/#token=([A-Za-z0-9_-]+))\s*$")
KAFKA_RE = re.compile(r"^ready kafka (\S+:\d+)\s*$")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Studio:
    proc: subprocess.Popen
    url: str
    host: str
    token: str
    bootstrap: str
    profiles_file: Path

    @property
    def base(self) -> str:
        return f"http://{self.host}"

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.base + path, headers=self.headers(), timeout=60, **kw)

    def post(self, path: str, body=None, **kw) -> requests.Response:
        return requests.post(self.base + path, json=body, headers=self.headers(), timeout=120, **kw)

    def patch(self, path: str, body=None) -> requests.Response:
        return requests.patch(self.base + path, json=body, headers=self.headers(), timeout=60)

    def put(self, path: str, body=None) -> requests.Response:
        return requests.put(self.base + path, json=body, headers=self.headers(), timeout=60)

    def delete(self, path: str) -> requests.Response:
        return requests.delete(self.base + path, headers=self.headers(), timeout=60)

    def create_topic(self, name: str | None = None, partitions: int = 1, **configs: str) -> str:
        name = name or unique("t")
        r = self.post("/api/topics", {"name": name, "partitions": partitions, "configs": configs})
        assert r.status_code == 201, r.text
        return name


def _drain(stream, lines: list[str], ready: threading.Event, pattern_count: int) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))
        # The studio line comes last (after one `ready kafka` line per broker).
        if sum(1 for l in lines if l.startswith("ready ")) >= pattern_count and any(l.startswith("ready studio") for l in lines):
            ready.set()
    ready.set()


def start_oxbow(args: list[str], log_path: Path, expect_kafka: bool) -> tuple[subprocess.Popen, list[str]]:
    if not OXBOW_BIN.exists():
        pytest.fail(f"{OXBOW_BIN} does not exist: build it (cargo build -p oxbow) or set OXBOW_BIN", pytrace=False)
    log = open(log_path, "w")
    env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
    proc = subprocess.Popen([str(OXBOW_BIN), "serve", *args], stdout=subprocess.PIPE, stderr=log, text=True, env=env,
                            start_new_session=True)
    lines: list[str] = []
    ready = threading.Event()
    threading.Thread(target=_drain, args=(proc.stdout, lines, ready, 2 if expect_kafka else 1), daemon=True).start()
    if not ready.wait(READY_TIMEOUT_S) or not any(STUDIO_RE.match(l) for l in lines):
        proc.kill()
        pytest.fail(f"oxbow serve {args} did not print its ready lines: {lines}; log: {log_path.read_text()[-2000:]}")
    return proc, lines


def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            return proc.wait(10)
    return proc.returncode


def make_studio(proc: subprocess.Popen, lines: list[str], bootstrap: str, profiles_file: Path) -> Studio:
    m = next(STUDIO_RE.match(l) for l in lines if STUDIO_RE.match(l))
    return Studio(proc=proc, url=m.group(1), host=m.group(2), token=m.group(3), bootstrap=bootstrap,
                  profiles_file=profiles_file)


def until(what: str, fn, timeout_s: float = 30.0, every_s: float = 0.25):
    """Polls `fn` until it returns something truthy (exceptions count as not yet); fails naming `what`."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            value = fn()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - reported on timeout
            last = e
        time.sleep(every_s)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}" + (f": {last!r}" if last else ""))


class GroupConsumer:
    """A real confluent-kafka consumer in a group: joins on `start()` (polling until it has its assignment),
    reads, commits chosen offsets, leaves on `close()`. Heartbeats run in librdkafka's background thread, so
    the member stays in the group between polls."""

    def __init__(self, bootstrap: str, group: str, topics: list[str], client_id: str = "studio-test-consumer"):
        from confluent_kafka import Consumer

        self.consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": group, "client.id": client_id,
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "session.timeout.ms": 10000, "heartbeat.interval.ms": 1000,
        })
        self.consumer.subscribe(topics)
        self.closed = False
        self.early: list = []  # records a poll returned while joining

    def start(self, timeout_s: float = 60.0) -> "GroupConsumer":
        deadline = time.monotonic() + timeout_s
        while not self.consumer.assignment():
            assert time.monotonic() < deadline, "the consumer got no assignment"
            m = self.consumer.poll(0.2)
            if m is not None and m.error() is None:
                self.early.append(m)
        return self

    def read(self, count: int, timeout_s: float = 30.0) -> list:
        out, self.early = self.early[:count], self.early[count:]
        deadline = time.monotonic() + timeout_s
        while len(out) < count and time.monotonic() < deadline:
            m = self.consumer.poll(0.2)
            if m is not None and m.error() is None:
                out.append(m)
        return out

    def commit(self, topic: str, offsets: dict[int, int], metadata: str | None = None) -> None:
        from confluent_kafka import TopicPartition

        parts = [TopicPartition(topic, p, o) if metadata is None else TopicPartition(topic, p, o, metadata=metadata)
                 for p, o in offsets.items()]
        self.consumer.commit(offsets=parts, asynchronous=False)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.consumer.close()


def produce_to_partitions(bootstrap: str, topic: str, per_partition: dict[int, int]) -> None:
    """Sends `n` records to each partition and waits for every acknowledgement."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for partition, count in per_partition.items():
        for i in range(count):
            producer.produce(topic, value=f"p{partition}-{i}".encode(), partition=partition)
    assert producer.flush(30) == 0
