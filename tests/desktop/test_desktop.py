"""Desktop smoke test: the real `oxbow-desktop` binary in a real WebKitGTK window under Xvfb, driven
through tauri-driver and Debian's WebKitWebDriver.

It checks what only the desktop app does: the embedded broker starts in-process and the window shows
it, the token reaches the page without a URL, a topic made by a Kafka client appears, a second launch
hands over to the first, the window size and the last cluster are remembered, and the app stops
cleanly.
"""

import contextlib
import os
import pathlib
import signal
import subprocess
import time
import uuid

import requests
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import free_port, screenshot
from webdriver import Session

BROKERS_TABLE = "//table[@aria-labelledby='brokers-title']"


@contextlib.contextmanager
def desktop_app(tauri_driver, desktop_bin, kafka_port, *args):
    """The app launched through tauri-driver; at the end its window is closed and the app must exit."""
    capabilities = {
        "alwaysMatch": {
            # One broker: this tests the desktop shell, not the cluster (three brokers would also
            # need the two ports after kafka_port free).
            "tauri:options": {"application": str(desktop_bin), "args": ["--kafka-port", str(kafka_port), "--brokers", "1", *args]}
        }
    }
    session = Session(tauri_driver, capabilities)
    try:
        yield session
        # Stop the app as a session ending does (SIGTERM): it must close its window and stop the broker
        # cleanly by itself, saving the window state. (Ending the WebDriver session instead would kill
        # the app outright, which says nothing about its own shutdown.)
        pids = app_pids(kafka_port)
        assert pids, f"the app with --kafka-port {kafka_port} is not running"
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        wait_until_gone(kafka_port)
    finally:
        try:
            session.close()
        except Exception:
            pass  # the app is gone already, or the test failed and the driver is killing it
        wait_until_gone(kafka_port)


def wait_for_broker_row(session, kafka_port):
    return session.wait_for(
        f"{BROKERS_TABLE}//td[contains(., '127.0.0.1:{kafka_port}')]",
        f"the embedded broker 127.0.0.1:{kafka_port} in the cluster overview",
        timeout_s=60,
    )


def app_pids(kafka_port):
    """Processes of the desktop app launched with this Kafka port."""
    out = subprocess.run(["pgrep", "-f", f"oxbow-desktop.*--kafka-port {kafka_port}"], capture_output=True, text=True)
    return [int(pid) for pid in out.stdout.split()]


def wait_until_gone(kafka_port, timeout_s=20):
    """Closing the session closes the window, which must stop the app (and its broker) cleanly."""
    deadline = time.monotonic() + timeout_s
    while app_pids(kafka_port):
        if time.monotonic() > deadline:
            for pid in app_pids(kafka_port):
                os.kill(pid, signal.SIGKILL)  # leave nothing behind for the next test
            raise AssertionError(f"the app with --kafka-port {kafka_port} was still running {timeout_s} s after its window closed")
        time.sleep(0.2)


def studio_api(session):
    """The studio's origin and token, as the page itself has them."""
    origin = session.execute("return window.location.origin")
    token = session.execute("return window.__OXBOW_TOKEN__")
    return origin, {"Authorization": f"Bearer {token}"}


def test_the_window_shows_the_embedded_broker_and_a_topic_made_by_a_kafka_client(tauri_driver, desktop_bin, artifacts):
    kafka_port = free_port()
    with desktop_app(tauri_driver, desktop_bin, kafka_port, "--ephemeral") as session:
        wait_for_broker_row(session, kafka_port)
        assert session.text(session.wait_for("//*[@data-testid='broker-count']", "the broker count")) == "1"
        # The shell handed the token over directly: the page has it, its address never did.
        assert session.execute("return (window.__OXBOW_TOKEN__ || '').length") >= 32
        assert "token" not in session.execute("return window.location.href")
        screenshot(artifacts / "cluster-overview.png")

        topic = f"desktop-smoke-{uuid.uuid4().hex[:8]}"
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{kafka_port}"})
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(timeout=30)

        session.click(session.wait_for("//nav[@aria-label='Main']//a[normalize-space()='Topics']", "the Topics link"))
        row = f"//table[@aria-label='Topics']//tr[.//*[normalize-space()='{topic}']]"
        session.wait_for(row, f"topic {topic} in the list")
        session.wait_for(f"{row}/td[normalize-space()='3']", f"3 partitions in the row of {topic}")
        screenshot(artifacts / "topics.png")


