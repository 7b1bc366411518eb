"""Fixtures for the desktop smoke test: tauri-driver in front of WebKitWebDriver, under Xvfb.

Run through `make test-desktop`, which wraps pytest in `xvfb-run` (a display) and
`dbus-run-session` (a session bus, which the single-instance check uses).
"""

import os
import pathlib
import shutil
import socket
import subprocess
import time

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "target" / "test-artifacts" / "desktop"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def desktop_bin():
    path = pathlib.Path(os.environ.get("OXBOW_DESKTOP_BIN", ROOT / "target" / "debug" / "oxbow-desktop")).resolve()
    assert path.is_file(), f"{path} is missing: build it with `cargo build -p oxbow-desktop`"
    return path


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def screenshot(path):
    """The whole Xvfb screen (window, native menu and all) as a PNG artifact.

    Taken from the X server rather than through WebDriver: WebKitWebDriver's screenshot waits for a
    rendering update that a page with live polling may not deliver in time under Xvfb.
    """
    xwd = subprocess.run(["xwd", "-root", "-silent"], capture_output=True, check=True, timeout=30).stdout
    subprocess.run(["/usr/bin/convert", "xwd:-", f"png:{path}"], input=xwd, check=True, timeout=60)


@pytest.fixture()
def home(tmp_path):
    """A fresh HOME: the app's remembered window state and profiles start empty and stay here."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture()
def desktop_env(home):
    env = dict(os.environ)
    env["HOME"] = str(home)
    env.pop("XDG_CONFIG_HOME", None)
    env.pop("XDG_DATA_HOME", None)
    # WebKitGTK under Xvfb has no GPU: without these its pages can stay blank.
    env["WEBKIT_DISABLE_COMPOSITING_MODE"] = "1"
    env["WEBKIT_DISABLE_DMABUF_RENDERER"] = "1"
    assert env.get("DISPLAY"), "no DISPLAY: run the desktop tests through `make test-desktop` (xvfb-run)"
    return env


@pytest.fixture()
def tauri_driver(desktop_env, tmp_path):
    driver = shutil.which("tauri-driver") or str(pathlib.Path.home() / ".cargo" / "bin" / "tauri-driver")
    assert pathlib.Path(driver).is_file(), "tauri-driver is missing: `cargo install tauri-driver --locked`"
    port, native_port = free_port(), free_port()
    log = open(tmp_path / "tauri-driver.log", "wb")
    process = subprocess.Popen(
        [driver, "--port", str(port), "--native-port", str(native_port)],
        env=desktop_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url + "/status", timeout=2)
            break
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise AssertionError("tauri-driver did not start: " + (tmp_path / "tauri-driver.log").read_text())
            time.sleep(0.2)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
