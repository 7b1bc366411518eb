"""Chaos: real clients against the embedded three-broker cluster while brokers are killed, stopped
and paused.

A confluent-kafka producer and a Java-client producer (both idempotent, acks=all) write keyed
records ("KEY:SEQ", SEQ counting up per key) to a topic with replication factor 3 and
min.insync.replicas=2, while a confluent-kafka consumer group reads. A bounded loop picks a random
broker and kills, stops or pauses it, then undoes the fault and waits until every partition is
fully in sync again. At the end:
- every acknowledged record is in the log exactly once, at the offset it was acknowledged with;
- no record appears twice at all (idempotence across leader changes);
- per key, the log holds the sequence in order;
- every replica of every partition is identical byte for byte;
- the same client instances ran throughout (none needed a restart) and the consumer kept reading.

Oxbow only (it needs three brokers and `oxbow fault`); the seed is printed for reproduction."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
import requests
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import NewTopic

import ck
from conftest import OXBOW_BIN, TARGET, unique, wait_until

pytestmark = pytest.mark.skipif(TARGET != "oxbow", reason="needs the embedded three-broker cluster and oxbow fault")

JAVA = Path(__file__).resolve().parent / "java"
ROUNDS = int(os.environ.get("OXBOW_CHAOS_ROUNDS", "5"))
PARTITIONS = 6
KEYS = 12
FAULT_HOLD_S = 8.0  # longer than broker.session.timeout.ms (6 s): a killed or paused broker is fenced
SYNC_TIMEOUT_S = 90


class StudioApi:
    def __init__(self, data_dir: Path):
        info = json.loads((data_dir / "oxbow-studio.json").read_text())
        self.base = f"http://{info['studio_addr']}"
        self.headers = {"Authorization": f"Bearer {info['token']}"}

    def replication(self, topic: str) -> list[dict]:
        r = requests.get(f"{self.base}/api/replication", params={"topic": topic}, headers=self.headers, timeout=30)
        r.raise_for_status()
        return r.json()["partitions"]


def fault(data_dir: Path, action: str, broker: int) -> None:
    r = subprocess.run([str(OXBOW_BIN), "fault", action, str(broker), "--data-dir", str(data_dir)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"oxbow fault {action} {broker}: {r.stderr}"


def healthy(api: StudioApi, topic: str) -> bool:
    """Every partition led, with all three replicas running and in the ISR."""
    parts = api.replication(topic)
    return len(parts) == PARTITIONS and all(
        not p["offline"] and len(p["isr"]) == 3 and all(l["running"] for l in p["replicas"]) for p in parts)


def caught_up(api: StudioApi, topic: str) -> bool:
    """Healthy, and (once producers stopped) every replica at the leader's end and high watermark."""
    parts = api.replication(topic)
    return healthy(api, topic) and all(
        l["lag_records"] == 0 and l["high_watermark"] == l["log_end_offset"] for p in parts for l in p["replicas"])


