"""KafkaJS (Node): runs node/kafkajs_test.mjs against the broker. Its consumer uses a consumer group
(KafkaJS has no assign()), so this test also needs the broker's group coordinator."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "node" / "kafkajs_test.mjs"


def test_kafkajs(bootstrap):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node not found: run scripts/setup-test-deps.sh", pytrace=False)
    if not (HERE / "node" / "node_modules" / "kafkajs").is_dir():
        pytest.fail("tests/e2e/node/node_modules missing: run scripts/setup-test-deps.sh", pytrace=False)
    env = dict(os.environ, OXBOW_TEST_BOOTSTRAP=bootstrap)
    r = subprocess.run([node, str(SCRIPT)], cwd=str(HERE / "node"), env=env, capture_output=True, text=True,
                       timeout=150)
    print(r.stdout)
    assert r.returncode == 0, f"kafkajs_test.mjs exited {r.returncode}\n{r.stdout}\n{r.stderr}"
