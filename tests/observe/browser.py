"""Headless Chromium (Debian's ``chromium``, installed by ``.ci/setup-chromium.sh``) driven over
the Chrome DevTools Protocol with ``websocket-client``: open a page, evaluate JavaScript in it,
collect console errors and exceptions, take screenshots at given widths.

    with Browser() as b:
        page = b.open(Path("report.html"))
        page.eval("document.querySelectorAll('.node').length"), page.errors, page.screenshot(1200)
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--remote-allow-origins=*", "--hide-scrollbars", "about:blank"]


class Page:
    """One tab: ``eval`` JavaScript, read ``errors`` (console errors, exceptions, failed loads)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._id = 0
        self.errors: list[str] = []
        self.requests: list[str] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        my = self._id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._note(msg)

    def _note(self, msg: dict[str, Any]) -> None:
        method, p = msg.get("method"), msg.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append(json.dumps(p.get("args")))
        elif method == "Runtime.exceptionThrown":
            self.errors.append(json.dumps(p.get("exceptionDetails")))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            self.errors.append(p["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            self.requests.append(p.get("request", {}).get("url", ""))

    def wait_event(self, name: str, timeout: float = 30) -> None:
        self.ws.settimeout(timeout)
        while True:
            msg = json.loads(self.ws.recv())
            self._note(msg)
            if msg.get("method") == name:
                return

    def eval(self, expression: str) -> Any:
        res = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def screenshot(self, width: int, height: int = 900, scale: float = 1.0) -> bytes:
        """A PNG of the page laid out ``width`` pixels wide (``scale`` < 1: a smaller picture)."""
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        self.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": scale}
        return base64.b64decode(self.send("Page.captureScreenshot", format="png", clip=clip)["data"])


class Browser:
    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="runner-chromium-")
        self.proc: subprocess.Popen[str] | None = None
        self.ws: Any = None

    def __enter__(self) -> Browser:
        import websocket

        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        url = self._devtools_url()
        import urllib.request

        port = re.search(r":(\d+)/", url).group(1)  # type: ignore[union-attr]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            target = next(t for t in json.load(resp) if t.get("type") == "page")
        self.ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        return self

    def _devtools_url(self) -> str:
        assert self.proc is not None and self.proc.stderr is not None
        deadline = time.monotonic() + 60
        seen = []
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                return m.group(1)
        raise RuntimeError("chromium did not start: " + "".join(seen[-20:]))

    def open(self, path: Path) -> Page:
        page = Page(self.ws)
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(f"{domain}.enable")
        page.send("Page.navigate", url=Path(path).resolve().as_uri())
        page.wait_event("Page.loadEventFired")
        return page

    def __exit__(self, *exc: object) -> None:
        if self.ws is not None:
            self.ws.close()
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 9)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=30)
            if self.proc.stderr is not None:
                self.proc.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def png_variance(png: bytes) -> float:
    """Variance of the grey levels of a PNG (8-bit RGB/RGBA, as Chromium writes): 0 for a blank page."""
    import struct
    import zlib

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    height = bpp = 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        data = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    total = total_sq = n = 0
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):  # undo the PNG filter of this line
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        for x in range(0, stride, bpp * 4):  # every 4th pixel is plenty
            grey = (line[x] + line[x + 1] + line[x + 2]) / 3
            total += grey
            total_sq += grey * grey
            n += 1
    mean = total / n
    return total_sq / n - mean * mean
