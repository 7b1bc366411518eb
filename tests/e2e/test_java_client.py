"""The Apache Kafka Java client (kafka-clients 4.x): runs java/ JavaClientCheck against the broker.
Consumers use assign(); the producer is idempotent (the Java client's default)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
JAVA = HERE / "java"


def test_java_client(bootstrap):
    classpath = JAVA / "target" / "classpath.txt"
    if not classpath.exists() or not (JAVA / "target" / "classes").is_dir():
        pytest.fail("tests/e2e/java is not built: run scripts/setup-test-deps.sh", pytrace=False)
    java = shutil.which("java")
    assert java, "java not found"
    cp = f"{JAVA / 'target' / 'classes'}:{classpath.read_text().strip()}"
    r = subprocess.run([java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", cp,
                        "dev.oxbow.e2e.JavaClientCheck", bootstrap],
                       capture_output=True, text=True, timeout=170)
    print(r.stdout)
    assert r.returncode == 0, f"JavaClientCheck exited {r.returncode}\n{r.stdout}\n{r.stderr[-6000:]}"
