"""The studio HTTP API against a real `oxbow serve` (embedded broker): security checks, topics, configs,
partitions, produce, browse, decoders, filters, the partitioner, profiles, metrics and the UI."""

from __future__ import annotations

import base64
import json
import os
import stat
import struct
import time
import zlib

import requests

from studio_helpers import Studio, unique


def error_of(r: requests.Response) -> dict:
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert set(body) >= {"error_code", "message"}, body
    return body


# -- security ------------------------------------------------------------------------------------------------

def test_api_needs_the_token_and_does_nothing_without_it(studio: Studio):
    name = unique("noauth")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {studio.token}"},
                    {"Authorization": f"Bearer {studio.token}x"}):
        r = requests.get(studio.base + "/api/cluster", headers=headers, timeout=10)
        assert r.status_code == 401, (headers, r.text)
        assert error_of(r)["error_code"] == 40101
        r = requests.post(studio.base + "/api/topics", json={"name": name, "partitions": 1}, headers=headers, timeout=10)
        assert r.status_code == 401
    names = [t["name"] for t in studio.get("/api/topics").json()]
    assert name not in names
    # The OpenAPI document is token-gated too.
    assert requests.get(studio.base + "/api/openapi.json", timeout=10).status_code == 401


def test_host_and_origin_are_checked(studio: Studio):
    port = studio.host.split(":")[1]
    for host in (f"evil.example:{port}", "127.0.0.1", f"127.0.0.1:{int(port) + 1}"):
        r = requests.get(studio.base + "/api/cluster", headers=studio.headers(Host=host), timeout=10)
        assert r.status_code == 403, host
        assert "Host" in error_of(r)["message"]
        # The UI is protected against DNS rebinding too.
        assert requests.get(studio.base + "/", headers={"Host": host}, timeout=10).status_code == 403
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        assert requests.get(studio.base + "/api/cluster", headers=studio.headers(Host=host), timeout=30).status_code == 200
    r = requests.get(studio.base + "/api/cluster", headers=studio.headers(Origin="http://evil.example"), timeout=10)
    assert r.status_code == 403
    assert "Origin" in error_of(r)["message"]
    r = requests.get(studio.base + "/api/cluster", headers=studio.headers(Origin=f"http://{studio.host}"), timeout=30)
    assert r.status_code == 200
    # No CORS, ever.
    assert not any(h.lower().startswith("access-control-") for h in r.headers)
    r = requests.options(studio.base + "/api/topics", headers={"Origin": "http://evil.example",
                                                              "Access-Control-Request-Method": "POST"}, timeout=10)
    assert r.status_code == 403
    assert not any(h.lower().startswith("access-control-") for h in r.headers)


def test_bad_origin_with_a_valid_token_does_nothing(studio: Studio):
    name = unique("origin")
    r = requests.post(studio.base + "/api/topics", json={"name": name},
                      headers=studio.headers(Origin="http://evil.example"), timeout=10)
    assert r.status_code == 403
    assert name not in [t["name"] for t in studio.get("/api/topics").json()]


