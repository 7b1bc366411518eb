"""Hostile input on raw sockets: garbage, absurd and negative length prefixes, half-sent frames, an unknown
API key, an unsupported ApiVersions version, 1,000 idle connections. After each, a normal client
(confluent-kafka) still produces and consumes, and data stored before is unchanged."""

from __future__ import annotations

import os
import random
import resource
import select
import socket
import struct
import time

import pytest

import ck
from conftest import unique
from support import BASE_TS, Rec, kafka_request, read_response, sample_records, verify, wait_closed


def connect(bootstrap: str, timeout: float = 10) -> socket.socket:
    host, port = bootstrap.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)


def healthy(bootstrap: str) -> None:
    """A fresh topic, a few records produced and read back byte for byte."""
    topic = unique("hostile-check")
    ck.create_topic(bootstrap, topic, partitions=1)
    recs = [Rec(f"h-{i}", b"k", f"h-{i};".encode() + bytes(range(256)), [("id", f"h-{i}".encode())], BASE_TS + i)
            for i in range(5)]
    acked = ck.produce(ck.producer(bootstrap), topic, recs)
    verify(recs, ck.consume_all(bootstrap, topic), acked)


@pytest.fixture(scope="module")
def stored(broker):
    """Records stored before any hostile input; re-read at the end of the module."""
    topic = unique("hostile-stored")
    ck.create_topic(broker.bootstrap, topic, partitions=2)
    recs = sample_records("stored")
    acked = ck.produce(ck.producer(broker.bootstrap), topic, recs)
    return topic, recs, acked


def test_garbage_bytes(bootstrap, stored):
    s = connect(bootstrap)
    # "GET " read as a size prefix is 1,195,725,856 bytes: over socket.request.max.bytes (100 MiB).
    s.sendall(b"GET / HTTP/1.1\r\nHost: kafka\r\n\r\n" + random.Random(1).randbytes(2000))
    assert wait_closed(s), "the broker kept a connection open after HTTP garbage"
    s.close()
    healthy(bootstrap)


def test_framed_garbage(bootstrap):
    """A well-framed request whose content is random (its api key forced to an unknown one)."""
    rng = random.Random(7)
    for n in range(5):
        body = bytearray(rng.randbytes(64 + n * 100))
        body[0:2] = struct.pack(">h", 0x7F00 + n)
        s = connect(bootstrap)
        s.sendall(struct.pack(">i", len(body)) + bytes(body))
        assert wait_closed(s), f"connection {n} stayed open after a garbage frame"
        s.close()
    healthy(bootstrap)


@pytest.mark.parametrize("size", [0x7FFFFFFF, -1, -0x80000000, 0])
def test_absurd_length_prefix(bootstrap, size):
    s = connect(bootstrap)
    s.sendall(struct.pack(">i", size) + b"\x00\x12\x00\x00" * 4)
    assert wait_closed(s), f"connection stayed open after a length prefix of {size}"
    s.close()
    healthy(bootstrap)


def test_half_sent_frames(bootstrap):
    # One left hanging while others work, one closed by the client mid-frame.
    hanging = connect(bootstrap)
    hanging.sendall(struct.pack(">i", 100) + b"\x00\x12\x00\x03" + b"\x00" * 10)
    closed = connect(bootstrap)
    closed.sendall(struct.pack(">i", 500) + kafka_request(18, 3, 1)[4:] + b"\x00" * 20)
    closed.close()
    healthy(bootstrap)
    # A size prefix cut in half.
    s = connect(bootstrap)
    s.sendall(b"\x00\x00")
    s.close()
    healthy(bootstrap)
    hanging.close()


def test_unknown_api_key(bootstrap):
    s = connect(bootstrap)
    s.sendall(kafka_request(32000, 0, 42))
    assert wait_closed(s), "connection stayed open after an unknown API key"
    s.close()
    healthy(bootstrap)


