"""Consumer groups through the studio API against a real `oxbow serve`, with real confluent-kafka consumers in the
groups: the list and the detail (members, assignments, committed offsets, lag) match what was produced and
committed; offset resets preview and apply; deletes are refused while a group is active; the lag history and the
rebalance timeline follow what happens; bad input is a 4xx naming the field.

Deletes need DeleteGroups (API key 42) and OffsetDelete (API key 47); the studio answers 501, naming the API, when a
broker lacks them. The embedded broker and Apache Kafka answer both, so here the deletes are tested and the 501 test
skips unless the broker under test lacks them. The same calls are tested against Apache Kafka in
test_external_kafka.py."""

from __future__ import annotations

import time

import pytest

from studio_helpers import GroupConsumer, Studio, produce_to_partitions, unique, until


def error_of(r) -> dict:
    assert r.headers["content-type"].startswith("application/json"), r.headers
    return r.json()


def listed(studio: Studio, group: str) -> dict | None:
    groups = studio.get("/api/groups", params={"search": group}).json()["groups"]
    return next((g for g in groups if g["group_id"] == group), None)


def committed_of(detail: dict) -> dict[int, int | None]:
    return {p["partition"]: p["committed_offset"] for p in detail["partitions"]}


def replicated_topic(studio: Studio, partitions: int) -> str:
    """A topic with a replica on every broker of the embedded cluster (replication factor 3)."""
    name = unique("t")
    r = studio.post("/api/topics", {"name": name, "partitions": partitions, "replication_factor": 3})
    assert r.status_code == 201, r.text
    return name


@pytest.fixture
def grouped(studio: Studio):
    """A 3-partition topic with 10 records per partition, and a consumer in a fresh group that read them all and
    committed 4, 10 and 0 (lag 6 + 0 + 10 = 16)."""
    topic = replicated_topic(studio, 3)
    produce_to_partitions(studio.bootstrap, topic, {0: 10, 1: 10, 2: 10})
    group = unique("g")
    consumer = GroupConsumer(studio.bootstrap, group, [topic]).start()
    assert len(consumer.read(30)) == 30
    consumer.commit(topic, {0: 4, 1: 10, 2: 0}, metadata="checkpoint-a")
    yield studio, topic, group, consumer
    consumer.close()


def test_list_and_detail_match_what_was_produced_and_committed(grouped):
    studio, topic, group, consumer = grouped
    g = until("the group listed with its lag", lambda: (x := listed(studio, group)) and x["total_lag"] == 16 and x)
    assert g["state"] == "Stable" and g["members"] == 1 and g["protocol_type"] == "consumer"
    assert g["protocol"] == "range" and g["topics"] == [topic] and g["partitions"] == 3
    assert g["group_type"] in ("classic", "unknown") and g["detailed"] is True
    brokers = {b["id"] for b in studio.get("/api/cluster").json()["brokers"]}
    assert g["coordinator_id"] in brokers

    d = studio.get(f"/api/groups/{group}").json()
    assert d["state"] == "Stable" and d["active"] is True and d["protocol"] == "range"
    assert d["coordinator"]["id"] in brokers and d["coordinator"]["port"] > 0
    (member,) = d["members"]
    assert member["client_id"] == "studio-test-consumer" and member["host"] and member["member_id"]
    assert member["group_instance_id"] is None
    assert member["assignment"] == [{"topic": topic, "partition": p} for p in range(3)]
    rows = {p["partition"]: p for p in d["partitions"]}
    assert {p: (r["committed_offset"], r["high_watermark"], r["lag"]) for p, r in rows.items()} == \
        {0: (4, 10, 6), 1: (10, 10, 0), 2: (0, 10, 10)}
    assert all(r["owner_member_id"] == member["member_id"] and r["owner_client_id"] == "studio-test-consumer"
               for r in rows.values())
    assert rows[0]["metadata"] == "checkpoint-a" and d["total_lag"] == 16

    # Filters: by state (case-insensitive) and by id substring.
    stable = studio.get("/api/groups", params={"state": "stable", "search": group}).json()["groups"]
    assert [x["group_id"] for x in stable] == [group]
    assert studio.get("/api/groups", params={"state": "Empty", "search": group}).json()["groups"] == []

    # The partition strips' markers: the group's committed offsets on the topic.
    markers = studio.get(f"/api/topics/{topic}/groups").json()
    mine = next(m for m in markers if m["group_id"] == group)
    assert mine["state"] == "Stable"
    assert [(o["partition"], o["offset"], o["lag"]) for o in mine["offsets"]] == [(0, 4, 6), (1, 10, 0), (2, 0, 10)]

    # More records raise the lag; a commit lowers it.
    produce_to_partitions(studio.bootstrap, topic, {1: 5})
    until("lag 21 after 5 more records", lambda: studio.get(f"/api/groups/{group}").json()["total_lag"] == 21)
    consumer.commit(topic, {0: 10, 1: 15, 2: 10})
    until("lag 0 after committing the ends", lambda: studio.get(f"/api/groups/{group}").json()["total_lag"] == 0)


