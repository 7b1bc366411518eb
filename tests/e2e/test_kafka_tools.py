"""Apache Kafka's own command-line tools (4.x, from Maven Central via scripts/fetch-kafka.sh), run through
scripts/kafka-run-class.sh: kafka-topics, kafka-configs, the console producer and consumer,
kafka-dump-log (DumpLogSegments) on segment files in the broker's data dir, and kafka-transactions
describe-producers (DescribeProducers)."""

from __future__ import annotations

import re
import subprocess

import pytest

import ck
from conftest import ROOT, requires_control, unique, wait_until
from support import BASE_TS, CODECS, Rec

RUN = ROOT / "scripts" / "kafka-run-class.sh"
TOPICS = "org.apache.kafka.tools.TopicCommand"
CONFIGS = "org.apache.kafka.tools.ConfigCommand"
PRODUCER = "org.apache.kafka.tools.ConsoleProducer"
CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"
DUMP_LOG = "org.apache.kafka.tools.DumpLogSegments"
TRANSACTIONS = "org.apache.kafka.tools.TransactionsCommand"



@pytest.fixture(autouse=True, scope="module")
def _kafka_jars():
    if not any((ROOT / ".cache" / "kafka" / "libs").glob("kafka_2.13-*.jar")):
        pytest.fail("Kafka jars missing in .cache/kafka/libs: run scripts/setup-test-deps.sh", pytrace=False)


def tool(cls: str, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
         ) -> subprocess.CompletedProcess:
    r = subprocess.run(["bash", str(RUN), cls, *args], input=input, capture_output=True, text=True,
                       timeout=timeout)
    if check:
        assert r.returncode == 0, f"{cls} {' '.join(args)} exited {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def test_kafka_topics(bootstrap):
    topic = unique("tools-topics")
    b = ("--bootstrap-server", bootstrap)
    out = tool(TOPICS, *b, "--create", "--topic", topic, "--partitions", "3", "--replication-factor", "1",
               "--config", "retention.ms=86400000").stdout
    assert f"Created topic {topic}." in out
    assert topic in tool(TOPICS, *b, "--list").stdout.split()

    desc = tool(TOPICS, *b, "--describe", "--topic", topic).stdout
    # Kafka 4 with ELR also lists min.insync.replicas=1 (a cluster-level dynamic config) under Configs.
    m = re.search(rf"Topic: {re.escape(topic)}\s+TopicId: \S+\s+PartitionCount: 3\s+ReplicationFactor: 1\s+"
                  r"Configs: (\S*)", desc)
    assert m and "retention.ms=86400000" in m.group(1).split(","), desc
    parts = re.findall(r"Partition: (\d+)\s+Leader: (\d+)\s+Replicas: (\d+)\s+Isr: (\d+)", desc)
    assert sorted(int(p[0]) for p in parts) == [0, 1, 2], desc
    assert all(p[1] == p[2] == p[3] for p in parts), desc

    r = tool(TOPICS, *b, "--create", "--topic", topic, "--partitions", "1", check=False)
    assert r.returncode != 0 and "already exists" in r.stdout + r.stderr, r

    tool(TOPICS, *b, "--alter", "--topic", topic, "--partitions", "5")
    wait_until(lambda: "PartitionCount: 5" in tool(TOPICS, *b, "--describe", "--topic", topic).stdout,
               what="5 partitions")

    tool(TOPICS, *b, "--delete", "--topic", topic)
    wait_until(lambda: topic not in tool(TOPICS, *b, "--list").stdout.split(), what=f"{topic} deleted")


def test_kafka_configs(bootstrap):
    topic = unique("tools-configs")
    ck.create_topic(bootstrap, topic, partitions=1)
    b = ("--bootstrap-server", bootstrap, "--entity-type", "topics", "--entity-name", topic)
    tool(CONFIGS, *b, "--alter", "--add-config", "retention.ms=3600000,cleanup.policy=compact")
    out = tool(CONFIGS, *b, "--describe").stdout
    assert f"Dynamic configs for topic {topic} are:" in out, out
    assert re.search(r"retention.ms=3600000 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:retention.ms=3600000",
                     out), out
    assert "cleanup.policy=compact" in out, out

    tool(CONFIGS, *b, "--alter", "--delete-config", "retention.ms")
    out = tool(CONFIGS, *b, "--describe").stdout
    assert "retention.ms" not in out and "cleanup.policy=compact" in out, out

    out = tool(CONFIGS, *b, "--describe", "--all").stdout
    assert f"All configs for topic {topic} are:" in out, out
    assert re.search(r"\bretention.ms=604800000 sensitive=false synonyms=", out), out
    assert "max.message.bytes=1048588" in out, out

    r = tool(CONFIGS, *b, "--alter", "--add-config", "retention.ms=abc", check=False)
    assert r.returncode != 0, r

    # Broker configs, by the broker's id from metadata.
    broker_id = next(iter(ck.admin(bootstrap).list_topics(timeout=10).brokers))
    out = tool(CONFIGS, "--bootstrap-server", bootstrap, "--entity-type", "brokers", "--entity-name",
               str(broker_id), "--describe", "--all").stdout
    assert f"All configs for broker {broker_id} are:" in out, out
    assert re.search(r"\bmessage.max.bytes=1048588\b", out), out


