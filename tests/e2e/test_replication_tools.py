"""Apache Kafka's own tools against the embedded cluster's replication: kafka-topics --describe
(leaders, replicas, ISR), kafka-leader-election (preferred leader) and kafka-reassign-partitions
(moving a replica, with the data copied). Brokers are stopped and started with `oxbow fault`.

Needs three brokers and the oxbow fault API, so it runs against `oxbow serve` (three brokers by
default); the single-broker Apache Kafka reference run skips it."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

import ck
from conftest import OXBOW_BIN, TARGET, unique, wait_until
from test_kafka_tools import CONFIGS, TOPICS, tool

ELECTION = "org.apache.kafka.tools.LeaderElectionCommand"
REASSIGN = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand"

pytestmark = pytest.mark.skipif(TARGET != "oxbow", reason="needs a three-broker cluster and oxbow fault")


def describe(bootstrap: str, topic: str) -> list[tuple[int, int, list[int], list[int]]]:
    out = tool(TOPICS, "--bootstrap-server", bootstrap, "--describe", "--topic", topic).stdout
    rows = re.findall(r"Partition: (\d+)\s+Leader: (-?\d+)\s+Replicas: ([\d,]+)\s+Isr: ([\d,]*)", out)
    ids = lambda s: [int(x) for x in s.split(",") if x]
    return [(int(p), int(l), ids(r), ids(i)) for p, l, r, i in rows]


def fault(broker, *args: str) -> str:
    r = subprocess.run([str(OXBOW_BIN), "fault", *args, "--data-dir", str(broker.data_dir)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"oxbow fault {' '.join(args)}: {r.stderr}"
    return r.stdout


def test_describe_shows_replicas_and_isr(bootstrap):
    topic = unique("rep-describe")
    tool(TOPICS, "--bootstrap-server", bootstrap, "--create", "--topic", topic, "--partitions", "3",
         "--replication-factor", "3", "--config", "min.insync.replicas=2")
    rows = describe(bootstrap, topic)
    assert [r[0] for r in rows] == [0, 1, 2]
    for _, leader, replicas, isr in rows:
        assert sorted(replicas) == [1, 2, 3] and sorted(isr) == [1, 2, 3] and leader in replicas
    # Replica placement spreads leadership: three partitions, three different leaders.
    assert len({r[1] for r in rows}) == 3, rows
    r = tool(TOPICS, "--bootstrap-server", bootstrap, "--create", "--topic", unique("rep-rf4"),
             "--partitions", "1", "--replication-factor", "4", check=False)
    assert r.returncode != 0 and "InvalidReplicationFactor" in r.stdout + r.stderr, r


def test_preferred_leader_election_after_a_restart(broker, bootstrap):
    topic = unique("rep-elect")
    tool(TOPICS, "--bootstrap-server", bootstrap, "--create", "--topic", topic, "--replica-assignment", "2:1:3")
    assert describe(bootstrap, topic)[0][1] == 2
    p = ck.producer(bootstrap, **{"acks": "all"})
    for i in range(10):
        p.produce(topic, value=f"v{i}".encode())
    assert p.flush(30) == 0

    assert fault(broker, "stop", "2").strip() == "broker 2 stopped"
    other = next(a for a in bootstrap_all(broker) if not a.endswith(f":{port_of(broker, 2)}"))
    _, leader, _, isr = describe(other, topic)[0]
    assert leader == 1 and 2 not in isr, "a controlled stop hands the leadership to the next in-sync replica"
    fault(broker, "start", "2")
    wait_until(lambda: sorted(describe(bootstrap, topic)[0][3]) == [1, 2, 3], 40, what="broker 2 back in the ISR")
    assert describe(bootstrap, topic)[0][1] == 1

    out = tool(ELECTION, "--bootstrap-server", bootstrap, "--election-type", "preferred", "--topic", topic,
               "--partition", "0").stdout
    assert f"Successfully completed leader election (PREFERRED) for partitions {topic}-0" in out, out
    assert describe(bootstrap, topic)[0][1] == 2
    out = tool(ELECTION, "--bootstrap-server", bootstrap, "--election-type", "preferred", "--topic", topic,
               "--partition", "0", check=False)
    assert "Valid replica already elected" in out.stdout + out.stderr, out


def test_reassign_partitions_moves_the_data(bootstrap, tmp_path):
    topic = unique("rep-move")
    tool(TOPICS, "--bootstrap-server", bootstrap, "--create", "--topic", topic, "--replica-assignment", "1:2")
    p = ck.producer(bootstrap, **{"acks": "all"})
    for i in range(50):
        p.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
    assert p.flush(30) == 0
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [{"topic": topic, "partition": 0, "replicas": [3, 2]}]}))
    # --throttle sets the replication throttles (KIP-73) on the brokers and replicas involved; 1 MB/s
    # still moves 50 small records at once. --verify clears them when the move is done.
    out = tool(REASSIGN, "--bootstrap-server", bootstrap, "--reassignment-json-file", str(plan), "--execute",
               "--throttle", "1000000").stdout
    assert "Successfully started partition reassignment" in out and "throttle" in out.lower(), out
    configs = tool(CONFIGS, "--bootstrap-server", bootstrap, "--describe", "--entity-type", "brokers",
                   "--entity-name", "3").stdout
    assert "follower.replication.throttled.rate=1000000" in configs, configs

    def completed():
        r = tool(REASSIGN, "--bootstrap-server", bootstrap, "--reassignment-json-file", str(plan), "--verify").stdout
        return f"Reassignment of partition {topic}-0 is completed" in r

    wait_until(completed, 40, interval=0.5, what="the reassignment completes")
    configs = tool(CONFIGS, "--bootstrap-server", bootstrap, "--describe", "--entity-type", "brokers",
                   "--entity-name", "3").stdout
    assert "throttled.rate" not in configs, configs
    _, leader, replicas, isr = describe(bootstrap, topic)[0]
    assert replicas == [3, 2] and sorted(isr) == [2, 3] and leader == 3, (leader, replicas, isr)
    # The moved replica serves every record.
    got = ck.consume_all(bootstrap, topic)
    assert [g.value for g in got] == [f"v{i}".encode() for i in range(50)]


def bootstrap_all(broker) -> list[str]:
    return broker.bootstraps


def port_of(broker, broker_id: int) -> int:
    return int(broker.bootstraps[broker_id - 1].rsplit(":", 1)[1])
