"""The few W3C WebDriver commands the desktop smoke test needs, over plain HTTP.

tauri-driver speaks W3C WebDriver and forwards to Debian's WebKitWebDriver, which drives the app's
WebKitGTK webview. A dozen requests are all we use, so no client library (and nothing that could try
to download a browser driver) is involved.
"""

import time

import requests

ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"
REQUEST_TIMEOUT_S = 60


class WebDriverError(Exception):
    pass


class Session:
    def __init__(self, base_url, capabilities):
        self.base_url = base_url.rstrip("/")
        reply = self._call("POST", "/session", {"capabilities": capabilities})
        self.id = reply["sessionId"]

    def _call(self, method, path, body=None):
        response = requests.request(method, self.base_url + path, json=body, timeout=REQUEST_TIMEOUT_S)
        payload = response.json() if response.content else {}
        value = payload.get("value") if isinstance(payload, dict) else None
        if response.status_code >= 400:
            detail = value.get("message") if isinstance(value, dict) else response.text
            raise WebDriverError(f"{method} {path}: HTTP {response.status_code}: {detail}")
        return value if path != "/session" else value

    def command(self, method, path, body=None):
        return self._call(method, f"/session/{self.id}{path}", body)

    def execute(self, script, *args):
        return self.command("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find_all(self, xpath):
        found = self.command("POST", "/elements", {"using": "xpath", "value": xpath})
        return [element[ELEMENT_KEY] for element in found]

    def text(self, element):
        return self.command("GET", f"/element/{element}/text")

    def click(self, element):
        self.command("POST", f"/element/{element}/click", {})

    def wait_for(self, xpath, what, timeout_s=30):
        """The first element matching `xpath`, waiting up to `timeout_s`; fails naming `what`."""
        deadline = time.monotonic() + timeout_s
        while True:
            elements = self.find_all(xpath)
            if elements:
                return elements[0]
            if time.monotonic() > deadline:
                page = self.execute("return document.body ? document.body.innerText : ''")
                raise AssertionError(f"{what}: not shown within {timeout_s} s; the page shows:\n{page[:2000]}")
            time.sleep(0.25)

    def close(self):
        self._call("DELETE", f"/session/{self.id}")
