"""Fixtures for the end-to-end tests: a broker to test against, and helpers to control it.

Which broker (environment):
  OXBOW_TEST_TARGET=oxbow (default)  the fixture starts `$OXBOW_BIN serve --data-dir DIR --kafka-port 0`
                                     (OXBOW_BIN defaults to target/debug/oxbow under the repo root)
  OXBOW_TEST_TARGET=kafka            the fixture starts Apache Kafka from the jars fetched by
                                     scripts/fetch-kafka.sh (scripts/apache-kafka.sh), a differential check
  OXBOW_TEST_BOOTSTRAP=host:port     use an already running broker; tests that need the data dir or process
                                     control (crash, kafka-dump-log) are skipped
Both started kinds print `ready kafka HOST:PORT` on stdout when they serve; the fixture waits for that line.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = os.environ.get("OXBOW_TEST_TARGET", "oxbow").strip().lower()
EXTERNAL = os.environ.get("OXBOW_TEST_BOOTSTRAP", "").strip()
OXBOW_BIN = Path(os.environ.get("OXBOW_BIN") or ROOT / "target" / "debug" / "oxbow")
if not OXBOW_BIN.is_absolute():
    OXBOW_BIN = ROOT / OXBOW_BIN
READY_TIMEOUT = float(os.environ.get("OXBOW_TEST_READY_TIMEOUT", "90" if TARGET == "kafka" else "30"))
READY_RE = re.compile(r"^ready kafka (\S+:\d+)\s*$")

if TARGET not in ("oxbow", "kafka"):
    raise pytest.UsageError(f"OXBOW_TEST_TARGET must be oxbow or kafka, not {TARGET!r}")


def _raise_fd_limit(want: int = 8192) -> None:
    """1,000 idle connections need more than the usual 1024 descriptors, in the test and in the broker."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


_raise_fd_limit()

# `oxbow serve` also starts the studio on 8080 by default; tests that start it directly (not through the
# fixture's command) must not collide on that port either.
os.environ.setdefault("OXBOW_STUDIO_PORT", "0")


