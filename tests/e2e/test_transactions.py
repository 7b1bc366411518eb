"""Transactions with real clients: aborted records stay invisible to read_committed consumers and visible to
read_uncommitted ones (confluent-kafka), records and consumed offsets commit or abort together (confluent-kafka's
send_offsets_to_transaction), and a Java read-process-write loop with exactly-once semantics survives a
SIGKILL of the processing client: a read_committed consumer of the output sees every input record exactly once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

import ck
from conftest import unique

HERE = Path(__file__).resolve().parent
JAVA = HERE / "java"

def read_all(bootstrap: str, topic: str, partitions: int, isolation: str, timeout_s: float = 30) -> list[tuple[bytes, bytes]]:
    """Every record a consumer with `isolation` sees, read by assignment up to the end it reports."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("reader"), "enable.auto.commit": False,
                  "isolation.level": isolation, **ck.QUIET})
    try:
        ends = {}
        for p in range(partitions):
            _, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            ends[p] = high
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        got: list[tuple[bytes, bytes]] = []
        done = {p for p, e in ends.items() if e == 0}
        deadline = time.monotonic() + timeout_s
        while len(done) < partitions and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is None or m.error():
                # read_committed stops at the last stable offset: a partition whose position reached
                # what the consumer may read is done.
                for p in range(partitions):
                    if p in done:
                        continue
                    pos = c.position([TopicPartition(topic, p)])[0].offset
                    low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)
                    if pos >= 0 and pos >= high:
                        done.add(p)
                continue
            got.append((m.key(), m.value()))
        assert len(done) == partitions, f"{topic}: not every partition read to its end in {timeout_s} s"
        return got
    finally:
        c.close()


def test_aborted_records_are_invisible_to_read_committed(bootstrap):
    topic = unique("txn")
    ck.create_topic(bootstrap, topic, partitions=2)
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": unique("tx"), **ck.QUIET})
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(10):
        p.produce(topic, key=f"a{i}", value=b"aborted", partition=i % 2)
    p.flush(30)
    p.abort_transaction(30)
    p.begin_transaction()
    for i in range(5):
        p.produce(topic, key=f"c{i}", value=b"committed", partition=i % 2)
    p.commit_transaction(30)

    committed = read_all(bootstrap, topic, 2, "read_committed")
    assert sorted(v for _, v in committed) == [b"committed"] * 5
    uncommitted = read_all(bootstrap, topic, 2, "read_uncommitted")
    assert sorted(v for _, v in uncommitted) == [b"aborted"] * 10 + [b"committed"] * 5


def test_an_open_transaction_holds_read_committed_at_the_last_stable_offset(bootstrap):
    topic = unique("lso")
    ck.create_topic(bootstrap, topic, partitions=1)
    before = Producer({"bootstrap.servers": bootstrap, **ck.QUIET})
    before.produce(topic, value=b"plain")
    before.flush(30)
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": unique("tx"), **ck.QUIET})
    p.init_transactions(30)
    p.begin_transaction()
    p.produce(topic, value=b"open")
    p.flush(30)
    # The open transaction's record is in the log, past the last stable offset.
    assert [v for _, v in read_all(bootstrap, topic, 1, "read_committed", timeout_s=10)] == [b"plain"]
    assert [v for _, v in read_all(bootstrap, topic, 1, "read_uncommitted")] == [b"plain", b"open"]
    p.commit_transaction(30)
    assert [v for _, v in read_all(bootstrap, topic, 1, "read_committed")] == [b"plain", b"open"]


def test_confluent_kafka_commits_and_aborts_records_and_offsets_in_one_transaction(bootstrap):
    """librdkafka's transactional API end to end: records to two topics and the consumed offsets
    (send_offsets_to_transaction: AddOffsetsToTxn, TxnOffsetCommit) in one transaction; an
    aborted one leaves neither records for read_committed consumers nor offsets behind."""
    source, out_a, out_b, group = unique("src"), unique("out-a"), unique("out-b"), unique("txn-group")
    for t in (source, out_a, out_b):
        ck.create_topic(bootstrap, t, partitions=1)
    plain = Producer({"bootstrap.servers": bootstrap, **ck.QUIET})
    for i in range(5):
        plain.produce(source, value=f"in{i}".encode())
    assert plain.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                         "isolation.level": "read_committed", **ck.QUIET})
    consumer.assign([TopicPartition(source, 0, 0)])
    consumed = []
    deadline = time.monotonic() + 30
    while len(consumed) < 5 and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is not None and not m.error():
            consumed.append(m.value())
    assert len(consumed) == 5
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": unique("ck-tx"), **ck.QUIET})
    p.init_transactions(30)

    p.begin_transaction()
    p.produce(out_a, value=b"aborted-a")
    p.produce(out_b, value=b"aborted-b")
    # abort_transaction purges what is still queued: flush so the aborted records reach the log.
    assert p.flush(30) == 0
    p.send_offsets_to_transaction([TopicPartition(source, 0, 3)], consumer.consumer_group_metadata(), 30)
    p.abort_transaction(30)
    assert consumer.committed([TopicPartition(source, 0)], timeout=30)[0].offset < 0, "aborted offsets stay uncommitted"

    p.begin_transaction()
    p.produce(out_a, value=b"committed-a")
    p.produce(out_b, value=b"committed-b")
    p.send_offsets_to_transaction([TopicPartition(source, 0, 5)], consumer.consumer_group_metadata(), 30)
    p.commit_transaction(30)
    assert consumer.committed([TopicPartition(source, 0)], timeout=30)[0].offset == 5
    consumer.close()

    assert [v for _, v in read_all(bootstrap, out_a, 1, "read_committed")] == [b"committed-a"]
    assert [v for _, v in read_all(bootstrap, out_b, 1, "read_committed")] == [b"committed-b"]
    assert [v for _, v in read_all(bootstrap, out_a, 1, "read_uncommitted")] == [b"aborted-a", b"committed-a"]