def test_chaos_with_real_clients(own_broker, tmp_path):
    broker = own_broker()
    data = broker.data_dir
    bootstrap = ",".join(broker.bootstraps)
    seed = int(os.environ.get("OXBOW_CHAOS_SEED", str(int(time.time()))))
    print(f"chaos seed {seed}")
    rng = random.Random(seed)
    topic = unique("chaos")
    admin = ck.admin(bootstrap)
    fs = admin.create_topics([NewTopic(topic, PARTITIONS, 3, config={"min.insync.replicas": "2"})])
    fs[topic].result(30)
    ck.wait_for_topic(bootstrap, topic, PARTITIONS)
    api = StudioApi(data)

    stop = threading.Event()
    acked: list[tuple[int, int, bytes, bytes]] = []
    errors: list[str] = []

    def produce_python() -> None:
        p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                      "message.timeout.ms": 300000, "linger.ms": 5, "log_level": 3})
        seq = [0] * KEYS

        def done(err, msg):
            if err is not None:
                errors.append(f"python producer: {err}")
            else:
                acked.append((msg.partition(), msg.offset(), msg.key(), msg.value()))

        n = 0
        while not stop.is_set():
            k = n % KEYS
            key = f"p{k}"
            p.produce(topic, key=key.encode(), value=f"{key}:{seq[k]}".encode(), on_delivery=done)
            seq[k] += 1
            n += 1
            p.poll(0)
            if n % 50 == 0:
                time.sleep(0.01)
        assert p.flush(300) == 0, "the python producer could not deliver everything"

    consumed = [0]

    def consume_group() -> None:
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("chaos-group"), "auto.offset.reset": "earliest",
                      "log_level": 3})
        c.subscribe([topic])
        while not stop.is_set():
            for m in c.consume(num_messages=500, timeout=0.5):
                if m.error() is None:
                    consumed[0] += 1
                elif m.error().fatal():
                    errors.append(f"consumer: {m.error()}")
        c.close()

    stop_file = tmp_path / "java.stop"
    java_out = tmp_path / "java.acked"
    classpath = (JAVA / "target" / "classpath.txt").read_text().strip()
    java = subprocess.Popen([shutil.which("java") or "java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                             "-Dorg.slf4j.simpleLogger.defaultLogLevel=error",
                             "-cp", f"{JAVA / 'target' / 'classes'}:{classpath}", "dev.oxbow.e2e.ChaosProducer",
                             bootstrap, topic, str(KEYS), str(stop_file), str(java_out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    threads = [threading.Thread(target=produce_python), threading.Thread(target=consume_group)]
    for t in threads:
        t.start()
    try:
        time.sleep(3)
        faults = [("kill", "start"), ("stop", "start"), ("pause", "resume")]
        for round_ in range(ROUNDS):
            victim = rng.randint(1, 3)
            do, undo = rng.choice(faults)
            print(f"round {round_}: {do} {victim}")
            fault(data, do, victim)
            time.sleep(FAULT_HOLD_S)
            fault(data, undo, victim)
            wait_until(lambda: healthy(api, topic), SYNC_TIMEOUT_S, interval=0.5,
                       what=f"every replica back in the ISR after {do}/{undo} of broker {victim}: {api.replication(topic)}")
    finally:
        stop.set()
        stop_file.touch()
        for t in threads:
            t.join(320)
        out, err = java.communicate(timeout=320)
    print(out)
    assert java.returncode == 0, f"java producer exited {java.returncode}: {err[-3000:]}"
    assert not errors, errors[:10]
    assert consumed[0] > 0, "the consumer group read nothing"
    for line in java_out.read_text().splitlines():
        p, o, k, v = line.split(" ", 3)
        acked.append((int(p), int(o), k.encode(), v.encode()))
    assert len(acked) > 500, f"too few acknowledged records to mean anything: {len(acked)}"

    wait_until(lambda: caught_up(api, topic), SYNC_TIMEOUT_S, interval=0.5, what="every replica caught up at the end")
    log = ck.consume_all(bootstrap, topic, timeout=120)
    at = {(g.partition, g.offset): (g.key, g.value) for g in log}
    counts: dict[bytes, int] = defaultdict(int)
    for g in log:
        counts[g.value] += 1
    dupes = [v for v, n in counts.items() if n > 1]
    assert not dupes, f"records in the log more than once: {dupes[:10]}"
    missing = [(p, o, v) for p, o, k, v in acked if at.get((p, o)) != (k, v)]
    assert not missing, f"{len(missing)} acknowledged records not at their offsets, e.g. {missing[:5]}"
    by_key: dict[bytes, list[tuple[int, int, int]]] = defaultdict(list)
    for g in log:
        key, seq = g.value.decode().rsplit(":", 1)
        by_key[key.encode()].append((g.partition, g.offset, int(seq)))
    for key, rows in by_key.items():
        assert len({r[0] for r in rows}) == 1, f"key {key!r} on several partitions"
        seqs = [s for _, _, s in sorted(rows)]
        assert seqs == sorted(seqs), f"key {key!r} out of order: {seqs[:50]}"

    # Byte for byte: stop the cluster cleanly, then compare every replica's segments.
    code, _ = broker.stop()
    assert code == 0
    for partition in range(PARTITIONS):
        copies = {}
        for b in (1, 2, 3):
            d = data / f"broker-{b}" / f"{topic}-{partition}"
            copies[b] = b"".join(f.read_bytes() for f in sorted(d.glob("*.log")))
        assert copies[1] == copies[2] == copies[3], f"replicas of partition {partition} differ: sizes " \
            f"{ {b: len(c) for b, c in copies.items()} }"
