"""What the UI's "Load more" and partition strips rely on: the browse API's `next` cursor per scope, and the log
start offset moving when retention (or DeleteRecords) removes records."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from studio_helpers import Studio, make_studio, start_oxbow, stop, unique


def produce_to(studio: Studio, name: str, partition: int, values: list[str]) -> None:
    for v in values:
        r = studio.post(f"/api/topics/{name}/messages", {"value": v, "partition": partition})
        assert r.status_code == 200, r.text
        time.sleep(0.002)  # distinct timestamps


def ids(page: dict) -> list[tuple[int, int]]:
    return [(m["partition"], m["offset"]) for m in page["messages"]]


def test_next_cursor_per_scope(studio: Studio):
    # 5, 4 and 2 records, one partition after the other (timestamps order them p0, p1, p2).
    name = studio.create_topic(partitions=3)
    for p, n in enumerate([5, 4, 2]):
        produce_to(studio, name, p, [f"p{p}-{i}" for i in range(n)])
    browse = lambda **q: studio.get(f"/api/topics/{name}/messages", params=q).json()

    # newest: the last `limit` records overall; `next` is each partition's high watermark.
    page = browse(scope="newest", limit=3)
    assert ids(page) == [(1, 3), (2, 0), (2, 1)]
    assert page["next"] == {"0": 5, "1": 4, "2": 2}
    assert browse(scope="newest", limit=100)["next"] == {"0": 5, "1": 4, "2": 2}

    # oldest, cut across partitions: `next` is one past the last record kept, or the start where none was.
    page = browse(scope="oldest", limit=3)
    assert ids(page) == [(0, 0), (0, 1), (0, 2)]
    assert page["next"] == {"0": 3, "1": 0, "2": 0}

    # One partition from an offset, with `limit` at least the window: the read covers the window, and
    # `next` is one past the last record scanned (what "Load more" continues from, and how it knows an
    # older window was read to its end).
    page = browse(scope="offset", offset=1, partitions="0", limit=3)
    assert ids(page) == [(0, 1), (0, 2), (0, 3)] and page["next"] == {"0": 4}
    page = browse(scope="offset", offset=0, partitions="1", limit=3, filter="no-such-text")
    assert page["messages"] == [] and page["next"] == {"1": 4} and page["scanned"] == 4
    # At the end: nothing read, `next` stays at the high watermark.
    page = browse(scope="offset", offset=2, partitions="2", limit=3)
    assert page["messages"] == [] and page["next"] == {"2": 2}


def test_delete_records_moves_the_log_start(studio: Studio):
    name = studio.create_topic(partitions=1)
    producer = Producer({"bootstrap.servers": studio.bootstrap})
    for i in range(50):
        producer.produce(name, value=f"r{i}".encode(), partition=0)
    assert producer.flush(30) == 0
    admin = AdminClient({"bootstrap.servers": studio.bootstrap})
    futures = admin.delete_records([TopicPartition(name, 0, 20)])
    for f in futures.values():
        f.result(30)
    part = studio.get(f"/api/topics/{name}").json()["partitions"][0]
    assert part["log_start_offset"] == 20 and part["high_watermark"] == 50
    page = studio.get(f"/api/topics/{name}/messages", params={"scope": "oldest", "limit": 1}).json()
    assert ids(page) == [(0, 20)]
    # An offset below the log start is clamped to it.
    page = studio.get(f"/api/topics/{name}/messages", params={"scope": "offset", "offset": 0, "limit": 1}).json()
    assert ids(page) == [(0, 20)]


@pytest.fixture()
def fast_retention(tmp_path) -> Studio:
    """An `oxbow serve` whose retention check runs every 200 ms (default 300 s)."""
    proc, lines = start_oxbow(["--ephemeral", "--kafka-port", "0", "--studio-port", "0",
                               "--profiles-file", str(tmp_path / "profiles.json"),
                               "--retention-check-interval-ms", "200"], tmp_path / "oxbow.log", expect_kafka=True)
    kafka = next(l.split()[2] for l in lines if l.startswith("ready kafka"))
    s = make_studio(proc, lines, kafka, tmp_path / "profiles.json")
    yield s
    assert stop(proc) == 0


def test_retention_moves_the_log_start(fast_retention: Studio):
    studio = fast_retention
    name = unique("retention")
    # The broker's smallest segments (1 MiB), and keep about 1 MiB.
    studio.create_topic(name, partitions=1, **{"segment.bytes": "1048576", "retention.bytes": "1048576"})
    n = 4000
    producer = Producer({"bootstrap.servers": studio.bootstrap, "linger.ms": 5})
    for i in range(n):
        producer.produce(name, value=b"r" * 1000, key=str(i).encode(), partition=0)
    assert producer.flush(60) == 0
    deadline = time.monotonic() + 30
    part = None
    while time.monotonic() < deadline:
        part = studio.get(f"/api/topics/{name}").json()["partitions"][0]
        if part["log_start_offset"] > 0:
            break
        time.sleep(0.2)
    assert part and part["log_start_offset"] > 0, f"retention never ran: {part}"
    lso = part["log_start_offset"]
    assert part["high_watermark"] == n and lso < n
    # Whole segments go: the first one left starts at the log start, and about retention.bytes is kept.
    assert part["segments"][0]["base_offset"] == lso
    assert sum(s["size_bytes"] for s in part["segments"]) < 3 * 1048576
    page = studio.get(f"/api/topics/{name}/messages", params={"scope": "oldest", "limit": 1}).json()
    assert ids(page) == [(0, lso)]
    summary = next(t for t in studio.get("/api/topics").json() if t["name"] == name)
    assert summary["record_count"] == n - lso