def test_console_producer_and_consumer(bootstrap):
    topic = unique("tools-console")
    ck.create_topic(bootstrap, topic, partitions=3)
    lines = []
    for s in range(6):
        for k in range(5):
            lines.append((f"h1:v{s},h2:x", f"key-{k}", f"value-{k}-{s}"))
    text = "".join(f"{h}\t{k}\t{v}\n" for h, k, v in lines)
    tool(PRODUCER, "--bootstrap-server", bootstrap, "--topic", topic, "--reader-property", "parse.key=true",
         "--reader-property", "parse.headers=true", input=text)

    c = ck.consumer(bootstrap)
    ends = {p: c.get_watermark_offsets(ck.TopicPartition(topic, p), timeout=10)[1] for p in range(3)}
    c.close()
    assert sum(ends.values()) == len(lines), ends
    fmt = [f"--formatter-property=print.{x}=true" for x in ("key", "headers", "offset", "partition")]
    got = []
    for p, n in ends.items():
        if n == 0:
            continue
        out = tool(CONSUMER, "--bootstrap-server", bootstrap, "--topic", topic, "--partition", str(p),
                   "--offset", "earliest", "--max-messages", str(n), "--timeout-ms", "20000", *fmt).stdout
        rows = [line.split("\t") for line in out.splitlines() if line.startswith("Partition:")]
        assert len(rows) == n, out
        for part, off, headers, key, value in rows:
            got.append((int(part.split(":")[1]), int(off.split(":")[1]), headers, key, value))
    assert sorted((h, k, v) for _, _, h, k, v in got) == sorted(lines)
    key_part = {}
    for part, off, _, key, _ in sorted(got, key=lambda g: (g[0], g[1])):
        assert key_part.setdefault(key, part) == part, f"{key} on two partitions"
    for k in range(5):
        seq = [v for part, off, _, key, v in sorted(got, key=lambda g: g[1]) if key == f"key-{k}"]
        assert seq == [f"value-{k}-{s}" for s in range(6)], seq

    # A numeric --offset in the middle of a partition.
    p, n = max(ends.items(), key=lambda kv: kv[1])
    out = tool(CONSUMER, "--bootstrap-server", bootstrap, "--topic", topic, "--partition", str(p), "--offset",
               str(n - 2), "--max-messages", "2", "--timeout-ms", "20000",
               "--formatter-property=print.offset=true").stdout
    assert re.findall(r"Offset:(\d+)", out) == [str(n - 2), str(n - 1)], out


DUMP_BATCH = re.compile(r"^baseOffset: (\d+) lastOffset: (\d+) count: (\d+) .* position: (\d+) "
                        r"CreateTime: (\d+) size: (\d+) magic: 2 compresscodec: (\w+) crc: (\d+) isvalid: (\w+)$")
DUMP_RECORD = re.compile(r"^\| offset: (\d+) CreateTime: (\d+) keySize: (-?\d+) valueSize: (-?\d+) "
                         r"sequence: (-?\d+) headerKeys: \[(.*)\] key: (.*) payload: (.*)$")


def dump_log(path) -> tuple[list[tuple], list[tuple], str]:
    r = tool(DUMP_LOG, "--files", str(path), "--print-data-log")
    batches, records = [], []
    for line in r.stdout.splitlines():
        if m := DUMP_BATCH.match(line):
            batches.append(m.groups())
        elif m := DUMP_RECORD.match(line):
            records.append(m.groups())
    return batches, records, r.stdout + r.stderr


