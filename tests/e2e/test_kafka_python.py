"""kafka-python: KafkaProducer, KafkaConsumer with assign() and no group_id, KafkaAdminClient."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.errors import MessageSizeTooLargeError, TopicAlreadyExistsError

from conftest import unique, wait_until
from support import BASE_TS, CODECS, LARGE, TOO_LARGE, Got, Rec, sample_records, verify

TIMEOUTS = {"request_timeout_ms": 15000}


@pytest.fixture
def admin(bootstrap):
    a = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="oxbow-e2e-kafka-python", **TIMEOUTS)
    yield a
    a.close()


def create_topic(admin, topic, partitions=1, configs=None):
    resp = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1,
                                         topic_configs=configs or {})], timeout_ms=15000)
    errs = [(t[0], t[1]) for t in resp.topic_errors if t[1] != 0]
    assert not errs, f"create_topics errors: {errs}"
    wait_for_partitions(admin, topic, partitions)


def wait_for_partitions(admin, topic, partitions):
    def ready():
        (t,) = admin.describe_topics([topic])
        return t["error_code"] == 0 and len(t["partitions"]) == partitions \
            and all(p["leader"] >= 0 for p in t["partitions"])
    wait_until(ready, what=f"{topic} with {partitions} partitions")


def producer(bootstrap, **kw):
    conf = {"acks": "all", "linger_ms": 5, **TIMEOUTS, **kw}
    return KafkaProducer(bootstrap_servers=bootstrap, **conf)


def produce(p, topic, recs) -> dict[str, tuple[int, int]]:
    futures = [(r.id, p.send(topic, key=r.key, value=r.value, headers=r.headers or None, timestamp_ms=r.ts))
               for r in recs]
    p.flush(30)
    acked = {}
    for rid, f in futures:
        md = f.get(timeout=30)
        acked[rid] = (md.partition, md.offset)
    return acked


def consume_all(bootstrap, topic, timeout=30) -> list[Got]:
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest", fetch_max_wait_ms=100, **TIMEOUTS)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic))]
        c.assign(parts)
        c.seek_to_beginning(*parts)
        end = c.end_offsets(parts)
        out: list[Got] = []
        deadline = time.monotonic() + timeout
        while any(c.position(tp) < end[tp] for tp in parts):
            assert time.monotonic() < deadline, f"timed out reading {topic}; end offsets {end}"
            for tp, msgs in c.poll(timeout_ms=200).items():
                for m in msgs:
                    out.append(Got(m.partition, m.offset, m.key, m.value, list(m.headers or []), m.timestamp))
        return out
    finally:
        c.close()


def test_roundtrip_keys_headers_timestamps(bootstrap, admin):
    topic = unique("kp-roundtrip")
    create_topic(admin, topic, 3)
    recs = sample_records("kp", null_header_values=False)  # kafka-python: header values must be bytes
    p = producer(bootstrap)
    acked = produce(p, topic, recs)
    p.close()
    verify(recs, consume_all(bootstrap, topic), acked)


@pytest.mark.parametrize("codec", CODECS)
def test_compression(bootstrap, admin, codec):
    topic = unique(f"kp-codec-{codec}")
    create_topic(admin, topic, 2)
    recs = sample_records(codec, keys=4, per_key=25, keyless=20, null_header_values=False)
    p = producer(bootstrap, compression_type=None if codec == "none" else codec, linger_ms=50)
    acked = produce(p, topic, recs)
    p.close()
    verify(recs, consume_all(bootstrap, topic), acked)


def test_idempotent_producer(bootstrap, admin):
    topic = unique("kp-idempotent")
    create_topic(admin, topic, 3)
    recs = [Rec(f"i-{i}", f"k{i % 30}".encode(), f"i-{i};{i}".encode(), [("id", f"i-{i}".encode())],
                BASE_TS + i, i // 30) for i in range(2000)]
    p = producer(bootstrap, enable_idempotence=True, batch_size=2048)
    acked = produce(p, topic, recs)
    p.close()
    verify(recs, consume_all(bootstrap, topic), acked)
    last: dict[int, int] = {}
    for r in recs:
        part, off = acked[r.id]
        assert off == last.get(part, -1) + 1, f"{r.id} at {part}/{off} after {last.get(part)}"
        last[part] = off


def test_large_and_over_limit_records(bootstrap, admin):
    topic = unique("kp-large")
    create_topic(admin, topic, 1)
    value = bytes((i * 31 + 7) & 0xFF for i in range(LARGE))
    recs = [Rec("large-0", b"big", value, [("id", b"large-0")], BASE_TS)]
    # Lift the client-side max_request_size so the broker's message.max.bytes is what refuses 1.1 MB.
    p = producer(bootstrap, max_request_size=5_000_000, retries=0)
    acked = produce(p, topic, recs)
    future = p.send(topic, key=b"k", value=b"\x01" * TOO_LARGE)  # passes the client-side check
    with pytest.raises(MessageSizeTooLargeError):  # the broker's MESSAGE_TOO_LARGE (10)
        future.get(timeout=30)
    p.close()
    verify(recs, consume_all(bootstrap, topic), acked)


def test_offsets_for_times(bootstrap, admin):
    topic = unique("kp-times")
    create_topic(admin, topic, 1)
    p = producer(bootstrap)
    produce(p, topic, [Rec(f"t-{i}", None, f"t-{i};".encode(), [("id", f"t-{i}".encode())], BASE_TS + i * 1000)
                       for i in range(10)])
    p.close()
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, **TIMEOUTS)
    try:
        tp = TopicPartition(topic, 0)
        r = c.offsets_for_times({tp: BASE_TS + 5000})[tp]
        assert (r.offset, r.timestamp) == (5, BASE_TS + 5000)
        assert c.offsets_for_times({tp: BASE_TS + 4500})[tp].offset == 5
        assert c.offsets_for_times({tp: 0})[tp].offset == 0
        assert c.offsets_for_times({tp: BASE_TS + 60_000})[tp] is None
        assert c.beginning_offsets([tp])[tp] == 0
        assert c.end_offsets([tp])[tp] == 10
    finally:
        c.close()


def describe(admin, topic) -> dict[str, tuple]:
    """name -> (value, read_only, config_source or is_default, ...) as in the DescribeConfigs response."""
    (resp,) = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    (res,) = resp.resources
    assert res[0] == 0, f"DescribeConfigs error {res}"
    return {e[0]: e[1:] for e in res[4]}


def test_configs(bootstrap, admin):
    topic = unique("kp-configs")
    create_topic(admin, topic, 1, {"segment.bytes": "1048576"})
    cfg = describe(admin, topic)
    assert cfg["segment.bytes"][0] == "1048576"
    assert cfg["retention.ms"][0] == "604800000"
    assert cfg["cleanup.policy"][0] == "delete"
    resp = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": "3600000"})])
    assert all(r[0] == 0 for r in resp.resources), resp
    # Committed by the controller; the described broker may apply it a moment later (as in Kafka).
    cfg = wait_until(lambda: (c := describe(admin, topic))["retention.ms"][0] == "3600000" and c,
                     what="retention.ms 3600000 on the described broker")
    # AlterConfigs (not incremental) replaces the topic's whole config set.
    assert cfg["segment.bytes"][0] == "1073741824"


def test_create_errors_and_partitions(bootstrap, admin):
    topic = unique("kp-errors")
    create_topic(admin, topic, 1)
    with pytest.raises(TopicAlreadyExistsError):
        resp = admin.create_topics([NewTopic(topic, 1, 1)])
        # Older kafka-python versions return the error instead of raising it.
        if resp.topic_errors[0][1] == TopicAlreadyExistsError.errno:
            raise TopicAlreadyExistsError()
    admin.create_partitions({topic: NewPartitions(total_count=3)})
    wait_for_partitions(admin, topic, 3)
    p = producer(bootstrap)
    md = p.send(topic, value=b"v", partition=2).get(timeout=30)
    p.close()
    assert (md.partition, md.offset) == (2, 0)


def test_delete_topic(bootstrap, admin):
    topic = unique("kp-delete")
    create_topic(admin, topic, 2)
    p = producer(bootstrap)
    p.send(topic, value=b"v").get(timeout=30)
    p.close()
    assert topic in admin.list_topics()
    admin.delete_topics([topic], timeout_ms=15000)
    wait_until(lambda: topic not in admin.list_topics(), what=f"{topic} to disappear")
