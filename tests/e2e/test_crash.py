"""Crash and recovery: clean restart, kill -9 during an idempotent produce stream, and a damaged segment
tail (truncated mid-batch, or overwritten with garbage). Each test runs its own broker on its own data dir
(skipped with OXBOW_TEST_BOOTSTRAP)."""

from __future__ import annotations

import random
import threading

import pytest
import ck
from conftest import TARGET, unique, wait_until
from support import BASE_TS, Rec, by_partition, record_id, sample_records, scan_segment, verify

pytestmark = pytest.mark.control


def test_sigterm_exits_cleanly_and_restart_keeps_everything(own_broker):
    b = own_broker()
    topic = unique("crash-clean")
    ck.create_topic(b.bootstrap, topic, partitions=3)
    recs = sample_records("clean")
    acked = ck.produce(ck.producer(b.bootstrap), topic, recs)
    code, secs = b.stop()
    assert code == 0, f"exit code {code} after SIGTERM\n{b.log_tail()}"
    assert secs < 5, f"took {secs:.1f} s to exit after SIGTERM"
    b.start()
    verify(recs, ck.consume_all(b.bootstrap, topic), acked)
    more = sample_records("clean2", keys=3, per_key=2, keyless=2)
    acked2 = ck.produce(ck.producer(b.bootstrap), topic, more)
    ends = {p: max(o for q, o in acked.values() if q == p) for p, _ in acked.values()}
    for rid, (p, o) in acked2.items():
        assert o > ends.get(p, -1), f"{rid} got offset {o} in partition {p}, at or below the old end {ends.get(p)}"
    verify(recs + more, ck.consume_all(b.bootstrap, topic), {**acked, **acked2})


def test_kill9_during_idempotent_stream_loses_and_duplicates_nothing(own_broker):
    b = own_broker()
    topic = unique("crash-kill9")
    ck.create_topic(b.bootstrap, topic, partitions=3)
    p = ck.producer(b.bootstrap, enable_idempotence=True, acks="all", linger_ms=2, batch_num_messages=100,
                    message_timeout_ms=60000)
    acked: dict[str, tuple[int, int]] = {}
    sent: dict[str, int] = {}
    stop = threading.Event()
    lock = threading.Lock()

    def on_delivery(rid, err, msg):
        if err is None:
            with lock:
                acked[rid] = (msg.partition(), msg.offset())

    def stream():
        i = 0
        while not stop.is_set():
            rid = f"s-{i}"
            try:
                p.produce(topic, key=f"k{i % 12}".encode(), value=f"{rid};{i};".encode() + bytes(100),
                          headers=[("id", rid.encode())],
                          on_delivery=lambda err, msg, rid=rid: on_delivery(rid, err, msg))
                sent[rid] = i
                i += 1
            except BufferError:
                pass
            p.poll(0.001 if i % 100 == 0 else 0)

    t = threading.Thread(target=stream, daemon=True)
    t.start()
    wait_until(lambda: len(acked) >= 3000, timeout=60, interval=0.01, what="3000 acknowledged records")
    b.kill9()
    stop.set()
    t.join(10)
    p.purge()  # nothing more can be acknowledged by a dead broker; fail everything still queued
    p.flush(10)
    n_acked = len(acked)
    assert n_acked >= 3000

    b.start()
    got = ck.consume_all(b.bootstrap, topic)
    where = {record_id(g): (g.partition, g.offset) for g in got}
    assert len(where) == len(got), "a record is stored twice after the restart"
    lost = [rid for rid in acked if rid not in where]
    assert not lost, f"{len(lost)} acknowledged records lost after kill -9, e.g. {lost[:5]}"
    moved = [(rid, acked[rid], where[rid]) for rid in acked if acked[rid] != where[rid]]
    assert not moved, f"acknowledged records at other offsets after the restart: {moved[:5]}"
    for part, rows in by_partition(got).items():
        seqs = [sent[record_id(g)] for g in rows]
        assert seqs == sorted(seqs), f"partition {part}: records out of send order after the restart"

    # The broker takes new writes after the restart, from a new idempotent producer.
    p2 = ck.producer(b.bootstrap, enable_idempotence=True)
    more = [Rec(f"after-{i}", f"k{i % 12}".encode(), f"after-{i};".encode(), [("id", f"after-{i}".encode())],
                BASE_TS + i) for i in range(100)]
    acked2 = ck.produce(p2, topic, more)
    ends = {part: rows[-1].offset for part, rows in by_partition(got).items()}
    assert all(o > ends.get(part, -1) for part, o in acked2.values())
    got2 = ck.consume_all(b.bootstrap, topic)
    assert len(got2) == len(got) + len(more)