def test_reset_is_refused_while_active_then_previews_and_applies(grouped):
    studio, topic, group, consumer = grouped
    r = studio.post(f"/api/groups/{group}/offsets/reset", {"strategy": "earliest", "dry_run": True})
    assert r.status_code == 409, r.text
    assert "Stable" in error_of(r)["message"] and "inactive" in error_of(r)["message"]
    consumer.close()
    until("the group to empty", lambda: studio.get(f"/api/groups/{group}").json()["state"] == "Empty")

    # A dry run (the default) computes, changes nothing.
    r = studio.post(f"/api/groups/{group}/offsets/reset", {"strategy": "earliest"})
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["dry_run"] is True and preview["applied"] is False and preview["strategy"] == "earliest"
    assert [(p["partition"], p["current_offset"], p["new_offset"], p["lag_before"], p["lag_after"])
            for p in preview["partitions"]] == [(0, 4, 0, 6, 10), (1, 10, 0, 0, 10), (2, 0, 0, 10, 10)]
    assert committed_of(studio.get(f"/api/groups/{group}").json()) == {0: 4, 1: 10, 2: 0}

    # Executed: committed, and the lag jumps back to everything.
    r = studio.post(f"/api/groups/{group}/offsets/reset", {"strategy": "earliest", "dry_run": False})
    assert r.status_code == 200 and r.json()["applied"] is True, r.text
    d = studio.get(f"/api/groups/{group}").json()
    assert committed_of(d) == {0: 0, 1: 0, 2: 0} and d["total_lag"] == 30 and d["members"] == []

    # One topic, chosen partitions; exact offsets are clamped into the log (with a note).
    r = studio.post(f"/api/groups/{group}/offsets/reset", {
        "topics": [{"topic": topic, "partitions": [1, 2]}], "strategy": "offset", "offset": 25, "dry_run": False})
    rows = r.json()["partitions"]
    assert [(p["partition"], p["new_offset"]) for p in rows] == [(1, 10), (2, 10)], r.text
    assert all("clamped down to 10" in p["note"] for p in rows)
    assert committed_of(studio.get(f"/api/groups/{group}").json()) == {0: 0, 1: 10, 2: 10}

    # Shift back from the committed offsets; latest; by time (records are newer than t=0, older than now).
    r = studio.post(f"/api/groups/{group}/offsets/reset", {"strategy": "shift", "shift_by": -3, "dry_run": False})
    assert [(p["partition"], p["new_offset"]) for p in r.json()["partitions"]] == [(0, 0), (1, 7), (2, 7)], r.text
    r = studio.post(f"/api/groups/{group}/offsets/reset", {"topics": [{"topic": topic}], "strategy": "latest"})
    assert [p["new_offset"] for p in r.json()["partitions"]] == [10, 10, 10]
    r = studio.post(f"/api/groups/{group}/offsets/reset", {"strategy": "timestamp", "timestamp_ms": 0})
    assert [p["new_offset"] for p in r.json()["partitions"]] == [0, 0, 0]
    future = int(time.time() * 1000) + 3_600_000
    r = studio.post(f"/api/groups/{group}/offsets/reset", {"strategy": "timestamp", "timestamp_ms": future})
    assert [p["new_offset"] for p in r.json()["partitions"]] == [10, 10, 10]
    assert all(p["note"] for p in r.json()["partitions"])

    # A group that does not exist yet gets offsets (Kafka's tool creates it), once topics are named.
    fresh = unique("new-group")
    r = studio.post(f"/api/groups/{fresh}/offsets/reset", {"strategy": "earliest", "dry_run": False})
    assert r.status_code == 400 and "topics" in error_of(r)["message"], r.text
    r = studio.post(f"/api/groups/{fresh}/offsets/reset",
                    {"topics": [{"topic": topic, "partitions": [0]}], "strategy": "latest", "dry_run": False})
    assert r.status_code == 200, r.text
    assert committed_of(studio.get(f"/api/groups/{fresh}").json()) == {0: 10}


