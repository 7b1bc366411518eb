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


def test_external_consumer_groups(external_studio: Studio):
    """Groups against Apache Kafka: list and detail with lag, reset preview and execute, deletes refused while the
    group is active, then topic offsets (OffsetDelete) and the group itself (DeleteGroups) deleted."""
    from studio_helpers import GroupConsumer, produce_to_partitions, until

    s = external_studio
    topic = unique("extg")
    assert s.post("/api/topics", {"name": topic, "partitions": 2, "replication_factor": 1}).status_code == 201
    other = unique("extg-other")
    assert s.post("/api/topics", {"name": other, "partitions": 1, "replication_factor": 1}).status_code == 201
    produce_to_partitions(s.bootstrap, topic, {0: 8, 1: 8})
    produce_to_partitions(s.bootstrap, other, {0: 3})
    group = unique("extg")
    consumer = GroupConsumer(s.bootstrap, group, [topic, other]).start()
    try:
        assert len(consumer.read(19)) == 19
        consumer.commit(topic, {0: 2, 1: 8})
        consumer.commit(other, {0: 1})
        g = until("the group listed with lag 8", lambda: (x := next(
            (x for x in s.get("/api/groups", params={"search": group}).json()["groups"] if x["group_id"] == group),
            None)) and x["total_lag"] == 8 and x)
        assert g["state"] == "Stable" and g["members"] == 1 and g["group_type"] == "classic"
        assert g["topics"] == sorted([topic, other]) and g["partitions"] == 3
        d = s.get(f"/api/groups/{group}").json()
        assert {(p["topic"], p["partition"]): (p["committed_offset"], p["high_watermark"], p["lag"])
                for p in d["partitions"]} == {(topic, 0): (2, 8, 6), (topic, 1): (8, 8, 0), (other, 0): (1, 3, 2)}
        assert d["members"][0]["client_id"] == "studio-test-consumer" and len(d["members"][0]["assignment"]) == 3
        assert d["coordinator"]["id"] == s.get("/api/cluster").json()["brokers"][0]["id"]

        r = s.post(f"/api/groups/{group}/offsets/reset", {"strategy": "earliest"})
        assert r.status_code == 409 and "Stable" in r.json()["message"], r.text
        r = s.delete(f"/api/groups/{group}")
        assert r.status_code == 409 and r.json()["kafka_error"] == "NON_EMPTY_GROUP", r.text
    finally:
        consumer.close()
    until("the group to empty", lambda: s.get(f"/api/groups/{group}").json()["state"] == "Empty")

    preview = s.post(f"/api/groups/{group}/offsets/reset",
                     {"topics": [{"topic": topic}], "strategy": "shift", "shift_by": -2}).json()
    assert [(p["partition"], p["current_offset"], p["new_offset"]) for p in preview["partitions"]] == [(0, 2, 0), (1, 8, 6)]
    assert preview["applied"] is False
    assert s.get(f"/api/groups/{group}").json()["total_lag"] == 8, "a dry run changes nothing"
    r = s.post(f"/api/groups/{group}/offsets/reset",
               {"topics": [{"topic": topic}], "strategy": "shift", "shift_by": -2, "dry_run": False})
    assert r.status_code == 200 and r.json()["applied"] is True, r.text
    d = s.get(f"/api/groups/{group}").json()
    assert {(p["topic"], p["partition"]): p["committed_offset"] for p in d["partitions"]} == \
        {(topic, 0): 0, (topic, 1): 6, (other, 0): 1}
    assert d["total_lag"] == 8 + 2 + 2

    # OffsetDelete: the other topic's offsets go, the group stays.
    import requests
    r = requests.delete(f"{s.base}/api/groups/{group}/offsets", params={"topic": other}, headers=s.headers(), timeout=60)
    assert r.status_code == 204, r.text
    d = s.get(f"/api/groups/{group}").json()
    assert {p["topic"] for p in d["partitions"]} == {topic}
    r = requests.delete(f"{s.base}/api/groups/{group}/offsets", params={"topic": other}, headers=s.headers(), timeout=60)
    assert r.status_code == 404, r.text
    # DeleteGroups: gone.
    assert s.delete(f"/api/groups/{group}").status_code == 204
    assert s.get(f"/api/groups/{group}").status_code == 404
    until("the group to leave the list",
          lambda: all(x["group_id"] != group for x in s.get("/api/groups", params={"search": group}).json()["groups"]))
    timeline = s.get(f"/api/groups/{unique('nope')}/timeline")
    assert timeline.status_code == 404


def test_external_kip848_group_is_listed_with_its_type(external_studio: Studio):
    """A consumer with group.protocol=consumer (KIP-848) on Apache Kafka 4: the studio lists it as a `consumer`
    group and describes its member and assignment."""
    from confluent_kafka import Consumer
    from studio_helpers import produce_to_partitions, until

    s = external_studio
    topic = unique("ext848")
    assert s.post("/api/topics", {"name": topic, "partitions": 2, "replication_factor": 1}).status_code == 201
    produce_to_partitions(s.bootstrap, topic, {0: 2, 1: 2})
    group = unique("ext848")
    c = Consumer({"bootstrap.servers": s.bootstrap, "group.id": group, "group.protocol": "consumer",
                  "client.id": "kip848-consumer", "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    try:
        deadline = time.monotonic() + 60
        while not c.assignment() and time.monotonic() < deadline:
            c.poll(0.2)
        assert c.assignment(), "no assignment"
        g = until("the KIP-848 group listed", lambda: next(
            (x for x in s.get("/api/groups", params={"search": group}).json()["groups"] if x["group_id"] == group),
            None))
        assert g["group_type"] == "consumer"
        d = until("its member described", lambda: (x := s.get(f"/api/groups/{group}").json()) and x["members"] and x)
        assert d["group_type"] == "consumer" and d["members"][0]["client_id"] == "kip848-consumer"
        assert sorted(a["partition"] for a in d["members"][0]["assignment"]) == [0, 1]
    finally:
        c.close()