def test_ui_is_served_with_spa_fallback(studio: Studio):
    r = requests.get(studio.base + "/", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache"
    r2 = requests.get(studio.base + "/topics/orders/messages", timeout=10)
    assert r2.status_code == 200 and r2.text == r.text
    r = studio.get("/api/no/such/thing")
    assert r.status_code == 404
    error_of(r)


def test_openapi_document_lists_every_endpoint(studio: Studio):
    doc = studio.get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in ["/api/cluster", "/api/metrics", "/api/charts/throughput.svg", "/api/topics", "/api/topics/{name}",
                 "/api/topics/{name}/configs", "/api/topics/{name}/partitions", "/api/topics/{name}/messages",
                 "/api/partitioner", "/api/profiles", "/api/profiles/active", "/api/profiles/{name}"]:
        assert path in doc["paths"], path
    assert "bearer" in doc["components"]["securitySchemes"]


# -- cluster and topics --------------------------------------------------------------------------------------

def test_cluster_overview_embedded(studio: Studio):
    c = studio.get("/api/cluster").json()
    assert c["mode"] == "embedded" and c["inside_view"] is True
    # `oxbow serve` runs three brokers by default.
    assert len(c["brokers"]) == 3 and all(b["state"] == "online" for b in c["brokers"])
    assert studio.bootstrap in {f'{b["host"]}:{b["port"]}' for b in c["brokers"]}
    assert c["cluster_id"] and c["controller_id"] in {b["id"] for b in c["brokers"]}
    assert c["profile"] == "embedded"
    assert isinstance(c["data_size_bytes"], int)


def test_topic_create_list_detail_delete(studio: Studio):
    name = unique("crud")
    r = studio.post("/api/topics", {"name": name, "partitions": 3, "configs": {"retention.ms": "3600000"}})
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["name"] == name and t["partitions"] == 3 and t["replication_factor"] == 1
    listed = {x["name"]: x for x in studio.get("/api/topics", params={"search": name[-10:].upper()}).json()}
    assert list(listed) == [name]
    assert listed[name]["record_count"] == 0 and listed[name]["cleanup_policy"] == "delete"
    d = studio.get(f"/api/topics/{name}").json()
    assert [p["partition"] for p in d["partitions"]] == [0, 1, 2]
    assert d["configs_summary"]["retention.ms"] == "3600000"
    p0 = d["partitions"][0]
    assert p0["leader"] in (1, 2, 3) and p0["isr"] == [p0["leader"]]
    # The hosting broker opens the new replica as it applies the creation (a moment after the
    # broker that took the request): its offsets and segments then show.
    deadline = time.monotonic() + 15
    while p0["log_end_offset"] is None and time.monotonic() < deadline:
        time.sleep(0.1)
        p0 = studio.get(f"/api/topics/{name}").json()["partitions"][0]
    assert p0["log_end_offset"] == 0 and p0["segments"]
    r = studio.post("/api/topics", {"name": name, "partitions": 1})
    assert r.status_code == 409
    assert error_of(r)["kafka_error"] == "TOPIC_ALREADY_EXISTS"
    assert studio.delete(f"/api/topics/{name}").status_code == 204
    for _ in range(50):
        if studio.get(f"/api/topics/{name}").status_code == 404:
            break
        time.sleep(0.1)
    r = studio.get(f"/api/topics/{name}")
    assert r.status_code == 404
    assert name in error_of(r)["message"]
    r = studio.delete(f"/api/topics/{name}")
    assert r.status_code == 404
    assert error_of(r)["kafka_error"] == "UNKNOWN_TOPIC_OR_PARTITION"


def test_internal_topics_are_hidden_unless_asked(studio: Studio):
    # A consumer group makes __consumer_offsets exist.
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": studio.bootstrap, "group.id": unique("g"), "auto.offset.reset": "earliest"})
    c.subscribe([studio.create_topic()])
    c.poll(3)
    c.close()
    names = [t["name"] for t in studio.get("/api/topics").json()]
    assert not any(n.startswith("__") for n in names)
    everything = studio.get("/api/topics", params={"include_internal": "true"}).json()
    assert all(t["internal"] == t["name"].startswith("__") for t in everything)


def test_bad_topic_input_is_a_4xx_naming_the_field(studio: Studio):
    cases = [
        ({"name": "", "partitions": 1}, "name"),
        ({"name": "a/b", "partitions": 1}, "name"),
        ({"name": "x" * 250, "partitions": 1}, "name"),
        ({"name": unique("p"), "partitions": 0}, "partitions"),
        ({"name": unique("p"), "partitions": 100000}, "partitions"),
        ({"name": unique("p"), "replication_factor": 0}, "replication_factor"),
        ({"partitions": 1}, "name"),
        ({"name": unique("p"), "partitions": "three"}, "partitions"),
        ({"name": unique("p"), "bogus": 1}, "bogus"),
    ]
    for body, field in cases:
        r = studio.post("/api/topics", body)
        assert r.status_code == 400, (body, r.text)
        assert field in error_of(r)["message"], (body, r.text)
    r = requests.post(studio.base + "/api/topics", data="{not json", timeout=10,
                      headers=studio.headers(**{"Content-Type": "application/json"}))
    assert r.status_code == 400
    error_of(r)
    # Kafka's own validation comes through with its error name.
    r = studio.post("/api/topics", {"name": unique("cfg"), "configs": {"retention.ms": "soon"}})
    assert r.status_code == 400, r.text
    assert error_of(r)["kafka_error"] == "INVALID_CONFIG"
    r = studio.post("/api/topics", {"name": unique("rf"), "replication_factor": 4})  # three brokers
    assert r.status_code == 400, r.text
    assert error_of(r)["kafka_error"] == "INVALID_REPLICATION_FACTOR"


def test_configs_read_alter_and_reset(studio: Studio):
    name = studio.create_topic()
    configs = {c["name"]: c for c in studio.get(f"/api/topics/{name}/configs").json()}
    assert configs["retention.ms"]["is_default"] is True
    assert configs["cleanup.policy"]["documentation"]
    assert all(c["value"] is None for c in configs.values() if c["is_sensitive"])
    r = studio.patch(f"/api/topics/{name}/configs", {"set": {"retention.ms": "12345", "cleanup.policy": "compact"}})
    assert r.status_code == 200, r.text
    after = {c["name"]: c for c in r.json()}
    assert after["retention.ms"]["value"] == "12345"
    assert after["retention.ms"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    listed = {t["name"]: t for t in studio.get("/api/topics").json()}
    assert listed[name]["cleanup_policy"] == "compact" and listed[name]["record_count_is_estimate"] is True
    r = studio.patch(f"/api/topics/{name}/configs", {"delete": ["retention.ms"]})
    assert r.status_code == 200, r.text
    after = {c["name"]: c for c in r.json()}
    assert after["retention.ms"]["is_default"] is True
    assert after["cleanup.policy"]["value"] == "compact"  # untouched: incremental
    for body, field in [({}, "set"), ({"set": {"bad key!": "1"}}, "set"), ({"delete": [""]}, "delete")]:
        r = studio.patch(f"/api/topics/{name}/configs", body)
        assert r.status_code == 400 and field in error_of(r)["message"], (body, r.text)
    r = studio.patch(f"/api/topics/{name}/configs", {"set": {"retention.ms": "never"}})
    assert r.status_code == 400, r.text
    assert error_of(r)["kafka_error"] == "INVALID_CONFIG"
    assert studio.get(f"/api/topics/{unique('absent')}/configs").status_code == 404


def test_add_partitions(studio: Studio):
    name = studio.create_topic(partitions=1)
    r = studio.post(f"/api/topics/{name}/partitions", {"count": 3})
    assert r.status_code == 200, r.text
    assert len(r.json()["partitions"]) == 3
    r = studio.post(f"/api/topics/{name}/partitions", {"count": 2})
    assert r.status_code == 400 and "count" in error_of(r)["message"]
    assert studio.post(f"/api/topics/{unique('absent')}/partitions", {"count": 2}).status_code == 404


# -- produce and the partitioner -----------------------------------------------------------------------------

def java_partition(key: bytes, n: int) -> int:
    """Kafka's murmur2 (reference for the endpoint), written out in Python."""
    m, seed = 0x5BD1E995, 0x9747B28C
    h = (seed ^ len(key)) & 0xFFFFFFFF
    for i in range(0, len(key) // 4 * 4, 4):
        k = int.from_bytes(key[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rest = len(key) % 4
    tail = key[len(key) - rest:]
    if rest >= 3:
        h ^= tail[2] << 16
    if rest >= 2:
        h ^= tail[1] << 8
    if rest >= 1:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % n


def test_partitioner_endpoint_matches_both_algorithms(studio: Studio):
    for key in ["21", "foobar", "order-17", "k", "a-little-bit-longer-string"]:
        for n in (1, 3, 7, 12):
            r = studio.get("/api/partitioner", params={"key": key, "partitions": n})
            assert r.status_code == 200, r.text
            a = r.json()
            assert a["java_murmur2"] == java_partition(key.encode(), n), (key, n)
            assert a["librdkafka_consistent_random"] == zlib.crc32(key.encode()) % n, (key, n)
            assert a["note"]
    # "21" hashes to -973932308 in Kafka's own test vectors.
    assert studio.get("/api/partitioner", params={"key": "21", "partitions": 1000}).json()["java_murmur2"] == \
        (-973932308 & 0x7FFFFFFF) % 1000
    r = studio.get("/api/partitioner", params={"key": "", "partitions": 4}).json()
    assert r["librdkafka_consistent_random"] is None
    r = studio.get("/api/partitioner", params={"key": "00ff", "partitions": 4, "encoding": "hex"}).json()
    assert r["key_size"] == 2
    for params, field in [({"partitions": 3}, "key"), ({"key": "a"}, "partitions"), ({"key": "a", "partitions": 0}, "partitions"),
                          ({"key": "a", "partitions": "x"}, "partitions"), ({"key": "zz", "partitions": 2, "encoding": "hex"}, "key"),
                          ({"key": "a", "partitions": 2, "encoding": "rot13"}, "encoding")]:
        r = studio.get("/api/partitioner", params=params)
        assert r.status_code == 400 and field in error_of(r)["message"], (params, r.text)


def test_keyed_produce_lands_where_librdkafka_partitions(studio: Studio):
    name = studio.create_topic(partitions=6)
    for i in range(20):
        key = f"key-{i}"
        r = studio.post(f"/api/topics/{name}/messages", {"key": key, "value": f"v{i}"})
        assert r.status_code == 200, r.text
        landed = r.json()["results"][0]["partition"]
        expected = studio.get("/api/partitioner", params={"key": key, "partitions": 6}).json()
        assert landed == expected["librdkafka_consistent_random"], key


def test_bulk_keyless_and_headers(studio: Studio):
    name = studio.create_topic(partitions=3)
    r = studio.post(f"/api/topics/{name}/messages", {"value": "bulk", "count": 2500, "keyed": False})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sent"] == 2500 and len(body["results"]) == 1000
    r = studio.post(f"/api/topics/{name}/messages", {"key": "ignored", "keyed": False, "value": "x", "partition": 2,
                                                      "headers": [{"key": "trace", "value": "abc"}, {"key": "nil", "value": None}]})
    assert r.json()["results"][0]["partition"] == 2
    page = studio.get(f"/api/topics/{name}/messages", params={"partitions": "2", "limit": 1}).json()
    m = page["messages"][-1]
    assert m["key"]["is_null"] is True
    assert m["headers"] == [{"key": "trace", "value_base64": base64.b64encode(b"abc").decode(), "value_string": "abc"},
                            {"key": "nil", "value_base64": None, "value_string": None}]
    for _ in range(30):
        listed = {t["name"]: t for t in studio.get("/api/topics").json()}
        if listed[name]["record_count"] == 2501:
            break
        time.sleep(0.2)
    assert listed[name]["record_count"] == 2501


def test_bad_produce_input(studio: Studio):
    name = studio.create_topic(partitions=2)
    cases = [
        ({"value": "x", "count": 0}, "count"),
        ({"value": "x", "count": 100001}, "count"),
        ({"value": "x", "partition": 2}, "partition"),
        ({"value": "zz", "value_encoding": "hex"}, "value"),
        ({"key": "{", "key_encoding": "json"}, "key"),
        ({"value": "%%%", "value_encoding": "base64"}, "value"),
        ({"value": "x", "value_encoding": "utf16"}, "value_encoding"),
    ]
    for body, field in cases:
        r = studio.post(f"/api/topics/{name}/messages", body)
        assert r.status_code == 400 and field in error_of(r)["message"], (body, r.text)
    r = studio.post(f"/api/topics/{unique('absent')}/messages", {"value": "x"})
    assert r.status_code == 404


# -- browse --------------------------------------------------------------------------------------------------

def produce_values(studio: Studio, name: str, values: list[str], **extra) -> list[dict]:
    out = []
    for v in values:
        r = studio.post(f"/api/topics/{name}/messages", {"value": v, **extra})
        assert r.status_code == 200, r.text
        out.append(r.json()["results"][0])
        time.sleep(0.002)  # distinct timestamps
    return out


def values_of(page: dict) -> list[str]:
    return [m["value"]["decoded"] for m in page["messages"]]


def test_browse_scopes(studio: Studio):
    name = studio.create_topic(partitions=1)
    produce_values(studio, name, [f"v{i}" for i in range(10)], partition=0)
    browse = lambda **p: studio.get(f"/api/topics/{name}/messages", params=p)
    assert values_of(browse(limit=3).json()) == ["v7", "v8", "v9"]
    page = browse(scope="oldest", limit=3).json()
    assert values_of(page) == ["v0", "v1", "v2"] and page["next"] == {"0": 3}
    page = browse(scope="offset", offset=5, limit=2).json()
    assert values_of(page) == ["v5", "v6"] and page["next"] == {"0": 7}
    page = browse(scope="offset", offset=page["next"]["0"], limit=100).json()
    assert values_of(page) == ["v7", "v8", "v9"] and page["next"] == {"0": 10}
    ts = browse(scope="offset", offset=4, limit=1).json()["messages"][0]["timestamp_ms"]
    page = browse(scope="timestamp", timestamp_ms=ts, limit=3).json()
    assert page["messages"][0]["timestamp_ms"] >= ts and "v4" in values_of(page)[:2]
    assert browse(scope="timestamp", timestamp_ms=ts + 10**9, limit=3).json()["messages"] == []
    m = browse(limit=1).json()["messages"][0]
    assert m["timestamp_type"] == "CreateTime" and m["offset"] == 9 and m["batch"]["record_bytes"] == 2


def test_newest_spans_partitions(studio: Studio):
    name = studio.create_topic(partitions=3)
    for i in range(9):
        studio.post(f"/api/topics/{name}/messages", {"value": f"n{i}", "partition": i % 3})
        time.sleep(0.002)
    page = studio.get(f"/api/topics/{name}/messages", params={"limit": 4}).json()
    assert values_of(page) == ["n5", "n6", "n7", "n8"]
    page = studio.get(f"/api/topics/{name}/messages", params={"limit": 100, "partitions": "0,2"}).json()
    assert sorted(values_of(page)) == sorted(f"n{i}" for i in range(9) if i % 3 != 1)
    assert set(page["next"]) == {"0", "2"}


def test_decoders_report_errors_per_record(studio: Studio):
    name = studio.create_topic(partitions=1)
    raw = [struct.pack(">q", 42), struct.pack(">i", -7), b"\xff\xfe", b'{"a": [1, 2]}', struct.pack(">d", 2.5)]
    for b in raw:
        studio.post(f"/api/topics/{name}/messages", {"value": base64.b64encode(b).decode(), "value_encoding": "base64",
                                                      "partition": 0})
    def decoded(decoder: str) -> list:
        page = studio.get(f"/api/topics/{name}/messages", params={"scope": "oldest", "limit": 10, "value_decoder": decoder})
        assert page.status_code == 200, page.text
        return [(m["value"]["decoded"], m["value"]["decode_error"]) for m in page.json()["messages"]]
    int64 = decoded("int64")
    assert int64[0] == ("42", None) and int64[4][0] == str(struct.unpack(">q", raw[4])[0])
    assert int64[1][0] is None and "8 bytes" in int64[1][1]
    assert decoded("int32")[1] == ("-7", None)
    assert decoded("double")[4] == ("2.5", None)
    strings = decoded("string")
    assert strings[2][0] is None and "UTF-8" in strings[2][1]
    js = decoded("json")
    assert js[3] == (json.dumps({"a": [1, 2]}, indent=2), None)
    assert js[2][0] is None and "JSON" in js[2][1]
    assert decoded("hex")[2] == ("fffe", None)
    assert decoded("base64")[2] == ("//4=", None)
    assert decoded("int16")[2] == (str(struct.unpack(">h", b"\xff\xfe")[0]), None)
    assert decoded("int8")[0][1] is not None
    page = studio.get(f"/api/topics/{name}/messages", params={"scope": "oldest", "limit": 1}).json()
    assert base64.b64decode(page["messages"][0]["value"]["base64"]) == raw[0]
    assert page["messages"][0]["value"]["size"] == 8


def test_filters(studio: Studio):
    name = studio.create_topic(partitions=2)
    studio.post(f"/api/topics/{name}/messages", {"key": "alpha", "value": "first", "headers": [{"key": "h", "value": "red"}]})
    studio.post(f"/api/topics/{name}/messages", {"key": "beta", "value": "second ALPHA", "headers": [{"key": "h", "value": "blue"}]})
    studio.post(f"/api/topics/{name}/messages", {"key": "gamma", "value": "third", "headers": [{"key": "colour", "value": "RED"}]})
    def hits(filter_in: str, text: str) -> set[str]:
        page = studio.get(f"/api/topics/{name}/messages", params={"scope": "oldest", "filter": text, "filter_in": filter_in})
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["scanned"] == 3 and body["matched"] == len(body["messages"])
        return {m["key"]["decoded"] for m in body["messages"]}
    assert hits("key", "alpha") == {"alpha"}
    assert hits("value", "alpha") == {"beta"}
    assert hits("all", "alpha") == {"alpha", "beta"}
    assert hits("headers", "red") == {"alpha", "gamma"}
    assert hits("headers", "colour") == {"gamma"}
    assert hits("all", "nothing-matches") == set()


def test_bad_browse_input(studio: Studio):
    name = studio.create_topic(partitions=2)
    for params, field in [({"limit": 0}, "limit"), ({"limit": 5001}, "limit"), ({"limit": "many"}, "limit"),
                          ({"scope": "latest"}, "scope"), ({"partitions": "7"}, "partitions"),
                          ({"partitions": "0,x"}, "partitions"), ({"key_decoder": "avro"}, "key_decoder"),
                          ({"value_decoder": "protobuf"}, "value_decoder"), ({"scope": "offset"}, "offset"),
                          ({"scope": "timestamp"}, "timestamp_ms"), ({"filter_in": "body"}, "filter_in"),
                          ({"scope": "offset", "offset": "ten"}, "offset")]:
        r = studio.get(f"/api/topics/{name}/messages", params=params)
        assert r.status_code == 400, (params, r.text)
        assert field in error_of(r)["message"], (params, r.text)
    assert studio.get(f"/api/topics/{unique('absent')}/messages").status_code == 404


# -- profiles ------------------------------------------------------------------------------------------------

def test_profiles_never_return_secrets(studio: Studio):
    name = unique("prof")
    body = {"name": name, "bootstrap_servers": "kafka1.example:9093,kafka2.example:9093", "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512", "username": "alice", "password": "hunter2-secret", "ca_file": "/etc/ca.pem"}
    r = studio.post("/api/profiles", body)
    assert r.status_code == 201, r.text
    assert "hunter2" not in r.text and r.json()["has_password"] is True
    listing = studio.get("/api/profiles")
    assert "hunter2" not in listing.text
    profiles = {p["name"]: p for p in listing.json()["profiles"]}
    assert profiles["embedded"]["builtin"] and profiles["embedded"]["active"]
    assert profiles[name]["has_password"] and profiles[name]["username"] == "alice" and not profiles[name]["active"]
    # Stored on disk for the user only.
    assert stat.S_IMODE(os.stat(studio.profiles_file).st_mode) == 0o600
    assert "hunter2-secret" in studio.profiles_file.read_text()
    for bad, field in [({**body, "bootstrap_servers": "nohost"}, "bootstrap_servers"), ({**body, "name": "a/b"}, "name"),
                       ({**body, "sasl_mechanism": None}, "sasl_mechanism"), ({**body, "security_protocol": "TLS"}, "security_protocol")]:
        r = studio.post("/api/profiles", bad)
        assert r.status_code == 400 and field in error_of(r)["message"], (bad, r.text)
    assert studio.post("/api/profiles", {**body, "name": "embedded"}).status_code == 409
    assert studio.put("/api/profiles/active", {"name": unique("nope")}).status_code == 404
    assert studio.delete("/api/profiles/embedded").status_code == 409
    assert studio.delete(f"/api/profiles/{name}").status_code == 204
    assert studio.delete(f"/api/profiles/{name}").status_code == 404


def test_switching_profiles_rebuilds_the_client(studio: Studio):
    other = unique("same")
    r = studio.post("/api/profiles", {"name": other, "bootstrap_servers": studio.bootstrap})
    assert r.status_code == 201
    try:
        r = studio.put("/api/profiles/active", {"name": other})
        assert r.status_code == 200 and r.json()["active"] == other
        c = studio.get("/api/cluster").json()
        assert c["profile"] == other and c["mode"] == "external" and c["inside_view"] is False
        name = studio.create_topic(partitions=2)
        d = studio.get(f"/api/topics/{name}").json()
        assert d["partitions"][0]["segments"] is None and d["partitions"][0]["log_end_offset"] is None
        assert d["partitions"][0]["high_watermark"] == 0
        assert studio.get("/api/metrics").json()["available"] is False
    finally:
        assert studio.put("/api/profiles/active", {"name": "embedded"}).status_code == 200
        studio.delete(f"/api/profiles/{other}")
    assert studio.get("/api/cluster").json()["mode"] == "embedded"


# -- metrics and charts --------------------------------------------------------------------------------------

def test_metrics_and_chart(studio: Studio):
    name = studio.create_topic()
    studio.post(f"/api/topics/{name}/messages", {"value": "x" * 1000, "count": 200})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = studio.get("/api/metrics").json()
        if any(v > 0 for v in m["produce_bytes_per_s"]):
            break
        time.sleep(0.5)
    assert m["available"] is True and m["interval_ms"] == 1000
    assert any(v > 0 for v in m["produce_bytes_per_s"]), m
    assert len(m["produce_bytes_per_s"]) == len(m["fetch_bytes_per_s"]) == len(m["produce_records_per_s"])
    for theme in ("light", "dark"):
        r = studio.get("/api/charts/throughput.svg", params={"width": 640, "height": 240, "theme": theme})
        assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
        assert r.text.startswith("<svg") and 'width="640"' in r.text
    for params, field in [({"width": 5}, "width"), ({"height": 99999}, "height"), ({"theme": "pink"}, "theme")]:
        r = studio.get("/api/charts/throughput.svg", params=params)
        assert r.status_code == 400 and field in error_of(r)["message"]
