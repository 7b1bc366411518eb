"""The replication view and the fault API of the embedded cluster, through the studio API and
`oxbow fault`: kill a leader and watch the leader move, the epoch change and the ISR shrink;
start it again and watch it rejoin; bad fault requests get clear 4xx answers."""

import subprocess
import time

import pytest
from confluent_kafka import Producer

from studio_helpers import KAFKA_RE, OXBOW_BIN, make_studio, start_oxbow, stop, unique

WAIT_S = 40


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults")
    data = tmp / "data"
    proc, lines = start_oxbow(["--data-dir", str(data), "--kafka-port", "0", "--studio-port", "0",
                               "--profiles-file", str(tmp / "profiles.json")], tmp / "oxbow.log", expect_kafka=True)
    kafka = [KAFKA_RE.match(l).group(1) for l in lines if KAFKA_RE.match(l)]
    assert len(kafka) == 3, lines  # three brokers by default, one ready line each
    studio = make_studio(proc, lines, ",".join(kafka), tmp / "profiles.json")
    yield studio, data
    assert stop(proc) == 0
    assert not (data / "oxbow-studio.json").exists(), "the runtime file goes with the stack"


def fault_cli(data, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(OXBOW_BIN), "fault", *args, "--data-dir", str(data)], capture_output=True, text=True, timeout=120)


def eventually(what, check):
    deadline = time.monotonic() + WAIT_S
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def partition(studio, topic):
    r = studio.get(f"/api/replication?topic={topic}")
    assert r.status_code == 200, r.text
    (p,) = r.json()["partitions"]
    return p


def test_kill_a_leader_and_watch_it_move_then_rejoin(cluster):
    studio, data = cluster
    topic = unique("rep")
    r = studio.post("/api/topics", {"name": topic, "partitions": 1, "replication_factor": 3,
                                    "configs": {"min.insync.replicas": "2"}})
    assert r.status_code == 201, r.text
    p = Producer({"bootstrap.servers": studio.bootstrap, "acks": "all", "enable.idempotence": True})
    for i in range(20):
        p.produce(topic, key=str(i % 3), value=f"v{i}")
    assert p.flush(30) == 0

    before = eventually("every replica at offset 20", lambda: (lambda p: p if all(l["log_end_offset"] == 20 for l in p["replicas"]) else None)(partition(studio, topic)))
    assert len(before["replicas"]) == 3 and sorted(before["isr"]) == sorted(l["broker"] for l in before["replicas"])
    assert before["high_watermark"] == 20 and not before["offline"] and not before["under_replicated"]
    leader = before["leader"]
    assert [l["broker"] for l in before["replicas"] if l["is_leader"]] == [leader]
    assert all(l["lag_records"] == 0 for l in before["replicas"])

    out = fault_cli(data, "kill", str(leader))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"broker {leader} killed"
    after = eventually("a new leader", lambda: (lambda p: p if p["leader"] not in (leader, -1) and leader not in p["isr"] else None)(partition(studio, topic)))
    assert after["leader_epoch"] > before["leader_epoch"]
    assert after["under_replicated"] and len(after["isr"]) == 2
    dead = next(l for l in after["replicas"] if l["broker"] == leader)
    assert not dead["running"] and dead["log_end_offset"] is None and dead["fenced"]

    view = studio.get("/api/replication").json()
    states = {b["id"]: b["state"] for b in view["brokers"]}
    assert states[leader] == "killed" and sum(1 for s in states.values() if s == "running") == 2
    events = studio.get("/api/events").json()
    kinds = [(e["kind"], e["detail"]) for e in events]
    assert ("fault", {"broker": leader, "action": "kill", "detail": ""}) in kinds
    assert any(k == "leader_changed" and d["topic"] == topic and d["from"] == leader for k, d in kinds), kinds
    assert any(k == "broker_fenced" and d["broker"] == leader for k, d in kinds), kinds
    last = events[-1]["seq"]
    assert all(e["seq"] > last for e in studio.get(f"/api/events?since={last}").json())

    # Impossible faults are refused with the reason, by the CLI and the API alike.
    out = fault_cli(data, "kill", str(leader))
    assert out.returncode != 0 and "is killed; cannot kill it" in out.stderr
    r = studio.post("/api/faults", {"broker": 9, "action": "stop"})
    assert r.status_code == 404 and "no broker 9" in r.json()["message"]
    r = studio.post("/api/faults", {"broker": 1, "action": "explode"})
    assert r.status_code == 400 and "action" in r.json()["message"]
    r = studio.post("/api/faults", {"broker": 1, "action": "slow-disk"})
    assert r.status_code == 400 and "delay_ms" in r.json()["message"]

    out = fault_cli(data, "start", str(leader))
    assert out.returncode == 0 and out.stdout.startswith(f"broker {leader} running at 127.0.0.1:"), out
    back = eventually("the broker rejoins the ISR", lambda: (lambda p: p if len(p["isr"]) == 3 else None)(partition(studio, topic)))
    assert all(l["log_end_offset"] == 20 and l["running"] for l in back["replicas"])


