"""Shared test data and checks for the end-to-end tests (client-independent)."""

from __future__ import annotations

import socket
import struct
import time
from collections import defaultdict
from dataclasses import dataclass, field

BASE_TS = 1_700_000_000_000  # 2023-11-14T22:13:20Z; explicit CreateTime timestamps are BASE_TS + n * 1000
BINARY = bytes(range(256))
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
MESSAGE_MAX_BYTES = 1_048_588  # Kafka's default message.max.bytes (a whole batch, incl. its 61-byte header)
LARGE = 900_000
TOO_LARGE = 1_100_000


@dataclass
class Rec:
    """A record as produced. `id` also travels in the first header, so records with null values match too."""

    id: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)
    ts: int | None = None
    seq: int | None = None  # per-key sequence number


@dataclass
class Got:
    """A record as consumed."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    ts: int


def sample_records(tag: str, keys: int = 6, per_key: int = 8, keyless: int = 12, *,
                   null_header_values: bool = True) -> list[Rec]:
    """Keyed records (per-key sequences, binary keys/values, repeated/empty/null headers), keyless ones,
    an empty key, an empty value and a null value; every record has an explicit timestamp."""
    out: list[Rec] = []
    n = 0

    def nid() -> str:
        nonlocal n
        n += 1
        return f"{tag}-{n - 1}"

    for s in range(per_key):
        for k in range(keys):
            rid = nid()
            key = b"\x00\xffk" if k == 0 else f"key-{k}".encode()
            headers: list[tuple[str, bytes | None]] = [
                ("id", rid.encode()), ("bin", BINARY), ("dup", b"first"), ("dup", b"second"), ("empty", b""),
                ("unicod\u00e9-\u043a\u043b\u044e\u0447", "v\u00e4rde".encode()),
            ]
            if null_header_values:
                headers.append(("null", None))
            value = f"{rid};key={k};seq={s};".encode() + BINARY
            out.append(Rec(rid, key, value, headers, BASE_TS + (n - 1) * 1000, s))
    for i in range(keyless):
        rid = nid()
        out.append(Rec(rid, None, f"{rid};keyless;".encode() + b"x" * i, [("id", rid.encode())],
                       BASE_TS + (n - 1) * 1000))
    rid = nid()
    out.append(Rec(rid, b"", f"{rid};empty-key".encode(), [("id", rid.encode())], BASE_TS + (n - 1) * 1000, 0))
    rid = nid()
    out.append(Rec(rid, b"key-empty-value", b"", [("id", rid.encode())], BASE_TS + (n - 1) * 1000, 0))
    rid = nid()
    out.append(Rec(rid, b"key-null-value", None, [("id", rid.encode())], BASE_TS + (n - 1) * 1000, 0))
    return out


def record_id(got: Got) -> str:
    for k, v in got.headers:
        if k == "id" and v is not None:
            return v.decode()
    raise AssertionError(f"consumed record without an id header at {got.partition}/{got.offset}: {got}")


def verify(sent: list[Rec], got: list[Got], acked: dict[str, tuple[int, int]] | None = None,
           check_ts: bool = True) -> None:
    """Every sent record consumed exactly once, byte for byte (key, value, headers in order, timestamp);
    offsets increase within a partition; each key stays on one partition, in send order;
    with `acked` (id -> (partition, offset)) every record sits where the producer was told."""
    by_id: dict[str, Got] = {}
    for g in got:
        rid = record_id(g)
        assert rid not in by_id, f"record {rid} consumed twice: {by_id[rid]} and {g}"
        by_id[rid] = g
    missing = [r.id for r in sent if r.id not in by_id]
    assert not missing, f"{len(missing)} of {len(sent)} records not consumed, e.g. {missing[:5]}"
    extra = set(by_id) - {r.id for r in sent}
    assert not extra, f"consumed records that were not sent: {sorted(extra)[:5]}"

    last_offset: dict[int, int] = {}
    for g in sorted(got, key=lambda g: (g.partition, g.offset)):
        assert last_offset.get(g.partition, -1) < g.offset, f"offset {g.offset} repeated in partition {g.partition}"
        last_offset[g.partition] = g.offset

    key_partition: dict[bytes, int] = {}
    key_last: dict[bytes, int] = {}
    for r in sent:
        g = by_id[r.id]
        assert g.key == r.key, f"{r.id}: key {g.key!r} != sent {r.key!r}"
        assert g.value == r.value, f"{r.id}: value differs ({_short(g.value)} != sent {_short(r.value)})"
        assert g.headers == r.headers, f"{r.id}: headers {g.headers!r} != sent {r.headers!r}"
        if check_ts and r.ts is not None:
            assert g.ts == r.ts, f"{r.id}: timestamp {g.ts} != sent {r.ts}"
        if acked is not None:
            assert acked[r.id] == (g.partition, g.offset), \
                f"{r.id}: consumed at {g.partition}/{g.offset}, producer was told {acked[r.id]}"
        if r.key:  # librdkafka's default partitioner spreads empty keys at random, like null ones
            p = key_partition.setdefault(r.key, g.partition)
            assert p == g.partition, f"key {r.key!r} on partitions {p} and {g.partition}"
            assert key_last.get(r.key, -1) < g.offset, f"key {r.key!r} out of send order at offset {g.offset}"
            key_last[r.key] = g.offset


def _short(b: bytes | None) -> str:
    if b is None:
        return "None"
    return f"{len(b)} bytes {b[:40]!r}"


def by_partition(got: list[Got]) -> dict[int, list[Got]]:
    out: dict[int, list[Got]] = defaultdict(list)
    for g in sorted(got, key=lambda g: (g.partition, g.offset)):
        out[g.partition].append(g)
    return out


# ---- RecordBatch v2 framing on disk (Kafka's segment format) -------------------------------------
BATCH_HEADER = struct.Struct(">qiiBIhiqqqhii")  # baseOffset .. recordsCount: 61 bytes


@dataclass
class BatchInfo:
    position: int
    base_offset: int
    last_offset: int
    size: int
    records: int
    compression: int


def scan_segment(data: bytes) -> list[BatchInfo]:
    """Batches in a segment file, stopping at the first incomplete one (no CRC check)."""
    out: list[BatchInfo] = []
    pos = 0
    while pos + BATCH_HEADER.size <= len(data):
        (base, length, _epoch, magic, _crc, attrs, last_delta, _bts, _mts, _pid, _pep, _bseq,
         count) = BATCH_HEADER.unpack_from(data, pos)
        size = length + 12
        if magic != 2 or length < 49 or pos + size > len(data):
            break
        out.append(BatchInfo(pos, base, base + last_delta, size, count, attrs & 7))
        pos += size
    return out


# ---- raw Kafka protocol, for hostile-input tests and readiness checks ----------------------------
def kafka_request(api_key: int, api_version: int, correlation_id: int, body: bytes = b"",
                  client_id: bytes | None = b"oxbow-e2e", flexible: bool = False) -> bytes:
    """A size-prefixed request with a v1 header (api key, version, correlation id, client id), or a v2 header
    (the same plus empty tagged fields) when `flexible`."""
    cid = struct.pack(">h", -1) if client_id is None else struct.pack(">h", len(client_id)) + client_id
    payload = struct.pack(">hhi", api_key, api_version, correlation_id) + cid + (b"\x00" if flexible else b"") + body
    return struct.pack(">i", len(payload)) + payload


def read_response(sock: socket.socket, timeout: float = 10.0) -> bytes | None:
    """One size-prefixed response (without the size), or None if the broker closed the connection."""
    sock.settimeout(timeout)
    head = _recv_exact(sock, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">i", head)
    return _recv_exact(sock, size)


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def wait_closed(sock: socket.socket, timeout: float = 10.0) -> bool:
    """True if the peer closes (EOF or reset) within timeout; any bytes sent before that are ignored."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return True
        except (TimeoutError, socket.timeout):
            return False
        if not chunk:
            return True
    return False
