"""A real server for the benchmarks: ``deadzone serve`` started on 127.0.0.1 from a source
tree, and readings posted to it through ``POST /v1/readings``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson


def start_server(
    env: dict[str, str], port: int, *, tree: Path | None = None
) -> subprocess.Popen[bytes]:
    """``deadzone serve`` on 127.0.0.1:``port``, from the source tree ``tree`` (default:
    this one); returns once it answers."""
    if tree is not None:
        env = with_tree(env, tree)
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        env=env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("server did not start")


def with_tree(env: dict[str, str], tree: Path) -> dict[str, str]:
    """``env`` for a process that runs the code of the source tree ``tree``."""
    return {**env, "PYTHONPATH": os.pathsep.join([str(tree), env.get("PYTHONPATH", "")])}


def post_all(base: str, batches: list[list[dict[str, object]]]) -> float:
    """Post the batches with four clients; return readings per second."""
    bodies = [orjson.dumps({"readings": b}) for b in batches]
    clients = [httpx.Client(base_url=base, timeout=120) for _ in range(4)]

    def send(i: int) -> int:
        r = clients[i % 4].post(
            "/v1/readings", content=bodies[i], headers={"Content-Type": "application/json"}
        )
        r.raise_for_status()
        return int(r.json()["accepted"])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        accepted = sum(pool.map(send, range(len(bodies))))
    elapsed = time.perf_counter() - t0
    for client in clients:
        client.close()
    assert accepted == sum(len(b) for b in batches), accepted
    return accepted / elapsed