def eos_processor(bootstrap: str, args: list[str], log: Path) -> subprocess.Popen:
    classpath = JAVA / "target" / "classpath.txt"
    if not classpath.exists() or not (JAVA / "target" / "classes").is_dir():
        pytest.fail("tests/e2e/java is not built: run scripts/setup-test-deps.sh", pytrace=False)
    java = shutil.which("java")
    assert java, "java not found"
    cp = f"{JAVA / 'target' / 'classes'}:{classpath.read_text().strip()}"
    return subprocess.Popen([java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                             "-cp", cp, "dev.oxbow.e2e.EosProcessor", bootstrap, *args],
                            stdout=subprocess.PIPE, stderr=log.open("w"), text=True, start_new_session=True)


def test_exactly_once_read_process_write_survives_a_killed_processor(bootstrap, tmp_path):
    source, sink, group, txn = unique("eos-in"), unique("eos-out"), unique("eos-group"), unique("eos-tx")
    ck.create_topic(bootstrap, source, partitions=3)
    ck.create_topic(bootstrap, sink, partitions=3)
    total = 3000
    p = ck.producer(bootstrap, enable_idempotence=True)
    for i in range(total):
        p.produce(source, key=f"k{i % 17}", value=f"v{i}")
        if i % 500 == 0:
            p.poll(0)
    assert p.flush(60) == 0

    first = eos_processor(bootstrap, [source, sink, group, txn, "60000", "50"], tmp_path / "first.log")
    committed = 0
    deadline = time.monotonic() + 120
    # Bounded by the deadline: kill the processor once it committed about a third, mid-stream.
    while committed < total // 3 and time.monotonic() < deadline:
        line = first.stdout.readline()
        if not line:
            break
        if line.startswith("committed "):
            committed = int(line.split()[1])
    assert committed >= total // 3, f"the first processor committed only {committed}: {(tmp_path / 'first.log').read_text()[-3000:]}"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(30)

    second = eos_processor(bootstrap, [source, sink, group, txn, "8000", "50"], tmp_path / "second.log")
    out, _ = second.communicate(timeout=300)
    assert second.returncode == 0, f"second processor exited {second.returncode}: {out[-2000:]}\n{(tmp_path / 'second.log').read_text()[-3000:]}"

    seen = read_all(bootstrap, sink, 3, "read_committed", timeout_s=60)
    values = sorted(v.decode() for _, v in seen)
    expected = sorted(f"processed:v{i}" for i in range(total))
    missing = set(expected) - set(values)
    dupes = len(values) - len(set(values))
    assert not missing and dupes == 0, f"{len(missing)} missing (e.g. {sorted(missing)[:5]}), {dupes} duplicated"
    # The killed processor's open transaction was aborted, not lost: its records may be visible only to
    # read_uncommitted consumers.
    raw = read_all(bootstrap, sink, 3, "read_uncommitted", timeout_s=60)
    assert len(raw) >= total


def test_kafka_transactions_tool_lists_and_describes_an_open_transaction(bootstrap):
    from test_kafka_tools import tool

    tool_cls = "org.apache.kafka.tools.TransactionsCommand"
    topic = unique("txn-tool")
    ck.create_topic(bootstrap, topic, partitions=1)
    txn = unique("tool-tx")
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn, **ck.QUIET})
    p.init_transactions(30)
    p.begin_transaction()
    p.produce(topic, value=b"open")
    p.flush(30)
    b = ("--bootstrap-server", bootstrap)
    listed = tool(tool_cls, *b, "list").stdout
    row = next((line.split() for line in listed.splitlines() if line.split()[:1] == [txn]), None)
    assert row is not None, listed
    assert "Ongoing" in row, listed
    described = tool(tool_cls, *b, "describe", "--transactional-id", txn).stdout
    assert txn in described and "Ongoing" in described and f"{topic}-0" in described, described
    producers = tool(tool_cls, *b, "describe-producers", "--topic", topic, "--partition", "0").stdout
    header, *rows = [l.split() for l in producers.splitlines() if l.strip()]
    assert len(rows) == 1, producers
    # The open transaction's first record is at offset 0, and it is still open.
    assert dict(zip(header, rows[0]))["CurrentTransactionStartOffset"] == "0", producers
    p.commit_transaction(30)
    described = tool(tool_cls, *b, "describe", "--transactional-id", txn).stdout
    assert "CompleteCommit" in described, described