def test_slow_disk_and_cut_links_show_in_the_broker_states(cluster):
    studio, data = cluster
    out = fault_cli(data, "slow-disk", "2", "--delay-ms", "20")
    assert out.returncode == 0 and "disk delay 20 ms per append" in out.stdout, out
    out = fault_cli(data, "isolate", "3", "--peer", "1")
    assert out.returncode == 0 and "replication cut from 1" in out.stdout, out
    brokers = {b["id"]: b for b in studio.get("/api/replication").json()["brokers"]}
    assert brokers[2]["disk_delay_ms"] == 20 and brokers[3]["cut_from"] == [1] and brokers[1]["cut_from"] == [3]
    assert sum(1 for b in brokers.values() if b["controller"]) == 1
    assert fault_cli(data, "heal", "3").returncode == 0
    assert fault_cli(data, "slow-disk", "2", "--delay-ms", "0").returncode == 0
    brokers = {b["id"]: b for b in studio.get("/api/replication").json()["brokers"]}
    assert all(b["cut_from"] == [] and b["disk_delay_ms"] == 0 for b in brokers.values())
    out = fault_cli(data, "slow-disk", "2")
    assert out.returncode != 0 and "--delay-ms" in out.stderr


def values_from(studio, topic, offset):
    r = studio.get(f"/api/topics/{topic}/messages?scope=offset&offset={offset}&partitions=0&limit=100&value_decoder=string")
    assert r.status_code == 200, r.text
    return [(m["offset"], m["value"]["decoded"]) for m in r.json()["messages"]]


def test_acks_1_loses_a_record_the_followers_never_had(cluster):
    # The lesson of the produce panel: with acks=1 the leader acknowledges before any follower has the
    # record, so when that leader dies the record dies with it, and the returning broker truncates it.
    studio, data = cluster
    topic = unique("acks1")
    r = studio.post("/api/topics", {"name": topic, "partitions": 1, "replication_factor": 3,
                                    "configs": {"min.insync.replicas": "1", "unclean.leader.election.enable": "true"}})
    assert r.status_code == 201, r.text
    r = studio.post(f"/api/topics/{topic}/messages", {"key": "k", "value": "kept", "count": 5})
    assert r.status_code == 200 and r.json()["acks"] == "all", r.text
    before = eventually("every replica at offset 5", lambda: (lambda p: p if all(l["log_end_offset"] == 5 for l in p["replicas"]) else None)(partition(studio, topic)))
    leader = before["leader"]

    assert fault_cli(data, "isolate", str(leader)).returncode == 0  # followers can no longer fetch
    r = studio.post(f"/api/topics/{topic}/messages", {"key": "k", "value": "acked-by-the-leader-only", "count": 3, "acks": "1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["acks"] == "1" and [x["offset"] for x in body["results"]] == [5, 6, 7]
    p = partition(studio, topic)
    leos = {l["broker"]: l["log_end_offset"] for l in p["replicas"]}
    assert leos[leader] == 8 and all(v == 5 for b, v in leos.items() if b != leader), leos
    assert p["high_watermark"] == 5, "the followers never had offsets 5-7, so they are not committed"

    assert fault_cli(data, "kill", str(leader)).returncode == 0
    after = eventually("a new leader", lambda: (lambda p: p if p["leader"] not in (leader, -1) else None)(partition(studio, topic)))
    r = studio.post(f"/api/topics/{topic}/messages", {"key": "k", "value": "after", "count": 2})
    assert r.status_code == 200 and [x["offset"] for x in r.json()["results"]] == [5, 6], r.text

    assert fault_cli(data, "start", str(leader)).returncode == 0
    assert fault_cli(data, "heal", str(leader)).returncode == 0
    back = eventually("the old leader truncated and caught up", lambda: (lambda p: p if all(l["log_end_offset"] == 7 and l["running"] for l in p["replicas"]) and len(p["isr"]) == 3 else None)(partition(studio, topic)))
    assert back["leader_epoch"] > before["leader_epoch"]
    events = studio.get("/api/events").json()
    assert any(e["kind"] == "truncated" and e["detail"]["topic"] == topic and e["detail"]["broker"] == leader
               and e["detail"]["from"] == 8 and e["detail"]["to"] == 5 for e in events), events
    assert values_from(studio, topic, 0) == [(i, "kept") for i in range(5)] + [(5, "after"), (6, "after")]
    assert after["leader_epoch"] > before["leader_epoch"]


def test_produce_acks_is_checked(cluster):
    studio, _ = cluster
    topic = unique("acks")
    assert studio.post("/api/topics", {"name": topic, "partitions": 1, "replication_factor": 1}).status_code == 201
    r = studio.post(f"/api/topics/{topic}/messages", {"value": "x", "acks": "2"})
    assert r.status_code == 400 and "acks" in r.json()["message"], r.text
    r = studio.post(f"/api/topics/{topic}/messages", {"value": "x", "acks": "0", "count": 3})
    assert r.status_code == 200, r.text
    assert r.json()["acks"] == "0" and [x["offset"] for x in r.json()["results"]] == [-1, -1, -1]
    assert eventually("the acks=0 records arrive", lambda: len(values_from(studio, topic, 0)) == 3)
