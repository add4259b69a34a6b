"""A small headless-Chromium driver over the DevTools protocol (CDP), for the browser tests and the
documentation screenshots.

Chromium (the Debian package ``chromium``) is started with ``--remote-debugging-port=0``; the port it
picked is read from its ``DevToolsActivePort`` file, a page target is opened, and commands go over
one WebSocket (``websocket-client``). The page's console errors, uncaught exceptions and every
network request that is not ``file:`` / ``data:`` / ``about:`` are collected while it loads.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-extensions",
         "--disable-default-apps", "--mute-audio", "--hide-scrollbars", "--remote-allow-origins=*"]


def find_chromium() -> str | None:
    """The Chromium executable, or None when it is not installed."""
    for name in (os.environ.get("STANCEKIT_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class Browser:
    """One headless Chromium with one page; use as a context manager."""

    def __init__(self, executable: str | None = None, *, width: int = 1000, height: int = 800,
                 timeout: float = 30.0):
        self.executable = executable or find_chromium()
        if self.executable is None:
            raise RuntimeError("chromium is not installed")
        self.width, self.height, self.timeout = width, height, timeout
        self._profile = tempfile.mkdtemp(prefix="stancekit-chromium-")
        self._proc = None
        self._ws = None
        self._id = 0
        self.events: list[dict] = []

    # -- life cycle --------------------------------------------------------------------------------
    def __enter__(self) -> "Browser":
        import websocket  # websocket-client

        self._proc = subprocess.Popen(
            [self.executable, *FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-port=0",
             f"--window-size={self.width},{self.height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self._proc.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not start")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            pages = [t for t in json.load(resp) if t.get("type") == "page"]
        self._ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=self.timeout,
                                               suppress_origin=True)
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=False)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._ws is not None:
            try:
                self._ws.close()
            except Exception:
                pass
            self._ws = None
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
            self._proc = None
        shutil.rmtree(self._profile, ignore_errors=True)

    # -- protocol ------------------------------------------------------------------------------------
    def send(self, method: str, **params) -> dict:
        """Send one command and wait for its reply; events arriving meanwhile go to ``self.events``."""
        self._id += 1
        msg_id = self._id
        self._ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = json.loads(self._ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise TimeoutError(method)

    def wait_event(self, method: str, timeout: float | None = None) -> dict:
        deadline = time.monotonic() + (timeout or self.timeout)
        for ev in self.events:
            if ev["method"] == method:
                return ev
        while time.monotonic() < deadline:
            msg = json.loads(self._ws.recv())
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    return msg
        raise TimeoutError(method)

    # -- what the tests use ------------------------------------------------------------------------------
    def open(self, path_or_url: str | Path, settle_s: float = 0.3) -> None:
        """Load a file (or URL) and wait for its load event, then a little for scripts to draw."""
        url = Path(path_or_url).resolve().as_uri() if "://" not in str(path_or_url) else str(path_or_url)
        self.events = []
        self.send("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")
        time.sleep(settle_s)
        self.evaluate("1")  # drain events that arrived while settling

    def evaluate(self, expression: str):
        """The JSON value of a JavaScript expression in the page."""
        res = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise RuntimeError(res["exceptionDetails"].get("text"))
        return res.get("result", {}).get("value")

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen since the last :meth:`open`."""
        errors = []
        for ev in self.events:
            p = ev.get("params", {})
            if ev["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif ev["method"] == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                errors.append(d.get("exception", {}).get("description") or d.get("text", "exception"))
            elif ev["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                errors.append(p["entry"].get("text", ""))
        return errors

    def remote_requests(self) -> list[str]:
        """URLs the page requested that are not local (file:, data:, about:, blob:)."""
        urls = []
        for ev in self.events:
            if ev["method"] == "Network.requestWillBeSent":
                url = ev["params"]["request"]["url"]
                if not url.startswith(("file:", "data:", "about:", "blob:")):
                    urls.append(url)
        return urls

    def screenshot(self, path: str | Path, *, full_page: bool = False, max_height: int = 4000) -> Path:
        """Save a PNG of the viewport (or of the whole page, up to ``max_height`` pixels)."""
        params: dict = {"format": "png"}
        if full_page:
            h = min(int(self.evaluate("document.documentElement.scrollHeight")), max_height)
            params["clip"] = {"x": 0, "y": 0, "width": self.width, "height": h, "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", **params)["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path
