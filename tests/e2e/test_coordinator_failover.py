"""Coordinator failover on the embedded three-broker cluster while a consumer group and a transactional producer
are at work.

A confluent-kafka transactional producer commits small transactions to a topic (replication factor 3,
min.insync.replicas=2) while a confluent-kafka consumer group reads it with read_committed and commits its offsets
every half second. The broker leading the transactional id's `__transaction_state` partition (its transaction
coordinator) is killed, held down past the session timeout and started again; then the same for the broker leading
the group's `__consumer_offsets` partition (its group coordinator). Both clients run throughout, unrestarted.
Afterwards:
- the producer committed transactions after each kill (the coordinator moved and the producer followed it) and
  never hit a fatal error;
- a read_committed reader sees exactly the committed records, each once, and none of any aborted transaction;
- the group saw every committed record and none of an aborted one, and its committed offsets reach the end.

Oxbow only: it needs `oxbow fault` and three brokers of the test's own."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import NewTopic

import ck
from conftest import OXBOW_BIN, TARGET, unique, wait_until
from test_transactions import read_all

pytestmark = pytest.mark.skipif(TARGET != "oxbow", reason="needs the embedded three-broker cluster and oxbow fault")

PARTITIONS = 3
RECORDS_PER_TXN = 20
INTERNAL_PARTITIONS = 50  # Kafka's default for __consumer_offsets and __transaction_state
FAULT_HOLD_S = 8.0  # longer than broker.session.timeout.ms (6 s): the killed broker is fenced and loses leadership
PROGRESS_TIMEOUT_S = 90.0
COMMIT_RETRIES_MAX = 10


def java_string_hash(s: str) -> int:
    """Java's String.hashCode over UTF-16 code units, as a signed 32-bit value."""
    h = 0
    data = s.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i:i + 2], "big")) & 0xFFFFFFFF
    return h - (1 << 32) if h >= (1 << 31) else h


def coordinator_partition(key: str) -> int:
    """Kafka's placement of a group or transactional id: Utils.abs(hashCode) % partitions."""
    h = java_string_hash(key)
    return (0 if h == -(1 << 31) else abs(h)) % INTERNAL_PARTITIONS


def leader_of(bootstrap: str, topic: str, partition: int) -> int:
    md = ck.admin(bootstrap).list_topics(topic, timeout=10)
    p = md.topics[topic].partitions.get(partition)
    assert p is not None and p.leader >= 0, f"{topic}-{partition} has no leader: {md.topics[topic].partitions}"
    return p.leader


def fault(data_dir, action: str, broker: int) -> None:
    r = subprocess.run([str(OXBOW_BIN), "fault", action, str(broker), "--data-dir", str(data_dir)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"oxbow fault {action} {broker}: {r.stderr}"


class TransactionalWriter(threading.Thread):
    """Commits transactions of RECORDS_PER_TXN records until stopped; keeps what it committed and what it aborted."""

    def __init__(self, bootstrap: str, topic: str, txn_id: str):
        super().__init__(daemon=True)
        self.topic, self.stop = topic, threading.Event()
        self.p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "acks": "all",
                           "transaction.timeout.ms": 60000, "linger.ms": 5, **ck.QUIET})
        self.committed: list[str] = []
        self.aborted: list[str] = []
        self.errors: list[str] = []
        self.next = 0

    def run(self) -> None:
        try:
            self.p.init_transactions(60)
            while not self.stop.is_set():
                self.one_transaction()
        except KafkaException as e:  # fatal: the test reports it
            self.errors.append(f"transactional producer: {e}")

    def one_transaction(self) -> None:
        batch = [f"r{self.next + i}" for i in range(RECORDS_PER_TXN)]
        self.next += RECORDS_PER_TXN
        self.p.begin_transaction()
        try:
            for i, v in enumerate(batch):
                self.p.produce(self.topic, key=f"k{i % 7}".encode(), value=v.encode())
            for _ in range(COMMIT_RETRIES_MAX):
                try:
                    self.p.commit_transaction(60)
                    self.committed.extend(batch)
                    return
                except KafkaException as e:
                    if not e.args[0].retriable():
                        raise
            raise AssertionError(f"commit still retriable after {COMMIT_RETRIES_MAX} tries")
        except KafkaException as e:
            if not e.args[0].txn_requires_abort():
                raise
            self.p.abort_transaction(60)
            self.aborted.extend(batch)