def unique(prefix: str) -> str:
    """A fresh topic (or group) name."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Broker:
    """A broker process started by the tests: Oxbow, or Apache Kafka through scripts/apache-kafka.sh.

    start() waits for `ready kafka HOST:PORT`; stop() sends SIGTERM and returns (exit code, seconds);
    kill9() SIGKILLs the whole process group; restart() starts again on the same data dir.
    The port is chosen by the broker (0) on every start, so read `bootstrap` after each (re)start.
    """

    def __init__(self, kind: str, data_dir: Path, log_dir: Path, extra_args: tuple[str, ...] = ()):
        self.kind = kind
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.extra_args = tuple(extra_args)
        self.proc: subprocess.Popen | None = None
        self.bootstrap: str | None = None
        self.bootstraps: list[str] = []  # every broker's address (Oxbow runs three by default)
        self.starts = 0
        self.controllable = True
        self._log_path: Path | None = None

    # -- process control --------------------------------------------------------------------
    def command(self) -> list[str]:
        if self.kind == "oxbow":
            if not OXBOW_BIN.exists():
                pytest.fail(f"{OXBOW_BIN} does not exist: build it (cargo build) or set OXBOW_BIN, "
                            "or run the suite against Apache Kafka with OXBOW_TEST_TARGET=kafka", pytrace=False)
            # --studio-port 0: brokers started side by side must not all claim the studio's 8080.
            return [str(OXBOW_BIN), "serve", "--data-dir", str(self.data_dir), "--kafka-port", "0",
                    "--studio-port", "0", *self.extra_args]
        script = ROOT / "scripts" / "apache-kafka.sh"
        # After a kill -9, Kafka refuses the restarted broker's registration until the old session expires
        # (broker.session.timeout.ms, 9 s by default): shorten it so restarts take seconds, not ten.
        quick = ["--config", "broker.heartbeat.interval.ms=500", "--config", "broker.session.timeout.ms=2500"]
        return ["bash", str(script), "start", "--port", "0", "--data-dir", str(self.data_dir), *quick,
                *self.extra_args]

    def start(self, timeout: float = READY_TIMEOUT) -> str:
        assert self.proc is None or self.proc.poll() is not None, "broker already running"
        self.starts += 1
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log_path = self.log_dir / f"{self.kind}-{self.starts}.log"
        log = open(self._log_path, "w")
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "info")
        env["TMPDIR"] = str(self.log_dir)  # scripts/apache-kafka.sh leaves its config here after a kill -9
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                     env=env, cwd=str(ROOT), start_new_session=True, text=True)
        log.close()
        ready = threading.Event()
        found: list[str] = []
        proc = self.proc

        def pump() -> None:
            assert proc.stdout is not None
            with open(self._log_path.with_suffix(".stdout"), "w") as out:
                for line in proc.stdout:
                    out.write(line)
                    out.flush()
                    m = READY_RE.match(line)
                    if m:
                        found.append(m.group(1))
                        # Oxbow prints one line per broker, then `ready studio`; Kafka one line.
                        if self.kind != "oxbow":
                            ready.set()
                    if line.startswith("ready studio"):
                        ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        ready.wait(timeout)
        if not found:
            code = self.proc.poll()
            self._kill_group()
            why = f"exited with {code}" if code is not None else f"printed no ready line within {timeout:.0f} s"
            pytest.fail(f"{self.kind} broker {why}\n--- log ---\n{self.log_tail()}", pytrace=False)
        self.bootstrap = found[0]
        self.bootstraps = list(found)
        return self.bootstrap

    def stop(self, timeout: float = 15.0) -> tuple[int | None, float]:
        """SIGTERM; returns (exit code, seconds to exit). SIGKILLs after `timeout` (code None then)."""
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None, 0.0)
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill_group()
            return (None, time.monotonic() - t0)
        elapsed = time.monotonic() - t0
        self._kill_group()  # stragglers, if any
        return (code, elapsed)

    def kill9(self) -> None:
        """kill -9 of the broker (its whole process group: for Kafka, the JVM under the launcher script)."""
        self._kill_group()

    def restart(self, timeout: float = READY_TIMEOUT) -> str:
        self.stop()
        return self.start(timeout)

    def _kill_group(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        if not self._log_path or not self._log_path.exists():
            return "(no log)"
        text = self._log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob(f"{self.kind}-*.log")))

    # -- data dir -----------------------------------------------------------------------------
    def partition_dir(self, topic: str, partition: int) -> Path:
        """The partition's directory; for Oxbow's embedded cluster, that of its first replica found
        (each broker keeps its replicas under data_dir/broker-N; the tests' topics have one)."""
        if self.kind == "oxbow":
            found = sorted(self.data_dir.glob(f"broker-*/{topic}-{partition}"))
            if found:
                return found[0]
        return self.data_dir / f"{topic}-{partition}"

    def segments(self, topic: str, partition: int) -> list[Path]:
        return sorted(self.partition_dir(topic, partition).glob("*.log"))


class ExternalBroker:
    """A broker the tests did not start (OXBOW_TEST_BOOTSTRAP): no data dir, no process control."""

    kind = "external"
    controllable = False
    data_dir = None

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap

    def alive(self) -> bool:
        return True


def requires_control(broker) -> None:
    if not getattr(broker, "controllable", False):
        pytest.skip("needs the broker's data dir / process control; OXBOW_TEST_BOOTSTRAP points at an external broker")


# ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    """The shared broker most tests use (started once per session)."""
    if EXTERNAL:
        yield ExternalBroker(EXTERNAL)
        return
    base = tmp_path_factory.mktemp("broker")
    b = Broker(TARGET, base / "data", base / "logs")
    b.start()
    yield b
    code, secs = b.stop()
    if os.environ.get("OXBOW_TEST_KEEP_LOGS"):
        dest = ROOT / ".cache" / "e2e-logs"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copytree(base / "logs", dest / f"session-{int(time.time())}", dirs_exist_ok=True)


@pytest.fixture
def bootstrap(broker) -> str:
    assert broker.alive(), f"the shared broker died\n{getattr(broker, 'log_tail', lambda: '')()}"
    return broker.bootstrap


@pytest.fixture
def own_broker(tmp_path):
    """Factory for a broker of the test's own (kill -9, restart, data-dir surgery). Skipped in external mode."""
    if EXTERNAL:
        pytest.skip("needs process control; OXBOW_TEST_BOOTSTRAP points at an external broker")
    started: list[Broker] = []

    def make(*extra_args: str, start: bool = True) -> Broker:
        n = len(started)
        b = Broker(TARGET, tmp_path / f"data{n}", tmp_path / f"logs{n}", extra_args)
        started.append(b)
        if start:
            b.start()
        return b

    yield make
    for b in started:
        b.stop()


def wait_until(cond, timeout: float = 15.0, interval: float = 0.05, what: str = "condition"):
    """Polls cond() until it returns a truthy value; fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def pytest_report_header(config):
    if EXTERNAL:
        return f"e2e target: external broker at {EXTERNAL}"
    if TARGET == "kafka":
        return "e2e target: Apache Kafka (scripts/apache-kafka.sh)"
    return f"e2e target: oxbow ({OXBOW_BIN})"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, attach the tail of the shared broker's log to the report."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        b = item.funcargs.get("broker")
        if b is None and "bootstrap" in item.funcargs:
            try:
                b = item._request.getfixturevalue("broker")
            except Exception:  # noqa: BLE001 - best effort only
                b = None
        if isinstance(b, Broker):
            rep.sections.append(("broker log (tail)", b.log_tail(40)))