def _fill_batches(b, topic, batches: int, per_batch: int) -> list[Rec]:
    """Produces `batches` batches of `per_batch` records each (flush after each batch)."""
    p = ck.producer(b.bootstrap, linger_ms=1000, batch_num_messages=per_batch)
    recs = []
    for n in range(batches):
        chunk = [Rec(f"b{n}-{i}", f"k{i % 3}".encode(), f"b{n}-{i};".encode() + bytes([n]) * 100,
                     [("id", f"b{n}-{i}".encode())], BASE_TS + n * 100 + i) for i in range(per_batch)]
        ck.produce(p, topic, chunk)
        recs += chunk
    return recs


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
@pytest.mark.parametrize("stop_with", ["kill9", "sigterm"])
def test_damaged_segment_tail_is_cut_back_to_the_last_valid_batch(own_broker, damage, stop_with):
    if stop_with == "sigterm" and TARGET == "kafka":
        pytest.xfail("Apache Kafka trusts its segments after a clean shutdown (.kafka_cleanshutdown) and skips "
                     "recovery, so damage done while it is stopped goes unnoticed")
    b = own_broker()
    topic = unique(f"crash-{damage}")
    ck.create_topic(b.bootstrap, topic, partitions=1)
    batches, per_batch = 20, 10
    recs = _fill_batches(b, topic, batches, per_batch)
    if stop_with == "kill9":
        b.kill9()
    else:
        code, _ = b.stop()
        assert code == 0, b.log_tail()

    (seg,) = b.segments(topic, 0)
    data = seg.read_bytes()
    found = scan_segment(data)
    # Batches chain from offset 0 to the last record. (Usually one per flush; a loaded machine may make
    # librdkafka split one, so the damage is placed by what is on disk, not by what was intended.)
    assert found and found[0].base_offset == 0, found
    assert all(b.base_offset == a.last_offset + 1 for a, b in zip(found, found[1:])), found
    assert found[-1].last_offset == len(recs) - 1, found
    last = found[-1]
    assert last.position + last.size == len(data)
    if damage == "truncate":
        cut = last.position + last.size // 2
        with open(seg, "r+b") as f:
            f.truncate(cut)
    else:
        rng = random.Random(42)
        start = last.position + 40  # inside the CRC-covered part of the last batch, to the end of the file
        with open(seg, "r+b") as f:
            f.seek(start)
            f.write(bytes(rng.randrange(256) for _ in range(len(data) - start)))

    b.start()
    kept = recs[: last.base_offset]
    got = ck.consume_all(b.bootstrap, topic)
    verify(kept, got)
    assert [g.offset for g in got] == list(range(len(kept)))

    # New writes continue right after the last valid batch and read back with the old ones.
    more = [Rec(f"new-{i}", b"k", f"new-{i};".encode(), [("id", f"new-{i}".encode())], BASE_TS + 10_000 + i)
            for i in range(5)]
    acked = ck.produce(ck.producer(b.bootstrap), topic, more)
    assert sorted(o for _, o in acked.values()) == list(range(len(kept), len(kept) + 5)), acked
    got = ck.consume_all(b.bootstrap, topic)
    verify(kept + more, got)
    assert [g.offset for g in got] == list(range(len(kept) + 5))
