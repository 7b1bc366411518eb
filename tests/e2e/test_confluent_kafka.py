"""confluent-kafka (Python on librdkafka): Producer, Consumer with assign(), AdminClient."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource, NewPartitions,
                                   NewTopic, OffsetSpec)

import ck
from conftest import unique, wait_until
from support import BASE_TS, CODECS, LARGE, TOO_LARGE, Rec, sample_records, verify


def test_roundtrip_keys_headers_timestamps(bootstrap):
    topic = unique("ck-roundtrip")
    ck.create_topic(bootstrap, topic, partitions=3)
    recs = sample_records("ck")
    acked = ck.produce(ck.producer(bootstrap), topic, recs)
    got = ck.consume_all(bootstrap, topic)
    verify(recs, got, acked)
    assert len({p for p, _ in acked.values()}) > 1, "all keys hashed to one partition"


def test_consumer_without_group_id_reads_from_offset(bootstrap):
    """assign() at an explicit offset in the middle of a partition."""
    topic = unique("ck-seek")
    ck.create_topic(bootstrap, topic, partitions=1)
    recs = [Rec(f"s-{i}", b"k", f"s-{i};".encode(), [("id", f"s-{i}".encode())], BASE_TS + i) for i in range(50)]
    ck.produce(ck.producer(bootstrap), topic, recs)
    c = ck.consumer(bootstrap)
    try:
        c.assign([TopicPartition(topic, 0, 37)])
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 13 and time.monotonic() < deadline:
            got += [m for m in c.consume(100, timeout=0.2) if not m.error()]
        assert [m.offset() for m in got] == list(range(37, 50))
        assert [m.value() for m in got] == [f"s-{i};".encode() for i in range(37, 50)]
    finally:
        c.close()


@pytest.mark.parametrize("codec", CODECS)
def test_compression(bootstrap, codec):
    topic = unique(f"ck-codec-{codec}")
    ck.create_topic(bootstrap, topic, partitions=2)
    recs = sample_records(codec, keys=4, per_key=25, keyless=20)
    acked = ck.produce(ck.producer(bootstrap, compression_type=codec, linger_ms=50), topic, recs)
    verify(recs, ck.consume_all(bootstrap, topic), acked)


def test_idempotent_producer(bootstrap):
    topic = unique("ck-idempotent")
    ck.create_topic(bootstrap, topic, partitions=3)
    recs = [Rec(f"i-{i}", f"k{i % 30}".encode(), f"i-{i};{i}".encode(), [("id", f"i-{i}".encode())],
                BASE_TS + i, i // 30) for i in range(3000)]
    p = ck.producer(bootstrap, enable_idempotence=True, batch_num_messages=50,
                    max_in_flight_requests_per_connection=5)
    acked = ck.produce(p, topic, recs)
    verify(recs, ck.consume_all(bootstrap, topic), acked)
    # Within each partition, offsets follow send order with no gaps.
    last: dict[int, int] = {}
    for r in recs:
        part, off = acked[r.id]
        assert off == last.get(part, -1) + 1, f"{r.id} at {part}/{off} after {last.get(part)}"
        last[part] = off


def test_large_record(bootstrap):
    topic = unique("ck-large")
    ck.create_topic(bootstrap, topic, partitions=1)
    value = bytes((i * 31 + 7) & 0xFF for i in range(LARGE))
    recs = [Rec("large-0", b"big", value, [("id", b"large-0")], BASE_TS)]
    acked = ck.produce(ck.producer(bootstrap), topic, recs)
    verify(recs, ck.consume_all(bootstrap, topic), acked)


def _produce_one(p, topic, value):
    result = {}
    p.produce(topic, key=b"k", value=value, on_delivery=lambda err, msg: result.update(err=err, msg=msg))
    assert p.flush(30) == 0
    return result


def test_over_limit_record_gets_message_too_large(bootstrap):
    topic = unique("ck-too-large")
    ck.create_topic(bootstrap, topic, partitions=1)
    # Lift librdkafka's own limit so the broker's message.max.bytes (1048588) is what refuses it.
    p = ck.producer(bootstrap, message_max_bytes=5_000_000, linger_ms=0)
    r = _produce_one(p, topic, b"\x01" * TOO_LARGE)
    assert r["err"] is not None, "a 1,100,000-byte record was accepted"
    assert r["err"].code() == KafkaError.MSG_SIZE_TOO_LARGE, f"expected MSG_SIZE_TOO_LARGE, got {r['err']}"
    r = _produce_one(p, topic, b"small")
    assert r["err"] is None and r["msg"].offset() == 0, r

    # Per-topic max.message.bytes.
    topic2 = unique("ck-too-large-topic")
    ck.create_topic(bootstrap, topic2, partitions=1, config={"max.message.bytes": "20000"})
    r = _produce_one(p, topic2, b"\x02" * 30_000)
    assert r["err"] is not None and r["err"].code() == KafkaError.MSG_SIZE_TOO_LARGE, r
    r = _produce_one(p, topic2, b"\x02" * 10_000)
    assert r["err"] is None, r


def test_offsets_for_times(bootstrap):
    topic = unique("ck-times")
    ck.create_topic(bootstrap, topic, partitions=1)
    recs = [Rec(f"t-{i}", None, f"t-{i};".encode(), [("id", f"t-{i}".encode())], BASE_TS + i * 1000)
            for i in range(10)]
    ck.produce(ck.producer(bootstrap), topic, recs)
    c = ck.consumer(bootstrap)
    try:
        def at(ts):
            return c.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=10)[0].offset

        assert at(BASE_TS + 5000) == 5
        assert at(BASE_TS + 4500) == 5
        assert at(0) == 0
        assert at(BASE_TS + 60_000) == -1  # no such record: OFFSET_END
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10) == (0, 10)
    finally:
        c.close()
    a = ck.admin(bootstrap)
    tp = TopicPartition(topic, 0)
    for spec, want in [(OffsetSpec.earliest(), 0), (OffsetSpec.latest(), 10), (OffsetSpec.max_timestamp(), 9),
                       (OffsetSpec.for_timestamp(BASE_TS + 7000), 7)]:
        info = a.list_offsets({tp: spec}, request_timeout=10)[tp].result(10)
        assert info.offset == want, f"ListOffsets {spec}: {info.offset} != {want}"


def _describe(a, topic):
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return a.describe_configs([res], request_timeout=10)[res].result(10)


def test_configs(bootstrap):
    topic = unique("ck-configs")
    ck.create_topic(bootstrap, topic, partitions=1, config={"segment.bytes": "1048576"})
    a = ck.admin(bootstrap)
    cfg = _describe(a, topic)
    assert cfg["segment.bytes"].value == "1048576"
    assert cfg["segment.bytes"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert cfg["cleanup.policy"].value == "delete" and cfg["cleanup.policy"].is_default
    assert cfg["retention.ms"].value == "604800000" and cfg["retention.ms"].is_default
    assert cfg["max.message.bytes"].value == "1048588"

    res = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)])
    a.incremental_alter_configs([res], request_timeout=10)[res].result(10)
    # The controller has committed the change; the broker the admin client asks may apply it a
    # moment later (as in Kafka).
    cfg = wait_until(lambda: (c := _describe(a, topic))["retention.ms"].value == "3600000" and c,
                     what="retention.ms 3600000 on the described broker")
    assert cfg["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert cfg["segment.bytes"].value == "1048576", "an incremental change touched another config"

    # Legacy AlterConfigs replaces the whole set: segment.bytes goes back to its default.
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={"retention.ms": "7200000"})
    a.alter_configs([res], request_timeout=10)[res].result(10)
    cfg = wait_until(lambda: (c := _describe(a, topic))["retention.ms"].value == "7200000" and c,
                     what="retention.ms 7200000 on the described broker")
    assert cfg["segment.bytes"].value == "1073741824" and cfg["segment.bytes"].is_default

    bad = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.ms", "not-a-number", incremental_operation=AlterConfigOpType.SET)])
    with pytest.raises(KafkaException) as e:
        a.incremental_alter_configs([bad], request_timeout=10)[bad].result(10)
    assert e.value.args[0].code() == KafkaError.INVALID_CONFIG, e.value


def test_create_topic_errors_and_create_partitions(bootstrap):
    a = ck.admin(bootstrap)
    topic = unique("ck-errors")
    ck.create_topic(bootstrap, topic, partitions=1)

    def create(nt, **kw):
        return a.create_topics([nt], request_timeout=10, **kw)[nt.topic].result(10)

    with pytest.raises(KafkaException) as e:
        create(NewTopic(topic, 1, 1))
    assert e.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS
    with pytest.raises(KafkaException) as e:
        create(NewTopic("bad/name", 1, 1))
    assert e.value.args[0].code() == KafkaError.TOPIC_EXCEPTION  # INVALID_TOPIC_EXCEPTION (17)
    with pytest.raises(KafkaException) as e:
        create(NewTopic(unique("ck-zero"), 0, 1))
    assert e.value.args[0].code() == KafkaError.INVALID_PARTITIONS
    with pytest.raises(KafkaException) as e:
        create(NewTopic(unique("ck-rf"), 1, 10))
    assert e.value.args[0].code() == KafkaError.INVALID_REPLICATION_FACTOR
    with pytest.raises(KafkaException) as e:
        create(NewTopic(unique("ck-cfg"), 1, 1, config={"no.such.config": "1"}))
    assert e.value.args[0].code() == KafkaError.INVALID_CONFIG
    validate_only = unique("ck-validate")
    create(NewTopic(validate_only, 2, 1), validate_only=True)
    assert validate_only not in a.list_topics(timeout=10).topics

    a.create_partitions([NewPartitions(topic, 3)], request_timeout=10)[topic].result(10)
    ck.wait_for_topic(bootstrap, topic, 3)
    p = ck.producer(bootstrap)
    out = {}
    p.produce(topic, value=b"v", partition=2, on_delivery=lambda err, msg: out.update(err=err, msg=msg))
    assert p.flush(30) == 0 and out["err"] is None and out["msg"].partition() == 2


def test_auto_create_topic_on_produce(bootstrap):
    """librdkafka relies on Metadata auto-creating topics (auto.create.topics.enable defaults to true)."""
    topic = unique("ck-auto")
    p = ck.producer(bootstrap)
    out = {}
    p.produce(topic, value=b"v", on_delivery=lambda err, msg: out.update(err=err, msg=msg))
    assert p.flush(30) == 0 and out["err"] is None, out
    assert ck.partitions_of(bootstrap, topic) == [0]  # num.partitions defaults to 1


def test_delete_topic(bootstrap):
    topic = unique("ck-delete")
    ck.create_topic(bootstrap, topic, partitions=2)
    ck.produce(ck.producer(bootstrap), topic, sample_records("del", keys=2, per_key=2, keyless=1))
    a = ck.admin(bootstrap)
    assert topic in a.list_topics(timeout=10).topics
    a.delete_topics([topic], operation_timeout=10, request_timeout=10)[topic].result(15)
    wait_until(lambda: topic not in a.list_topics(timeout=10).topics, what=f"{topic} to disappear")
    with pytest.raises(KafkaException) as e:
        a.delete_topics([topic], request_timeout=10)[topic].result(10)
    assert e.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART
