"""Helpers for the studio tests: start `oxbow serve`, read its ready lines, call the API with the token.
(A module of its own, not conftest, so test files can import it without clashing with tests/e2e.)
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
OXBOW_BIN = Path(os.environ.get("OXBOW_BIN") or ROOT / "target" / "debug" / "oxbow")
if not OXBOW_BIN.is_absolute():
    OXBOW_BIN = ROOT / OXBOW_BIN
READY_TIMEOUT_S = 60.0
KAFKA_READY_TIMEOUT_S = 150.0
STUDIO_RE = re.compile(r"^ready studio (http://(127\.0\.0\.1:\d+)/#token=([A-Za-z0-9_-]+))\s*$")
KAFKA_RE = re.compile(r"^ready kafka (\S+:\d+)\s*$")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Studio:
    proc: subprocess.Popen
    url: str
    host: str
    token: str
    bootstrap: str
    profiles_file: Path

    @property
    def base(self) -> str:
        return f"http://{self.host}"

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.base + path, headers=self.headers(), timeout=60, **kw)

    def post(self, path: str, body=None, **kw) -> requests.Response:
        return requests.post(self.base + path, json=body, headers=self.headers(), timeout=120, **kw)

    def patch(self, path: str, body=None) -> requests.Response:
        return requests.patch(self.base + path, json=body, headers=self.headers(), timeout=60)

    def put(self, path: str, body=None) -> requests.Response:
        return requests.put(self.base + path, json=body, headers=self.headers(), timeout=60)

    def delete(self, path: str) -> requests.Response:
        return requests.delete(self.base + path, headers=self.headers(), timeout=60)

    def create_topic(self, name: str | None = None, partitions: int = 1, **configs: str) -> str:
        name = name or unique("t")
        r = self.post("/api/topics", {"name": name, "partitions": partitions, "configs": configs})
        assert r.status_code == 201, r.text
        return name


def _drain(stream, lines: list[str], ready: threading.Event, pattern_count: int) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))
        # The studio line comes last (after one `ready kafka` line per broker).
        if sum(1 for l in lines if l.startswith("ready ")) >= pattern_count and any(l.startswith("ready studio") for l in lines):
            ready.set()
    ready.set()


def start_oxbow(args: list[str], log_path: Path, expect_kafka: bool) -> tuple[subprocess.Popen, list[str]]:
    if not OXBOW_BIN.exists():
        pytest.fail(f"{OXBOW_BIN} does not exist: build it (cargo build -p oxbow) or set OXBOW_BIN", pytrace=False)
    log = open(log_path, "w")
    env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
    proc = subprocess.Popen([str(OXBOW_BIN), "serve", *args], stdout=subprocess.PIPE, stderr=log, text=True, env=env,
                            start_new_session=True)
    lines: list[str] = []
    ready = threading.Event()
    threading.Thread(target=_drain, args=(proc.stdout, lines, ready, 2 if expect_kafka else 1), daemon=True).start()
    if not ready.wait(READY_TIMEOUT_S) or not any(STUDIO_RE.match(l) for l in lines):
        proc.kill()
        pytest.fail(f"oxbow serve {args} did not print its ready lines: {lines}; log: {log_path.read_text()[-2000:]}")
    return proc, lines


def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            return proc.wait(10)
    return proc.returncode


def make_studio(proc: subprocess.Popen, lines: list[str], bootstrap: str, profiles_file: Path) -> Studio:
    m = next(STUDIO_RE.match(l) for l in lines if STUDIO_RE.match(l))
    return Studio(proc=proc, url=m.group(1), host=m.group(2), token=m.group(3), bootstrap=bootstrap,
                  profiles_file=profiles_file)
