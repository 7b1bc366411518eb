"""The studio WebSocket: live tail of records produced by a Kafka client, metrics and offsets pushes, auth."""

from __future__ import annotations

import json
import time

import pytest
import websocket
from confluent_kafka import Producer

from studio_helpers import Studio, unique


def connect(studio: Studio, token: str | None = None, origin: str | None = None) -> websocket.WebSocket:
    url = f"ws://{studio.host}/api/ws?token={token if token is not None else studio.token}"
    ws = websocket.WebSocket()
    ws.connect(url, origin=origin or f"http://{studio.host}", timeout=10)
    return ws


def receive_until(ws: websocket.WebSocket, predicate, timeout: float = 15.0) -> list[dict]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            message = json.loads(ws.recv())
        except websocket.WebSocketTimeoutException:
            break
        seen.append(message)
        if predicate(message):
            return seen
    raise AssertionError(f"expected message did not arrive; saw {seen[-5:]}")


def test_ws_needs_token_and_same_origin(studio: Studio):
    for token in ("", "wrong"):
        with pytest.raises(websocket.WebSocketBadStatusException) as e:
            connect(studio, token=token)
        assert e.value.status_code == 401
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        connect(studio, origin="http://evil.example")
    assert e.value.status_code == 403


def test_tail_receives_records_produced_afterwards(studio: Studio):
    name = studio.create_topic(partitions=3)
    ws = connect(studio)
    try:
        ws.send(json.dumps({"type": "tail", "id": "t1", "topic": name, "partitions": None, "value_decoder": "json"}))
        sub = receive_until(ws, lambda m: m["type"] == "subscribed")[-1]
        assert sub["kind"] == "tail" and sub["client_id"] == "t1"
        time.sleep(1.0)  # the tail starts at the end: give its assignment a moment
        p = Producer({"bootstrap.servers": studio.bootstrap, "linger.ms": 5})
        for i in range(50):
            p.produce(name, key=f"k{i}".encode(), value=json.dumps({"i": i}).encode(), headers=[("src", b"kafka-client")])
        assert p.flush(15) == 0
        rows = []
        def got_all(m):
            if m["type"] == "rows" and m["id"] == sub["id"]:
                rows.extend(m["rows"])
            return len(rows) >= 50
        receive_until(ws, got_all)
        assert sorted(json.loads(r["value"]["decoded"])["i"] for r in rows) == list(range(50))
        assert all(r["headers"][0]["value_string"] == "kafka-client" for r in rows)
        # Per key, offsets increase (same key, same partition, in order).
        by_key = {}
        for r in rows:
            by_key.setdefault(r["key"]["decoded"], set()).add(r["partition"])
        assert all(len(parts) == 1 for parts in by_key.values())
        ws.send(json.dumps({"type": "stop", "id": sub["id"]}))
        receive_until(ws, lambda m: m["type"] == "stopped" and m["id"] == sub["id"])
    finally:
        ws.close()


def test_tail_filter_and_partition_selection(studio: Studio):
    name = studio.create_topic(partitions=2)
    ws = connect(studio)
    try:
        ws.send(json.dumps({"type": "tail", "topic": name, "partitions": [1], "filter": "keep"}))
        sub = receive_until(ws, lambda m: m["type"] == "subscribed")[-1]
        time.sleep(1.0)
        for partition, value in [(0, "keep-0"), (1, "drop-1"), (1, "keep-1")]:
            studio.post(f"/api/topics/{name}/messages", {"value": value, "partition": partition})
        rows = []
        def got(m):
            if m["type"] == "rows" and m["id"] == sub["id"]:
                rows.extend(m["rows"])
            return len(rows) >= 1
        receive_until(ws, got)
        time.sleep(0.5)
        assert [r["value"]["decoded"] for r in rows] == ["keep-1"]
    finally:
        ws.close()


def test_metrics_and_offsets_pushes(studio: Studio):
    name = studio.create_topic(partitions=2)
    ws = connect(studio)
    try:
        ws.send(json.dumps({"type": "metrics"}))
        ws.send(json.dumps({"type": "offsets", "topic": name}))
        messages = receive_until(ws, lambda m: m["type"] == "offsets")
        assert any(m["type"] == "subscribed" and m["kind"] == "metrics" for m in messages)
        offsets = messages[-1]
        assert offsets["topic"] == name and [p["partition"] for p in offsets["partitions"]] == [0, 1]
        studio.post(f"/api/topics/{name}/messages", {"value": "x", "partition": 1, "count": 5})
        receive_until(ws, lambda m: m["type"] == "offsets" and m["partitions"][1]["high_watermark"] == 5)
        receive_until(ws, lambda m: m["type"] == "metrics" and m["metrics"]["available"] is True)
    finally:
        ws.close()


def test_bad_ws_messages_get_errors_not_disconnects(studio: Studio):
    ws = connect(studio)
    try:
        for message in ["not json", json.dumps({"type": "dance"}), json.dumps({"type": "tail", "topic": unique("absent")}),
                        json.dumps({"type": "tail", "topic": "x", "key_decoder": "avro"}), json.dumps({"type": "stop", "id": 999})]:
            ws.send(message)
            reply = receive_until(ws, lambda m: m["type"] == "error")[-1]
            assert reply["message"]
        ws.send(json.dumps({"type": "metrics"}))
        receive_until(ws, lambda m: m["type"] == "subscribed")
    finally:
        ws.close()


def test_slow_client_gets_drops_reported_not_unbounded_memory(studio: Studio):
    """A client that stops reading while records pour in: the server keeps a bounded buffer, drops the rest and
    says how many; every produced record is either delivered or counted as dropped (or the slow socket is closed)."""
    name = studio.create_topic(partitions=1)
    ws = connect(studio)
    total = 30_000
    try:
        ws.send(json.dumps({"type": "tail", "topic": name}))
        sub = receive_until(ws, lambda m: m["type"] == "subscribed")[-1]
        time.sleep(1.0)
        p = Producer({"bootstrap.servers": studio.bootstrap, "linger.ms": 20, "queue.buffering.max.messages": 100_000})
        for i in range(total):
            p.produce(name, value=b"v" * 512)
            if i % 10_000 == 0:
                p.poll(0)
        assert p.flush(30) == 0
        time.sleep(3.0)  # not reading: the server must not buffer all of it
        delivered = dropped = 0
        deadline = time.monotonic() + 30
        try:
            while delivered + dropped < total and time.monotonic() < deadline:
                ws.settimeout(5)
                m = json.loads(ws.recv())
                if m["type"] == "rows" and m["id"] == sub["id"]:
                    delivered += len(m["rows"])
                    dropped += m["dropped"]
        except (websocket.WebSocketConnectionClosedException, websocket.WebSocketTimeoutException):
            pass  # closing a slow socket is allowed
        assert delivered + dropped <= total
        if delivered + dropped < total:
            # Only a closed socket may account for fewer rows.
            with pytest.raises((websocket.WebSocketConnectionClosedException, websocket.WebSocketTimeoutException, OSError)):
                ws.settimeout(2)
                while True:
                    json.loads(ws.recv())
        else:
            assert dropped > 0, "30,000 rows without reading should overflow the 5,000-row buffer"
    finally:
        ws.close()
