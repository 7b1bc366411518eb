"""`oxbow serve` flags that mirror broker configs (`--auto-create-topics`, `--num-partitions`), on a broker of
the test's own (scripts/apache-kafka.sh takes the same flags). Skipped with OXBOW_TEST_BOOTSTRAP."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError
from confluent_kafka.admin import NewTopic

import ck
from conftest import unique

pytestmark = pytest.mark.control


def test_no_auto_create_and_default_partitions(own_broker):
    b = own_broker("--auto-create-topics", "false", "--num-partitions", "3")
    a = ck.admin(b.bootstrap)

    # Metadata for an unknown topic does not create it.
    topic = unique("flags-missing")
    md = a.list_topics(topic, timeout=10)
    assert md.topics[topic].error is not None
    assert md.topics[topic].error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, md.topics[topic].error
    assert topic not in a.list_topics(timeout=10).topics

    # Producing to it fails instead of creating it.
    p = ck.producer(b.bootstrap, message_timeout_ms=5000, topic_metadata_propagation_max_ms=1000)
    out = {}
    p.produce(topic, value=b"v", on_delivery=lambda err, msg: out.update(err=err))
    assert p.flush(20) == 0
    print("produce to a missing topic:", out.get("err"))
    assert out["err"] is not None and out["err"].code() in (
        KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC, KafkaError._MSG_TIMED_OUT), out
    assert topic not in a.list_topics(timeout=10).topics

    # CreateTopics without a partition count takes num.partitions.
    t2 = unique("flags-default")
    a.create_topics([NewTopic(t2)], request_timeout=10)[t2].result(15)
    ck.wait_for_topic(b.bootstrap, t2, 3)


def test_auto_create_with_num_partitions(own_broker):
    b = own_broker("--num-partitions", "4")
    topic = unique("flags-auto")
    p = ck.producer(b.bootstrap)
    out = {}
    p.produce(topic, key=b"k", value=b"v", on_delivery=lambda err, msg: out.update(err=err))
    assert p.flush(30) == 0 and out["err"] is None, out
    assert ck.partitions_of(b.bootstrap, topic) == [0, 1, 2, 3]