class GroupReader(threading.Thread):
    """A group member reading with read_committed, committing its offsets every half second."""

    def __init__(self, bootstrap: str, topic: str, group: str):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "isolation.level": "read_committed",
                           "auto.offset.reset": "earliest", "enable.auto.commit": True,
                           "auto.commit.interval.ms": 500, **ck.QUIET})
        self.c.subscribe([topic])
        self.seen: list[str] = []
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            for m in self.c.consume(num_messages=500, timeout=0.5):
                if m.error() is None:
                    self.seen.append(m.value().decode())
                elif m.error().fatal():
                    self.errors.append(f"group reader: {m.error()}")


def test_coordinators_fail_over_while_a_group_and_a_transactional_producer_run(own_broker):
    cluster = own_broker()
    bootstrap = ",".join(cluster.bootstraps)
    topic, group, txn_id = unique("cfo"), unique("cfo-group"), unique("cfo-tx")
    admin = ck.admin(bootstrap)  # kept alive until the future resolves
    fs = admin.create_topics([NewTopic(topic, PARTITIONS, 3, config={"min.insync.replicas": "2"})])
    fs[topic].result(30)
    ck.wait_for_topic(bootstrap, topic, PARTITIONS)

    writer = TransactionalWriter(bootstrap, topic, txn_id)
    reader = GroupReader(bootstrap, topic, group)
    writer.start()
    reader.start()
    try:
        wait_until(lambda: len(writer.committed) >= 5 * RECORDS_PER_TXN and reader.seen, PROGRESS_TIMEOUT_S,
                   interval=0.2, what=f"the writer commits and the group reads (errors: {writer.errors})")
        # Both internal topics exist now (FindCoordinator created them).
        for internal, key in (("__transaction_state", txn_id), ("__consumer_offsets", group)):
            victim = leader_of(bootstrap, internal, coordinator_partition(key))
            committed_before, seen_before = len(writer.committed), len(reader.seen)
            fault(cluster.data_dir, "kill", victim)
            time.sleep(FAULT_HOLD_S)
            fault(cluster.data_dir, "start", victim)
            moved_to = leader_of(bootstrap, internal, coordinator_partition(key))
            print(f"killed broker {victim}, coordinator of {key} ({internal}-{coordinator_partition(key)}); "
                  f"it leads on broker {moved_to} now; {len(writer.committed)} records committed so far")
            wait_until(lambda: len(writer.committed) >= committed_before + 5 * RECORDS_PER_TXN
                       and len(reader.seen) > seen_before, PROGRESS_TIMEOUT_S, interval=0.2,
                       what=f"progress after killing broker {victim}, the coordinator of {key} "
                            f"(now {moved_to}; writer errors: {writer.errors}, reader errors: {reader.errors})")
    finally:
        writer.stop.set()
        writer.join(120)
    try:
        assert not writer.is_alive(), "the writer did not stop"
        assert not writer.errors, writer.errors
        committed, aborted = set(writer.committed), set(writer.aborted)
        wait_until(lambda: committed <= set(reader.seen), PROGRESS_TIMEOUT_S, interval=0.2,
                   what=f"the group reads every committed record ({len(committed - set(reader.seen))} missing)")
    finally:
        reader.stop.set()
        reader.join(30)
    try:
        reader.c.commit(asynchronous=False)
    except KafkaException as e:  # _NO_OFFSET: the auto-commit already stored these positions
        assert e.args[0].code() == KafkaError._NO_OFFSET, e
    assert not reader.errors, reader.errors
    assert not (set(reader.seen) & aborted), "the group saw records of an aborted transaction"

    values = [v.decode() for _, v in read_all(bootstrap, topic, PARTITIONS, "read_committed", timeout_s=60)]
    assert len(values) == len(set(values)), f"{len(values) - len(set(values))} committed records appear twice"
    assert set(values) == committed, (f"{len(committed - set(values))} committed records missing, "
                                      f"{len(set(values) - committed)} unexpected")

    positions = reader.c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=30)
    ends = {p: reader.c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(PARTITIONS)}
    # Each partition ends with a commit marker, which a consumer may or may not have stepped over.
    assert all(tp.offset >= ends[tp.partition] - 1 for tp in positions), (positions, ends)
    reader.c.close()
