"""kcat (Debian 12's kcat 1.7.1 on librdkafka 2.0.2), run as a subprocess.

kcat cannot create topics, alter configs or delete topics: those steps use confluent-kafka's AdminClient
(the same librdkafka family) and are covered for librdkafka in test_confluent_kafka.py. kcat cannot set
per-record timestamps either: ListOffsets by time is driven by kcat (-Q and -o s@) on records produced
with explicit timestamps by confluent-kafka.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

import ck
from conftest import unique
from support import BASE_TS, CODECS, LARGE, TOO_LARGE, Rec

KCAT = shutil.which("kcat") or shutil.which("kafkacat")


@pytest.fixture(autouse=True, scope="module")
def _kcat_installed():
    if KCAT is None:
        pytest.fail("kcat not installed: run scripts/setup-test-deps.sh", pytrace=False)
FMT = r"%p\t%o\t%K\t%k\t%s\t%h\t%T\n"


def kcat(bootstrap, *args, input: bytes | None = None, timeout=60, check=True) -> subprocess.CompletedProcess:
    r = subprocess.run([KCAT, "-b", bootstrap, "-m", "15", *args], input=input, capture_output=True,
                       timeout=timeout)
    if check:
        assert r.returncode == 0, f"kcat {' '.join(args)} exited {r.returncode}: {r.stderr.decode(errors='replace')}"
    return r


def consume(bootstrap, topic, *extra) -> list[dict]:
    """All records from the beginning (-o beginning -e), parsed from a -f format line per record."""
    r = kcat(bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", FMT, *extra)
    out = []
    for line in r.stdout.decode().splitlines():
        p, o, klen, k, v, h, ts = line.split("\t")
        out.append({"partition": int(p), "offset": int(o), "key": None if klen == "-1" else k, "value": v,
                    "headers": h, "ts": int(ts)})
    return out


def check_stream(sent: list[tuple[str | None, str]], got: list[dict], headers: str, t0: int, t1: int):
    """Every line once, keys on one partition each and in order, headers and producer timestamps."""
    assert sorted(v for _, v in sent) == sorted(g["value"] for g in got), "values differ"
    by_value = {g["value"]: g for g in got}
    assert len(by_value) == len(got), "a record was consumed twice"
    key_part: dict[str, int] = {}
    key_last: dict[str, int] = {}
    for key, value in sent:
        g = by_value[value]
        assert g["key"] == key, f"{value}: key {g['key']!r} != {key!r}"
        assert g["headers"] == headers, f"{value}: headers {g['headers']!r} != {headers!r}"
        assert t0 - 1000 <= g["ts"] <= t1 + 1000, f"{value}: timestamp {g['ts']} not within [{t0}, {t1}]"
        if key is not None:
            assert key_part.setdefault(key, g["partition"]) == g["partition"], f"key {key} on two partitions"
            assert key_last.get(key, -1) < g["offset"], f"key {key} out of order"
            key_last[key] = g["offset"]


def lines_for(tag: str, n_keys=5, per_key=10, keyless=10) -> list[tuple[str | None, str]]:
    out: list[tuple[str | None, str]] = []
    for s in range(per_key):
        for k in range(n_keys):
            out.append((f"key-{k}", f"{tag}-k{k}-s{s}-{'x' * s}"))
    out += [(None, f"{tag}-nokey-{i}") for i in range(keyless)]
    out.append(("", f"{tag}-emptykey"))
    return out


def to_input(lines) -> bytes:
    # -K '\t': "key<TAB>value"; a line without the delimiter is produced with a null key.
    return "".join(f"{v}\n" if k is None else f"{k}\t{v}\n" for k, v in lines).encode()


def test_metadata(bootstrap):
    topic = unique("kcat-meta")
    ck.create_topic(bootstrap, topic, partitions=3)
    out = kcat(bootstrap, "-L", "-t", topic).stdout.decode()
    assert f'topic "{topic}" with 3 partitions:' in out, out
    md = json.loads(kcat(bootstrap, "-L", "-J").stdout)
    # One broker for Apache Kafka as the tests start it, three for `oxbow serve` by default.
    brokers = {b["id"]: b["name"] for b in md["brokers"]}
    assert f"{len(brokers)} brokers:" in out and f"at {bootstrap}" in out, out
    assert bootstrap in brokers.values()
    topics = {t["topic"]: t for t in md["topics"]}
    assert len(topics[topic]["partitions"]) == 3
    assert all(p["leader"] in brokers for p in topics[topic]["partitions"])


def test_produce_consume_keys_headers(bootstrap):
    topic = unique("kcat-roundtrip")
    ck.create_topic(bootstrap, topic, partitions=3)
    lines = lines_for("rt")
    t0 = int(time.time() * 1000)
    kcat(bootstrap, "-P", "-t", topic, "-K", r"\t", "-H", "h1=v1", "-H", "dup=a", "-H", "dup=b", "-H", "empty=",
         input=to_input(lines))
    t1 = int(time.time() * 1000)
    got = consume(bootstrap, topic)
    check_stream(lines, got, "h1=v1,dup=a,dup=b,empty=", t0, t1)
    assert len({g["partition"] for g in got}) > 1, "all keys on one partition"
    # The JSON envelope agrees (headers as a flat list, null key for key-less lines).
    js = [json.loads(x) for x in kcat(bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-J")
          .stdout.decode().splitlines()]
    assert len(js) == len(lines)
    assert all(j["headers"] == ["h1", "v1", "dup", "a", "dup", "b", "empty", ""] for j in js)
    assert all(j["tstype"] == "create" for j in js)
    assert sum(1 for j in js if j["key"] is None) == sum(1 for k, _ in lines if k is None)


@pytest.mark.parametrize("codec", CODECS)
def test_compression(bootstrap, codec):
    topic = unique(f"kcat-codec-{codec}")
    ck.create_topic(bootstrap, topic, partitions=2)
    lines = lines_for(codec, n_keys=4, per_key=30, keyless=20)
    t0 = int(time.time() * 1000)
    kcat(bootstrap, "-P", "-t", topic, "-K", r"\t", "-H", "codec=" + codec, "-X", f"compression.codec={codec}",
         "-X", "linger.ms=50", input=to_input(lines))
    t1 = int(time.time() * 1000)
    check_stream(lines, consume(bootstrap, topic), "codec=" + codec, t0, t1)


def test_idempotent_producer(bootstrap):
    topic = unique("kcat-idempotent")
    ck.create_topic(bootstrap, topic, partitions=3)
    lines = lines_for("idem", n_keys=20, per_key=50, keyless=0)
    t0 = int(time.time() * 1000)
    kcat(bootstrap, "-P", "-t", topic, "-K", r"\t", "-X", "enable.idempotence=true", "-X", "acks=all",
         input=to_input(lines))
    got = consume(bootstrap, topic)
    check_stream(lines, got, "", t0, int(time.time() * 1000))
    for p in {g["partition"] for g in got}:
        offs = sorted(g["offset"] for g in got if g["partition"] == p)
        assert offs == list(range(len(offs))), f"partition {p}: offsets {offs[:10]}..."


def test_large_and_over_limit_records(bootstrap, tmp_path):
    topic = unique("kcat-large")
    ck.create_topic(bootstrap, topic, partitions=1)
    big = tmp_path / "big"
    big.write_bytes(bytes((i * 31 + 7) & 0xFF for i in range(LARGE)))
    kcat(bootstrap, "-P", "-t", topic, "-k", "big", str(big))  # a file argument is sent as one message
    r = kcat(bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s")
    assert r.stdout == big.read_bytes()
    too_big = tmp_path / "too-big"
    too_big.write_bytes(b"\x01" * TOO_LARGE)
    # Lift librdkafka's client-side limit so that the broker's message.max.bytes refuses it.
    r = kcat(bootstrap, "-P", "-t", topic, "-X", "message.max.bytes=5000000", str(too_big), check=False)
    assert r.returncode != 0, "a 1,100,000-byte message was accepted"
    assert b"Message size too large" in r.stderr, r.stderr


def test_offsets_by_timestamp(bootstrap):
    topic = unique("kcat-times")
    ck.create_topic(bootstrap, topic, partitions=1)
    ck.produce(ck.producer(bootstrap), topic,
               [Rec(f"t-{i}", None, f"t-{i}".encode(), [("id", f"t-{i}".encode())], BASE_TS + i * 1000)
                for i in range(10)])
    r = kcat(bootstrap, "-Q", "-t", f"{topic}:0:{BASE_TS + 5000}")
    assert f"{topic} [0] offset 5" in r.stdout.decode(), r.stdout
    r = kcat(bootstrap, "-Q", "-t", f"{topic}:0:{BASE_TS + 4500}")
    assert f"{topic} [0] offset 5" in r.stdout.decode(), r.stdout
    got = consume(bootstrap, topic, "-o", f"s@{BASE_TS + 7000}")
    assert [g["offset"] for g in got] == [7, 8, 9]
    assert [g["ts"] for g in got] == [BASE_TS + 7000, BASE_TS + 8000, BASE_TS + 9000]
    got = kcat(bootstrap, "-C", "-t", topic, "-o", "beginning", "-o", f"e@{BASE_TS + 3000}", "-q", "-f", "%o\n")
    assert got.stdout.decode().split() == ["0", "1", "2"]


def test_auto_create_on_produce(bootstrap):
    """kcat -P to a topic that does not exist: Metadata auto-creates it (num.partitions=1)."""
    topic = unique("kcat-auto")
    kcat(bootstrap, "-P", "-t", topic, input=b"one\ntwo\n")
    assert f'topic "{topic}" with 1 partitions:' in kcat(bootstrap, "-L", "-t", topic).stdout.decode()
    assert [g["value"] for g in consume(bootstrap, topic)] == ["one", "two"]
