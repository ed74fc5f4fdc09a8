"""A real headless Chromium driven over the DevTools protocol: console, network, DOM and screenshot.

Test helper (not a test module). The browser runs offline (the flags of cohortql/report/pdf.py)
with a fresh profile; one page is opened, and everything it logs or requests is recorded.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import websocket

from cohortql.report.pdf import OFFLINE_FLAGS, find_chromium


@dataclass
class PageVisit:
    console: list[dict] = field(default_factory=list)  # console messages, exceptions and log entries
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    value: object = None  # what the probe expression returned
    screenshot: bytes = b""  # PNG of the whole page

    @property
    def errors(self) -> list[dict]:
        return [m for m in self.console if m["level"] in ("error", "exception")]


class _Session:
    def __init__(self, url: str):
        self._socket = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self._next = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        while True:
            reply = json.loads(self._socket.recv())
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.events.append(json.loads(self._socket.recv()))

    def drain(self, seconds: float) -> None:
        """Collect late events (a console error logged after load)."""
        self._socket.settimeout(seconds)
        try:
            while True:
                self.events.append(json.loads(self._socket.recv()))
        except websocket.WebSocketTimeoutException:
            pass
        finally:
            self._socket.settimeout(60)

    def close(self) -> None:
        self._socket.close()


def visit(page: Path, probe: str, width: int = 900) -> PageVisit:
    """Open `page` (a local file), evaluate `probe` (a JS expression) and screenshot the whole page."""
    # Chromium's helpers may still write to the profile as it exits: leftovers are not an error.
    with tempfile.TemporaryDirectory(prefix="cohortql-browser-", ignore_cleanup_errors=True) as profile:
        command = [find_chromium(), *OFFLINE_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
                   "about:blank"]
        browser = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            endpoint = None
            for line in browser.stderr:
                found = re.search(r"DevTools listening on (ws://\S+)", line)
                if found:
                    endpoint = found.group(1)
                    break
            if endpoint is None:
                raise RuntimeError("Chromium did not open its DevTools endpoint")
            return _visit(_Session(endpoint), page, probe, width)
        finally:
            browser.terminate()
            try:
                browser.wait(timeout=20)
            except subprocess.TimeoutExpired:
                browser.kill()


def _visit(devtools: _Session, page: Path, probe: str, width: int) -> PageVisit:
    target = devtools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = devtools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        devtools.send(f"{domain}.enable", session=session)
    devtools.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": 1200, "deviceScaleFactor": 1, "mobile": False}, session=session)
    devtools.events.clear()
    devtools.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
    devtools.wait_for("Page.loadEventFired")
    devtools.drain(1.0)
    result = devtools.send("Runtime.evaluate", {"expression": probe, "returnByValue": True}, session=session)
    shot = devtools.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session)
    found = PageVisit(value=result["result"].get("value"), screenshot=base64.b64decode(shot["data"]))
    for event in devtools.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            found.console.append({"level": "error" if params["type"] in ("error", "assert") else params["type"],
                                  "text": text})
        elif method == "Runtime.exceptionThrown":
            found.console.append({"level": "exception", "text": params["exceptionDetails"].get("text", "")})
        elif method == "Log.entryAdded":
            found.console.append({"level": params["entry"]["level"], "text": params["entry"]["text"]})
        elif method == "Network.requestWillBeSent":
            found.requests.append(params["request"]["url"])
    devtools.close()
    return found
