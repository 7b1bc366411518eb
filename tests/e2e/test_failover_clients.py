"""kafka-python and KafkaJS follow leadership: the partition leader is killed while one client
instance of each keeps producing (acks=all) to a topic with replication factor 3; every record is
acknowledged and readable afterwards, with no client restarted. (librdkafka and the Java client go
through the same in test_chaos.py.)

Oxbow only: it needs three brokers and `oxbow fault`."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from conftest import OXBOW_BIN, TARGET, unique, wait_until

pytestmark = pytest.mark.skipif(TARGET != "oxbow", reason="needs the embedded three-broker cluster and oxbow fault")
HERE = Path(__file__).resolve().parent


def leader_of(admin: KafkaAdminClient, topic: str) -> int:
    (t,) = admin.describe_topics([topic])
    return t["partitions"][0]["leader"]


def kill(data_dir: Path, broker: int) -> None:
    r = subprocess.run([str(OXBOW_BIN), "fault", "kill", str(broker), "--data-dir", str(data_dir)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def create(bootstrap: str, topic: str) -> KafkaAdminClient:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=3,
                                  topic_configs={"min.insync.replicas": "2"})], timeout_ms=15000)
    wait_until(lambda: leader_of(admin, topic) >= 0, 20, what="a leader")
    return admin


def test_kafka_python_producer_follows_a_new_leader(own_broker):
    broker = own_broker()
    bootstrap = broker.bootstraps
    topic = unique("failover-kp")
    admin = create(",".join(bootstrap), topic)
    leader = leader_of(admin, topic)
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=50, retry_backoff_ms=200,
                      request_timeout_ms=10000, max_in_flight_requests_per_connection=1)
    for i in range(50):
        p.send(topic, key=b"k", value=f"v{i}".encode()).get(timeout=30)
    kill(broker.data_dir, leader)
    # The same producer instance: its retries find the new leader once the controller moved it.
    for i in range(50, 100):
        md = p.send(topic, key=b"k", value=f"v{i}".encode()).get(timeout=60)
        assert md.partition == 0
    p.close()
    survivors = [a for i, a in enumerate(bootstrap, start=1) if i != leader]
    assert leader_of(KafkaAdminClient(bootstrap_servers=survivors, request_timeout_ms=15000), topic) not in (leader, -1)
    c = KafkaConsumer(bootstrap_servers=survivors, enable_auto_commit=False, consumer_timeout_ms=20000)
    c.assign([TopicPartition(topic, 0)])
    c.seek_to_beginning()
    values = [m.value for m in c]
    c.close()
    assert values == [f"v{i}".encode() for i in range(100)], values[:5]


def test_kafkajs_follows_a_new_leader(own_broker, tmp_path):
    node = shutil.which("node")
    assert node, "node not found"
    broker = own_broker()
    topic = unique("failover-js")
    admin = create(",".join(broker.bootstraps), topic)
    leader = leader_of(admin, topic)
    signal, ready = tmp_path / "kill-now", tmp_path / "killed"
    env = dict(os.environ, OXBOW_TEST_BOOTSTRAP=",".join(broker.bootstraps), TOPIC=topic,
               KILL_SIGNAL_FILE=str(signal), FAILOVER_READY_FILE=str(ready))
    js = subprocess.Popen([node, str(HERE / "node" / "kafkajs_failover.mjs")], cwd=str(HERE / "node"), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: signal.exists() or js.poll() is not None, 60, interval=0.1, what="kafkajs half way")
    kill(broker.data_dir, leader)
    ready.touch()
    out, err = js.communicate(timeout=180)
    assert js.returncode == 0 and "kafkajs failover ok 200" in out, f"{out}\n{err[-3000:]}"