def test_delete_is_refused_while_the_group_is_active(grouped):
    studio, topic, group, consumer = grouped
    r = studio.delete(f"/api/groups/{group}")
    assert r.status_code == 409, r.text
    body = error_of(r)
    assert body["kafka_error"] == "NON_EMPTY_GROUP" and "stop its consumers" in body["message"]
    r = delete_via(studio, f"/api/groups/{group}/offsets", topic=topic)
    assert r.status_code == 409 and error_of(r)["kafka_error"] == "GROUP_SUBSCRIBED_TO_TOPIC", r.text
    assert studio.get(f"/api/groups/{group}").json()["members"], "nothing changed"


def delete_via(studio: Studio, path: str, **params):
    import requests

    return requests.delete(studio.base + path, headers=studio.headers(), params=params, timeout=60)


def test_delete_group_and_offsets_when_empty(grouped):
    studio, topic, group, consumer = grouped
    consumer.close()
    until("the group to empty", lambda: studio.get(f"/api/groups/{group}").json()["state"] == "Empty")
    r = delete_via(studio, f"/api/groups/{group}/offsets", topic=topic)
    assert r.status_code == 204, r.text
    # As in Kafka, the group itself stays (Empty, no offsets) until DeleteGroups or retention.
    left = studio.get(f"/api/groups/{group}")
    assert left.status_code in (200, 404), left.text
    if left.status_code == 200:
        assert left.json()["state"] == "Empty", left.text
        assert all(o is None for o in committed_of(left.json()).values()), left.text
    # A second group with offsets, deleted whole.
    other = unique("g")
    r = studio.post(f"/api/groups/{other}/offsets/reset",
                    {"topics": [{"topic": topic}], "strategy": "earliest", "dry_run": False})
    assert r.status_code == 200, r.text
    assert studio.delete(f"/api/groups/{other}").status_code == 204
    gone = studio.get(f"/api/groups/{other}")
    assert gone.status_code == 404, gone.text
    until("the deleted group to leave the list", lambda: listed(studio, other) is None)


def test_lag_history_and_rebalance_timeline(grouped):
    studio, topic, group, consumer = grouped
    series = until("two lag samples of 16", lambda: (s := studio.get(f"/api/groups/{group}/lag").json())
                   and s["sampled"] and s["total_lag"][-2:] == [16, 16] and s)
    assert series["interval_ms"] == 2000 and series["window_ms"] == 600_000
    assert series["at_ms"] == sorted(series["at_ms"]) and len(series["at_ms"]) == len(series["total_lag"])
    by_partition = {p["partition"]: p["lag"][-1] for p in series["partitions"]}
    assert by_partition == {0: 6, 1: 0, 2: 10}
    assert all(len(p["lag"]) == len(series["at_ms"]) for p in series["partitions"])

    # A second member joins (the partitions are split), then both leave.
    second = GroupConsumer(studio.bootstrap, group, [topic], client_id="second-consumer")
    deadline = time.monotonic() + 60
    while not second.consumer.assignment() and time.monotonic() < deadline:
        second.consumer.poll(0.2)
        consumer.consumer.poll(0.1)
    until("two members", lambda: len(studio.get(f"/api/groups/{group}").json()["members"]) == 2, timeout_s=60)
    events = until("the join in the timeline", lambda: (e := studio.get(f"/api/groups/{group}/timeline").json())
                   and any(x["kind"] == "member_joined" and "second-consumer" in x["message"] for x in e) and e)
    assert events[0]["kind"] == "first_seen"
    second.close()
    consumer.close()
    events = until("the group emptying in the timeline",
                   lambda: (e := studio.get(f"/api/groups/{group}/timeline").json())
                   and any(x["kind"] == "state" and x["state"] == "Empty" for x in e) and e)
    assert sum(x["kind"] == "member_left" for x in events) >= 2
    assert [x["at_ms"] for x in events] == sorted(x["at_ms"] for x in events)
    # Lag keeps being sampled for the empty group.
    until("an empty group's lag sample", lambda: studio.get(f"/api/groups/{group}/lag").json()["total_lag"][-1] == 16)


