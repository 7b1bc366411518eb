"""The studio alone against Apache Kafka: `oxbow serve --no-broker --bootstrap-servers …`. Everything that works
over the Kafka protocol works; inside-view fields are null."""

from __future__ import annotations

import json
import time

import websocket
from confluent_kafka import Producer

from studio_helpers import Studio, unique


def test_external_cluster_overview(external_studio: Studio):
    c = external_studio.get("/api/cluster").json()
    assert c["mode"] == "external" and c["inside_view"] is False
    assert c["data_size_bytes"] is None and c["profile"] == "default"
    assert len(c["brokers"]) == 1 and c["cluster_id"]
    m = external_studio.get("/api/metrics").json()
    assert m["available"] is False and m["reason"]
    assert external_studio.get("/api/charts/throughput.svg").status_code == 200


def test_external_topics_configs_produce_browse(external_studio: Studio):
    s = external_studio
    name = unique("ext")
    r = s.post("/api/topics", {"name": name, "partitions": 3, "replication_factor": 1, "configs": {"retention.ms": "600000"}})
    assert r.status_code == 201, r.text
    assert s.post("/api/topics", {"name": name}).json()["kafka_error"] == "TOPIC_ALREADY_EXISTS"
    r = s.post("/api/topics", {"name": unique("bad"), "configs": {"retention.ms": "soon"}})
    assert r.status_code == 400 and r.json()["kafka_error"] == "INVALID_CONFIG", r.text
    for i in range(12):
        key = f"key-{i}"
        landed = s.post(f"/api/topics/{name}/messages", {"key": key, "value": json.dumps({"i": i})}).json()
        expected = s.get("/api/partitioner", params={"key": key, "partitions": 3}).json()
        assert landed["results"][0]["partition"] == expected["librdkafka_consistent_random"]
    d = s.get(f"/api/topics/{name}").json()
    assert sum(p["high_watermark"] - p["log_start_offset"] for p in d["partitions"]) == 12
    assert all(p["segments"] is None and p["log_end_offset"] is None for p in d["partitions"])
    assert d["configs_summary"]["retention.ms"] == "600000"
    listed = {t["name"]: t for t in s.get("/api/topics").json()}
    assert listed[name]["record_count"] == 12 and listed[name]["size_bytes"] is None
    page = s.get(f"/api/topics/{name}/messages", params={"scope": "oldest", "limit": 100, "value_decoder": "json"}).json()
    assert sorted(json.loads(m["value"]["decoded"])["i"] for m in page["messages"]) == list(range(12))
    page = s.get(f"/api/topics/{name}/messages", params={"limit": 5}).json()
    assert len(page["messages"]) == 5
    r = s.patch(f"/api/topics/{name}/configs", {"set": {"retention.ms": "120000"}})
    assert r.status_code == 200, r.text
    assert {c["name"]: c for c in r.json()}["retention.ms"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    r = s.post(f"/api/topics/{name}/partitions", {"count": 4})
    assert r.status_code == 200 and len(r.json()["partitions"]) == 4, r.text
    assert s.delete(f"/api/topics/{name}").status_code == 204


def test_external_tail(external_studio: Studio):
    s = external_studio
    name = unique("exttail")
    assert s.post("/api/topics", {"name": name, "partitions": 2}).status_code == 201
    ws = websocket.WebSocket()
    ws.connect(f"ws://{s.host}/api/ws?token={s.token}", origin=f"http://{s.host}", timeout=10)
    try:
        ws.send(json.dumps({"type": "tail", "topic": name}))
        while json.loads(ws.recv())["type"] != "subscribed":
            pass
        time.sleep(1.5)
        p = Producer({"bootstrap.servers": s.bootstrap})
        for i in range(10):
            p.produce(name, value=f"e{i}".encode())
        assert p.flush(15) == 0
        rows = []
        deadline = time.monotonic() + 20
        while len(rows) < 10 and time.monotonic() < deadline:
            ws.settimeout(max(0.1, deadline - time.monotonic()))
            m = json.loads(ws.recv())
            if m["type"] == "rows":
                rows.extend(m["rows"])
        assert sorted(r["value"]["decoded"] for r in rows) == sorted(f"e{i}" for i in range(10))
    finally:
        ws.close()