def test_dump_log_on_segment(broker):
    """kafka-dump-log reads the broker's segment: every batch with its offsets, codec and a valid CRC,
    every record with key and payload."""
    requires_control(broker)
    topic = unique("tools-dump")
    ck.create_topic(broker.bootstrap, topic, partitions=1)
    expected = []  # (codec, [records])
    n = 0
    for codec in CODECS:
        # A long linger keeps each codec's five records in one batch even on a loaded machine.
        p = ck.producer(broker.bootstrap, compression_type=codec, linger_ms=2000)
        recs = []
        for i in range(5):
            recs.append(Rec(f"d-{n}", f"k{i}".encode(), f"{codec}-value-{i}".encode(), [("id", f"d-{n}".encode())],
                            BASE_TS + n))
            n += 1
        ck.produce(p, topic, recs)
        expected.append((codec, recs))

    seg = broker.partition_dir(topic, 0) / "00000000000000000000.log"
    assert seg.exists(), f"no segment at {seg}: {sorted(p.name for p in broker.partition_dir(topic, 0).iterdir())}"
    batches, records, out = dump_log(seg)
    assert "isvalid: false" not in out and "Exception" not in out and "Found" not in out, out
    # Each codec's records sit in batches of that codec, in order. librdkafka may still split a group when the
    # producer is descheduled mid-loop, and leaves a batch uncompressed when compressing does not shrink it.
    offset = 0
    remaining = list(batches)
    for codec, recs in expected:
        end = offset + len(recs) - 1
        codecs_seen = []
        while offset <= end:
            assert remaining, f"no batch holds offset {offset}\n{out}"
            b = remaining.pop(0)
            assert int(b[0]) == offset and int(b[1]) <= end and int(b[2]) == int(b[1]) - int(b[0]) + 1, b
            codecs_seen.append(b[6])
            offset = int(b[1]) + 1
        assert codec in codecs_seen and set(codecs_seen) <= {codec, "none"}, (codec, codecs_seen, out)
    assert not remaining, remaining
    assert [int(r[0]) for r in records] == list(range(n)), out
    flat = [r for _, recs in expected for r in recs]
    for rec, got in zip(flat, records):
        assert int(got[1]) == rec.ts
        assert got[5] == "id" and got[6] == rec.key.decode() and got[7] == rec.value.decode(), got
    # Positions and sizes chain: each batch starts where the previous one ended; the file ends at the last.
    pos = 0
    for b in batches:
        assert int(b[3]) == pos, f"batch at {b[3]}, expected {pos}"
        pos += int(b[5])
    assert seg.stat().st_size == pos, f"segment is {seg.stat().st_size} bytes, batches end at {pos}"


def test_dump_log_indexes(own_broker):
    """After a clean shutdown, kafka-dump-log checks the .index and .timeindex entries against the log."""
    b = own_broker()
    topic = unique("tools-index")
    ck.create_topic(b.bootstrap, topic, partitions=1)
    p = ck.producer(b.bootstrap, linger_ms=0, batch_num_messages=1)
    recs = [Rec(f"x-{i}", b"k", f"x-{i};".encode() + bytes(1000), [("id", f"x-{i}".encode())], BASE_TS + i * 10)
            for i in range(200)]
    ck.produce(p, topic, recs)
    del p
    code, secs = b.stop()
    assert code == 0, f"exit code {code} after SIGTERM\n{b.log_tail()}"
    d = b.partition_dir(topic, 0)
    for suffix, entry in ((".index", r"^offset: (\d+) position: (\d+)$"),
                          (".timeindex", r"^timestamp: (\d+) offset: (\d+)$")):
        path = d / f"00000000000000000000{suffix}"
        assert path.exists(), sorted(x.name for x in d.iterdir())
        r = tool(DUMP_LOG, "--files", str(path))
        out = r.stdout + r.stderr
        entries = [m.groups() for m in (re.match(entry, x) for x in r.stdout.splitlines()) if m]
        assert entries, f"no entries in {path.name} (200 x 1 KB records, index.interval.bytes=4096)\n{out}"
        bad = [x for x in out.splitlines() if re.search(r"[Mm]ismatch|out of order|Exception|ERROR|corrupt", x)]
        assert not bad, out
        if suffix == ".index":
            offs = [int(e[0]) for e in entries]
            assert offs == sorted(set(offs)) and offs[-1] < 200, offs
        else:
            ts = [int(e[0]) for e in entries]
            assert ts == sorted(ts) and ts[-1] <= BASE_TS + 1990, ts


def test_kafka_transactions_describe_producers_of_an_idempotent_producer(bootstrap):
    """kafka-transactions describe-producers (DescribeProducers, KIP-664) shows an idempotent producer's id, epoch
    and last sequence, with no coordinator epoch yet and no open transaction; a partition nobody wrote to has none."""
    topic = unique("tools-producers")
    ck.create_topic(bootstrap, topic, partitions=2)
    p = ck.producer(bootstrap, enable_idempotence=True, linger_ms=0)
    ck.produce(p, topic, [Rec(f"i-{i}", b"k", f"v{i}".encode()) for i in range(3)])
    b = ("--bootstrap-server", bootstrap)
    # The default partitioner puts one key in one partition: find which.
    rows_of = {}
    for partition in (0, 1):
        out = tool(TRANSACTIONS, *b, "describe-producers", "--topic", topic, "--partition", str(partition)).stdout
        header, *rows = [line.split() for line in out.splitlines() if line.strip()]
        assert header == ["ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp",
                          "CurrentTransactionStartOffset"], out
        rows_of[partition] = [dict(zip(header, row)) for row in rows]
    assert sorted(len(r) for r in rows_of.values()) == [0, 1], rows_of
    (row,) = [r[0] for r in rows_of.values() if r]
    assert int(row["ProducerId"]) >= 0 and row["ProducerEpoch"] == "0", row
    assert row["LastSequence"] == "2", row
    # Apache Kafka's tool prints the coordinator epoch as -1 before any marker, an absent start offset as None.
    assert row["LatestCoordinatorEpoch"] == "-1" and row["CurrentTransactionStartOffset"] == "None", row
