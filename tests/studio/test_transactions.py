"""Transactions through the studio API, with a real confluent-kafka transactional producer: the transaction list shows
an open transaction with its partitions, producer and timeout, then its commit; the producers endpoint shows each
partition's producers, the open transaction's first offset and the last stable offset held back by it, then released.
Bad input is a 400 naming the field.

Runs against the embedded cluster and against Apache Kafka through `--no-broker`."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from studio_helpers import Studio, unique, until

TIMEOUT_MS = 45_000


@pytest.fixture(params=["embedded", "apache-kafka"])
def any_studio(request) -> Studio:
    if request.param == "apache-kafka":
        return request.getfixturevalue("external_studio")
    return request.getfixturevalue("studio")


def listed(studio: Studio, txn_id: str) -> dict | None:
    body = studio.get("/api/transactions", params={"search": txn_id}).json()
    return next((t for t in body["transactions"] if t["transactional_id"] == txn_id), None)


def test_an_open_transaction_then_its_commit(any_studio: Studio):
    studio = any_studio
    topic = unique("txn")
    r = studio.post("/api/topics", {"name": topic, "partitions": 3, "replication_factor": 1})
    assert r.status_code in (200, 201), r.text
    txn_id = unique("studio-txn")
    p = Producer({"bootstrap.servers": studio.bootstrap, "transactional.id": txn_id,
                  "transaction.timeout.ms": TIMEOUT_MS, "linger.ms": 0})
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(3):
        p.produce(topic, key=b"k", value=f"a{i}".encode(), partition=0)
    for i in range(2):
        p.produce(topic, key=b"k", value=f"b{i}".encode(), partition=1)
    assert p.flush(30) == 0

    t = until("the open transaction to be listed", lambda: (x := listed(studio, txn_id)) and x["state"] == "Ongoing" and x)
    assert {(x["topic"], x["partition"]) for x in t["partitions"]} == {(topic, 0), (topic, 1)}, t
    assert t["timeout_ms"] == TIMEOUT_MS and t["producer_epoch"] is not None and t["producer_id"] >= 0, t
    assert t["open_for_ms"] is not None and 0 <= t["open_for_ms"] < 60_000, t
    assert isinstance(t["coordinator"], int) and t["error"] is None, t

    parts = {x["partition"]: x for x in studio.get(f"/api/topics/{topic}/producers").json()["partitions"]}
    assert set(parts) == {0, 1, 2}
    ours = [x for x in parts[0]["producers"] if x["producer_id"] == t["producer_id"]]
    assert len(ours) == 1 and ours[0]["open_txn_start_offset"] == 0, parts[0]
    assert parts[0]["high_watermark"] == 3 and parts[0]["last_stable_offset"] == 0, parts[0]
    assert parts[1]["high_watermark"] == 2 and parts[1]["last_stable_offset"] == 0, parts[1]
    assert parts[2]["producers"] == [] and parts[2]["last_stable_offset"] == parts[2]["high_watermark"] == 0, parts[2]

    p.commit_transaction(30)
    until("the commit to complete", lambda: (x := listed(studio, txn_id)) and x["state"] == "CompleteCommit")
    # The markers take an offset each: the high watermark moves past them and nothing holds the LSO back.
    def released():
        ps = {x["partition"]: x for x in studio.get(f"/api/topics/{topic}/producers").json()["partitions"]}
        return all(ps[i]["last_stable_offset"] == ps[i]["high_watermark"] for i in (0, 1)) and ps
    ps = until("the last stable offsets to reach the high watermarks", released)
    assert (ps[0]["high_watermark"], ps[1]["high_watermark"]) == (4, 3), ps
    ours = [x for x in ps[0]["producers"] if x["producer_id"] == t["producer_id"]]
    assert ours and ours[0]["open_txn_start_offset"] is None, ps[0]

    only = studio.get("/api/transactions", params={"state": "completecommit"}).json()["transactions"]
    assert txn_id in {x["transactional_id"] for x in only} and all(x["state"] == "CompleteCommit" for x in only)


def test_bad_input_names_the_field(any_studio: Studio):
    r = any_studio.get("/api/transactions", params={"state": "Open"})
    assert r.status_code == 400, r.text
    assert r.json()["message"].startswith("state: must be one of Ongoing"), r.text
    r = any_studio.get("/api/topics/no-such-topic-here/producers")
    assert r.status_code == 404, r.text
    r = any_studio.get("/api/topics/bad name!/producers")
    assert r.status_code == 400, r.text
