"""`oxbow serve`'s studio flags: ready lines, a busy studio port, --no-broker needing --bootstrap-servers."""

from __future__ import annotations

import socket
import subprocess

from studio_helpers import OXBOW_BIN


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(OXBOW_BIN), "serve", *args], capture_output=True, text=True, timeout=60)


def test_busy_studio_port_is_a_one_line_error_without_ready_lines():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("--ephemeral", "--kafka-port", "0", "--studio-port", str(port))
    assert result.returncode != 0
    assert result.stdout == ""  # no `ready kafka` for a process that is exiting
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("oxbow: error:") and str(port) in last and "--studio-port" in last


def test_no_broker_needs_bootstrap_servers_and_vice_versa():
    result = run("--no-broker", "--studio-port", "0")
    assert result.returncode != 0 and "--bootstrap-servers" in result.stderr
    result = run("--bootstrap-servers", "127.0.0.1:9", "--studio-port", "0")
    assert result.returncode != 0 and "--no-broker" in result.stderr


def test_help_documents_the_studio_flags():
    out = run("--help").stdout
    for flag, env in [("--studio-port", "OXBOW_STUDIO_PORT"), ("--no-broker", "OXBOW_NO_BROKER"),
                      ("--bootstrap-servers", "OXBOW_BOOTSTRAP_SERVERS"), ("--profiles-file", "OXBOW_PROFILES_FILE"),
                      ("--rack", "OXBOW_RACK"), ("--retention-check-interval-ms", "OXBOW_RETENTION_CHECK_INTERVAL_MS"),
                      ("--group-initial-rebalance-delay-ms", "OXBOW_GROUP_INITIAL_REBALANCE_DELAY_MS")]:
        assert flag in out and env in out, flag


def test_rack_flag_shows_in_the_cluster_overview(tmp_path):
    from studio_helpers import KAFKA_RE, make_studio, start_oxbow, stop

    proc, lines = start_oxbow(["--ephemeral", "--kafka-port", "0", "--studio-port", "0", "--rack", "east,west,east",
                               "--profiles-file", str(tmp_path / "profiles.json")], tmp_path / "oxbow.log", expect_kafka=True)
    try:
        kafka = next(KAFKA_RE.match(l).group(1) for l in lines if KAFKA_RE.match(l))
        studio = make_studio(proc, lines, kafka, tmp_path / "profiles.json")
        brokers = studio.get("/api/cluster").json()["brokers"]
        # One rack per broker, in id order (Metadata and DescribeCluster carry them to clients).
        assert [(b["id"], b["rack"]) for b in sorted(brokers, key=lambda b: b["id"])] == [(1, "east"), (2, "west"), (3, "east")]
    finally:
        assert stop(proc) == 0