def test_a_second_launch_hands_over_to_the_first_and_exits(tauri_driver, desktop_bin, desktop_env):
    assert desktop_env.get("DBUS_SESSION_BUS_ADDRESS"), "no session bus: run through `make test-desktop` (dbus-run-session)"
    kafka_port = free_port()
    with desktop_app(tauri_driver, desktop_bin, kafka_port, "--ephemeral") as session:
        wait_for_broker_row(session, kafka_port)
        second_port = free_port()
        second = subprocess.run(
            [str(desktop_bin), "--ephemeral", "--kafka-port", str(second_port)],
            env=desktop_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 0, second.stderr[-2000:]
        # It handed over before starting a stack of its own, and the first one still serves.
        assert "broker listening" not in second.stderr, second.stderr[-2000:]
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{kafka_port}"})
        assert admin.list_topics(timeout=10).brokers


def test_window_size_and_last_cluster_are_remembered_and_data_survives_a_restart(tauri_driver, desktop_bin, tmp_path, home):
    kafka_port = free_port()
    data_dir = tmp_path / "data"
    args = ("--data-dir", str(data_dir))
    topic = f"kept-{uuid.uuid4().hex[:8]}"

    with desktop_app(tauri_driver, desktop_bin, kafka_port, *args) as session:
        wait_for_broker_row(session, kafka_port)
        session.command("POST", "/window/rect", {"width": 1100, "height": 700})
        assert session.command("GET", "/window/rect")["width"] == 1100
        origin, headers = studio_api(session)
        # A second connection profile to the same broker, chosen in this run.
        profile = {"name": "second-view", "bootstrap_servers": f"127.0.0.1:{kafka_port}"}
        assert requests.post(f"{origin}/api/profiles", json=profile, headers=headers, timeout=30).status_code in (200, 201)
        assert requests.put(f"{origin}/api/profiles/active", json={"name": "second-view"}, headers=headers, timeout=30).ok
        created = requests.post(f"{origin}/api/topics", json={"name": topic, "partitions": 1, "replication_factor": 1}, headers=headers, timeout=30)
        assert created.status_code in (200, 201), created.text
    # Closing the window stopped the app and released the data dir: the next launch can lock it.

    with desktop_app(tauri_driver, desktop_bin, kafka_port, *args) as session:
        badge = session.wait_for("//*[@title='Active connection profile']", "the active profile badge", timeout_s=60)
        assert session.text(badge) == "second-view"
        rect = session.command("GET", "/window/rect")
        assert (rect["width"], rect["height"]) == (1100, 700), rect
        session.click(session.wait_for("//nav[@aria-label='Main']//a[normalize-space()='Topics']", "the Topics link"))
        session.wait_for(f"//table[@aria-label='Topics']//*[normalize-space()='{topic}']", f"topic {topic} after the restart")
    state = pathlib.Path(home) / ".config" / "dev.oxbow.studio" / ".window-state.json"
    assert state.is_file(), f"{state} was not written"


def press_in_window(keys):
    """Types `keys` (e.g. "ctrl+n") into the app's window through the X server, as a person would."""
    window = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "Oxbow"], capture_output=True, text=True, timeout=10)
    ids = window.stdout.split()
    assert ids, "no visible Oxbow window"
    subprocess.run(["xdotool", "windowfocus", "--sync", ids[0], "key", "--clearmodifiers", keys], check=True, timeout=10)


def test_the_native_menu_opens_the_connection_form_and_quits_cleanly(tauri_driver, desktop_bin, artifacts, tmp_path):
    kafka_port = free_port()
    capabilities = {
        "alwaysMatch": {
            "tauri:options": {
                "application": str(desktop_bin),
                "args": ["--kafka-port", str(kafka_port), "--brokers", "1", "--data-dir", str(tmp_path / "data")],
            }
        }
    }
    session = Session(tauri_driver, capabilities)
    try:
        wait_for_broker_row(session, kafka_port)
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{kafka_port}"})
        admin.create_topics([NewTopic("quit-check", num_partitions=1, replication_factor=1)])["quit-check"].result(timeout=30)
        # File > New Connection… by its accelerator: the connection form opens.
        press_in_window("ctrl+n")
        session.wait_for("//dialog[@open][.//*[normalize-space()='Add connection']]", "the Add connection form")
        assert session.execute("return window.location.hash") == "#/profiles"
        screenshot(artifacts / "new-connection.png")
        # File > Quit: the app stops by itself, closing its broker cleanly.
        press_in_window("ctrl+q")
        wait_until_gone(kafka_port)
    finally:
        try:
            session.close()
        except Exception:
            pass
        wait_until_gone(kafka_port)
    # Quit stopped the broker cleanly: each log's checkpoint says so.
    checkpoint = (tmp_path / "data" / "broker-1" / "quit-check-0" / "oxbow.checkpoint").read_text()
    assert "clean-shutdown 1" in checkpoint.splitlines(), checkpoint


def test_a_stack_that_cannot_start_says_why_in_the_window(tauri_driver, desktop_bin, tmp_path):
    """The data dir is locked by a running `oxbow serve`: the app shows the reason instead of vanishing."""
    data_dir = tmp_path / "data"
    oxbow = pathlib.Path(os.environ.get("OXBOW_BIN", pathlib.Path(desktop_bin).parent / "oxbow"))
    serve = subprocess.Popen(
        [str(oxbow), "serve", "--data-dir", str(data_dir), "--kafka-port", "0", "--studio-port", "0", "--brokers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert serve.stdout.readline().startswith("ready kafka"), "oxbow serve did not start"
        kafka_port = free_port()
        with desktop_app(tauri_driver, desktop_bin, kafka_port, "--data-dir", str(data_dir)) as session:
            session.wait_for("//h1[normalize-space()='Oxbow could not start']", "the start-up error page")
            reason = session.text(session.wait_for("//*[@id='reason']", "the reason"))
            assert "locked by another running Oxbow" in reason and str(data_dir) in reason, reason
    finally:
        serve.terminate()
        assert serve.wait(timeout=20) == 0