def test_bad_group_input_is_a_4xx_naming_the_field(studio: Studio):
    topic = replicated_topic(studio, 2)
    group = unique("bad")
    cases = [
        (studio.get("/api/groups", params={"state": "Sleepy"}), 400, "state"),
        (studio.get(f"/api/groups/{unique('absent')}"), 404, "does not exist"),
        (studio.get(f"/api/groups/{unique('absent')}/lag"), 404, "does not exist"),
        (studio.get(f"/api/groups/{unique('absent')}/timeline"), 404, "does not exist"),
        (studio.delete(f"/api/groups/{unique('absent')}"), 404, "does not exist"),
        (studio.get(f"/api/groups/{'g' * 256}"), 400, "id"),
        (studio.post(f"/api/groups/{group}/offsets/reset", {"strategy": "sideways"}), 400, "strategy"),
        (studio.post(f"/api/groups/{group}/offsets/reset", {"strategy": "offset"}), 400, "offset"),
        (studio.post(f"/api/groups/{group}/offsets/reset", {"strategy": "shift"}), 400, "shift_by"),
        (studio.post(f"/api/groups/{group}/offsets/reset", {"strategy": "timestamp", "timestamp_ms": -5}), 400, "timestamp_ms"),
        (studio.post(f"/api/groups/{group}/offsets/reset", {"strategy": "latest", "offset": 3}), 400, "offset"),
        (studio.post(f"/api/groups/{group}/offsets/reset", {"strategy": "latest", "topics": []}), 400, "topics"),
        (studio.post(f"/api/groups/{group}/offsets/reset",
                     {"strategy": "latest", "topics": [{"topic": topic, "partitions": [7]}]}), 400, "topics[0].partitions"),
        (studio.post(f"/api/groups/{group}/offsets/reset",
                     {"strategy": "latest", "topics": [{"topic": "no-such-topic-here"}]}), 404, "no-such-topic-here"),
        (studio.post(f"/api/groups/{group}/offsets/reset",
                     {"strategy": "latest", "topics": [{"topic": "bad name"}]}), 400, "topics[0].topic"),
        (studio.post(f"/api/groups/{group}/offsets/reset", {"strategy": "latest", "surprise": 1}), 400, "surprise"),
        (studio.delete(f"/api/groups/{group}/offsets"), 400, "topic"),
        (studio.get("/api/topics/no-such-topic-here/groups"), 404, "no-such-topic-here"),
    ]
    for r, status, field in cases:
        assert r.status_code == status, (r.request.method, r.request.url, r.status_code, r.text)
        assert field in error_of(r)["message"], (field, r.text)
    # A shift needs a committed offset in every chosen partition.
    studio.post(f"/api/groups/{group}/offsets/reset",
                {"strategy": "earliest", "topics": [{"topic": topic, "partitions": [0]}], "dry_run": False})
    r = studio.post(f"/api/groups/{group}/offsets/reset",
                    {"strategy": "shift", "shift_by": 1, "topics": [{"topic": topic}]})
    assert r.status_code == 400 and f"{topic}-1 has no committed offset" in error_of(r)["message"], r.text


def test_openapi_documents_the_group_endpoints(studio: Studio):
    doc = studio.get("/api/openapi.json").json()
    for path in ["/api/groups", "/api/groups/{id}", "/api/groups/{id}/lag", "/api/groups/{id}/timeline",
                 "/api/groups/{id}/offsets/reset", "/api/groups/{id}/offsets", "/api/topics/{name}/groups"]:
        assert path in doc["paths"], path
    assert "delete" in doc["paths"]["/api/groups/{id}"]