def test_unsupported_api_versions_version_gets_kip511_reply(bootstrap):
    """ApiVersions at a version the broker does not know: a v0-format reply with UNSUPPORTED_VERSION (35)
    and the supported range, so that the client can retry (KIP-511)."""
    s = connect(bootstrap)
    # As a newer client would send it: header v2 (ApiVersions v3+ is flexible) and a v3-shaped body
    # (client software name and version as compact strings, empty tagged fields).
    body = b"\x0aoxbow-e2e" + b"\x021" + b"\x00"
    s.sendall(kafka_request(18, 127, 77, body, flexible=True))
    resp = read_response(s)
    assert resp is not None, "the broker closed the connection instead of answering (KIP-511)"
    corr, err, n = struct.unpack_from(">ihi", resp, 0)
    assert corr == 77 and err == 35, (corr, err)
    apis = {struct.unpack_from(">h", resp, 10 + 6 * i)[0]: struct.unpack_from(">hh", resp, 12 + 6 * i)
            for i in range(n)}
    assert 18 in apis and apis[18][0] == 0 and apis[18][1] >= 3, apis
    # The connection stays usable: ApiVersions v0 on it works.
    s.sendall(kafka_request(18, 0, 78))
    resp = read_response(s)
    assert resp is not None and struct.unpack_from(">ih", resp, 0) == (78, 0)
    s.close()
    healthy(bootstrap)


def test_pipelined_requests_answered_in_order(bootstrap):
    s = connect(bootstrap)
    # ApiVersions v0 and Metadata v1 (no topics), interleaved, sent in one write.
    reqs = b"".join(kafka_request(18, 0, 100 + i) if i % 2 == 0 else
                    kafka_request(3, 1, 100 + i, struct.pack(">i", 0)) for i in range(20))
    s.sendall(reqs)
    for i in range(20):
        resp = read_response(s)
        assert resp is not None, f"connection closed after {i} responses"
        assert struct.unpack_from(">i", resp, 0)[0] == 100 + i, "responses out of request order"
    s.close()


def open_idle(bootstrap: str, n: int, socks: list[socket.socket], wave: int = 40) -> None:
    """Opens n connections in waves (non-blocking connects), so that a small listen backlog does not turn
    into SYN retransmissions (seconds each)."""
    host, port = bootstrap.rsplit(":", 1)
    while len(socks) < n:
        pending = []
        for _ in range(min(wave, n - len(socks))):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((host, int(port)))
            socks.append(s)
            pending.append(s)
        deadline = time.monotonic() + 20
        poller = select.poll()  # not select(): descriptors go past FD_SETSIZE (1024) here
        by_fd = {s.fileno(): s for s in pending}
        for fd in by_fd:
            poller.register(fd, select.POLLOUT)
        while pending:
            assert time.monotonic() < deadline, f"{len(pending)} connects pending after 20 s ({len(socks)} opened)"
            for fd, _ in poller.poll(1000):
                s = by_fd[fd]
                poller.unregister(fd)
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                assert err == 0, f"connect #{socks.index(s)} failed: {os.strerror(err)}"
                s.setblocking(True)
                s.settimeout(10)
                pending.remove(s)


def test_thousand_idle_connections(bootstrap):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 1200:
        pytest.skip(f"file descriptor limit {soft} < 1200 (hard {hard})")
    socks: list[socket.socket] = []
    try:
        open_idle(bootstrap, 1000, socks)
        healthy(bootstrap)
        # A few of the idle ones still get answers.
        for i, s in enumerate(socks[::250]):
            s.sendall(kafka_request(18, 0, 500 + i))
            resp = read_response(s)
            assert resp is not None and struct.unpack_from(">ih", resp, 0) == (500 + i, 0)
    finally:
        for s in socks:
            s.close()
    healthy(bootstrap)


def test_stored_data_unchanged(bootstrap, stored):
    topic, recs, acked = stored
    verify(recs, ck.consume_all(bootstrap, topic), acked)
