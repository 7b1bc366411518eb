"""confluent-kafka (librdkafka) helpers shared by several test files: admin, produce, consume without a group."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from support import Got, Rec

QUIET = {"log_level": 3}  # librdkafka: errors only


def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, **QUIET})


def create_topic(bootstrap: str, topic: str, partitions: int = 1, config: dict[str, str] | None = None,
                 timeout: float = 30) -> None:
    a = admin(bootstrap)  # keep the handle alive until the future resolves
    futures = a.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1, config=config or {})],
        operation_timeout=timeout, request_timeout=timeout)
    futures[topic].result(timeout)
    wait_for_topic(bootstrap, topic, partitions, timeout)


def wait_for_topic(bootstrap: str, topic: str, partitions: int, timeout: float = 30) -> None:
    """Until metadata shows every partition with a leader."""
    a = admin(bootstrap)
    deadline = time.monotonic() + timeout
    while True:
        md = a.list_topics(topic, timeout=10)
        t = md.topics.get(topic)
        if t is not None and t.error is None and len(t.partitions) == partitions \
                and all(p.leader >= 0 for p in t.partitions.values()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"topic {topic} not ready with {partitions} partitions: {t and t.partitions}")
        time.sleep(0.05)


def producer(bootstrap: str, **conf) -> Producer:
    base = {"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all", "message.timeout.ms": 30000, **QUIET}
    base.update({k.replace("_", "."): v for k, v in conf.items()})
    return Producer(base)


def produce(p: Producer, topic: str, recs: list[Rec], flush_timeout: float = 30
            ) -> dict[str, tuple[int, int]]:
    """Produces and waits; returns id -> (partition, offset). Fails on any delivery error."""
    acked: dict[str, tuple[int, int]] = {}
    errors: list[str] = []

    for r in recs:
        def cb(err, msg, rid=r.id):
            if err is not None:
                errors.append(f"{rid}: {err}")
            else:
                acked[rid] = (msg.partition(), msg.offset())

        kwargs = {"key": r.key, "value": r.value, "on_delivery": cb}
        if r.headers:
            kwargs["headers"] = r.headers
        if r.ts is not None:
            kwargs["timestamp"] = r.ts
        while True:
            try:
                p.produce(topic, **kwargs)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    left = p.flush(flush_timeout)
    assert left == 0, f"{left} records still in flight after {flush_timeout} s"
    assert not errors, f"delivery errors: {errors[:5]}"
    assert len(acked) == len(recs)
    return acked


def consumer(bootstrap: str, **conf) -> Consumer:
    """A consumer for assign() only. confluent-kafka insists on a group.id, so librdkafka will look up a
    coordinator (FindCoordinator) for it, but with explicit offsets and no commits it never needs the group."""
    base = {"bootstrap.servers": bootstrap, "group.id": unique_group(), "enable.auto.commit": False,
            "enable.auto.offset.store": False, "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 100, "enable.partition.eof": False, **QUIET}
    base.update({k.replace("_", "."): v for k, v in conf.items()})
    return Consumer(base)


def unique_group() -> str:
    return f"ck-unused-{uuid.uuid4().hex[:10]}"


def partitions_of(bootstrap: str, topic: str) -> list[int]:
    md = admin(bootstrap).list_topics(topic, timeout=10)
    return sorted(md.topics[topic].partitions)


def consume_all(bootstrap: str, topic: str, timeout: float = 30, **conf) -> list[Got]:
    """Every record of every partition from the beginning to the end offsets seen at the start, with assign()
    (no consumer group)."""
    c = consumer(bootstrap, **conf)
    try:
        parts = partitions_of(bootstrap, topic)
        high = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
        low = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[0] for p in parts}
        pending = {p for p in parts if high[p] > low[p]}
        c.assign([TopicPartition(topic, p, low[p]) for p in parts])
        out: list[Got] = []
        deadline = time.monotonic() + timeout
        while pending:
            assert time.monotonic() < deadline, \
                f"timed out reading {topic}: still waiting for partitions {sorted(pending)}; end offsets {high}"
            for m in c.consume(num_messages=1000, timeout=0.2):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaException(m.error())
                out.append(Got(m.partition(), m.offset(), m.key(), m.value(), list(m.headers() or []),
                               m.timestamp()[1]))
                if m.offset() >= high[m.partition()] - 1:
                    pending.discard(m.partition())
        return out
    finally:
        c.close()
