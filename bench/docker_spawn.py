"""Docker spawn-to-ready of the docker runtime against bare ``docker run`` of the same image.

    python bench/docker_spawn.py [ROUNDS]

Per round (medians printed, side by side, with ratios):
  bare run      ``docker run --rm IMAGE python -c pass`` (container create + start + exit)
  bare server   ``docker run -d -p`` of the image's own entrypoint (``runner agent serve``),
                polled on ``/health`` until 200, then ``docker rm -f``
  runtime       ``DockerRuntime.spawn(info).start()`` (labels, limits, env-file, mount, the
                protocol client's health check) until ready; its stop is timed apart.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from runner.agents.model import AgentInfo
from runner.context import RunContext
from runner.docker.client import client_path
from runner.images.build import build_images
from runner.runtimes.docker import DockerRuntime
from runner.spec.models import AgentDef, Resources

CLIENT = client_path()


def bare_run(image: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([CLIENT, "run", "--rm", "--entrypoint", "/opt/runner/bin/python", image, "-c", "pass"],
                   check=True, capture_output=True)
    return time.perf_counter() - t0


def bare_server(image: str) -> float:
    t0 = time.perf_counter()
    cid = subprocess.run([CLIENT, "run", "-d", "-p", "127.0.0.1::8080", image, "--id", "bench",
                          "--http", "0.0.0.0:8080", "--command", "cat"],
                         check=True, capture_output=True, text=True).stdout.strip()
    try:
        port = subprocess.run([CLIENT, "port", cid, "8080/tcp"], check=True, capture_output=True,
                              text=True).stdout.split(":")[-1].strip()
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.02)
        return time.perf_counter() - t0
    finally:
        subprocess.run([CLIENT, "rm", "-f", cid], capture_output=True)


def runtime_round(rt: DockerRuntime, i: int) -> tuple[float, float]:
    d = AgentDef(type="command", command=("cat",), resources=Resources(cpu=1.0, memory=512 * 1024 * 1024))
    h = rt.spawn(AgentInfo(id=f"bench{i}", name="bench", type="command", definition=d))
    t0 = time.perf_counter()
    h.start()
    ready = time.perf_counter() - t0
    t1 = time.perf_counter()
    h.stop()
    return ready, time.perf_counter() - t1


def main(rounds: int) -> None:
    image = build_images(["agent-base"], client=CLIENT)[-1].tag
    with tempfile.TemporaryDirectory() as work:
        rt = DockerRuntime(RunContext(workdir=Path(work)), {"image": image, "stop_timeout": 5})
        bare_run(image), bare_server(image), runtime_round(rt, -1)  # warm the page cache
        runs, servers, readies, stops = [], [], [], []
        for i in range(rounds):
            runs.append(bare_run(image))
            servers.append(bare_server(image))
            ready, stop = runtime_round(rt, i)
            readies.append(ready)
            stops.append(stop)
        rt.cleanup()
    med = statistics.median
    print(f"image {image}, {rounds} rounds, medians:")
    print(f"  {'bare docker run':<28}{'bare server to /health':<28}{'runtime spawn-to-ready':<28}")
    print(f"  {med(runs) * 1000:>8.0f} ms{'':<17}{med(servers) * 1000:>8.0f} ms{'':<17}"
          f"{med(readies) * 1000:>8.0f} ms")
    print(f"  runtime / bare run = {med(readies) / med(runs):.2f}x; "
          f"runtime / bare server = {med(readies) / med(servers):.2f}x; runtime stop {med(stops) * 1000:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 5)
