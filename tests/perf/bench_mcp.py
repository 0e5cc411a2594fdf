"""MCP servers through the broker against a plain `docker run -i --rm`, in the same run.

Figure (issue #18): from `start NAME` on the broker's socket to the server's `initialize`
answer, against the same image answering it when created, attached and started directly
(what `docker run -i --rm` does); median of interleaved runs; target <= 1.5x.
Run: .venv/bin/python tests/perf/bench_mcp.py
"""

from __future__ import annotations

import socket
import statistics
import sys
import time
import uuid
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

from container.image import DEFAULT_IMAGE
from tests.security.mcp_echo import (
    build_echo_image,
    first_answer,
    rpc,
    running_broker,
)

ROUNDS = 7
INIT = (rpc(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {}}) + "\n").encode()


def via_broker(path: str) -> float:
    started = time.perf_counter()
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        s.sendall(b"start echo\n")
        if s.recv(3) != b"ok\n":
            raise RuntimeError("the broker refused to start the server")
        answer = first_answer(s, INIT)
    took = time.perf_counter() - started
    if b"echo-test" not in answer:
        raise RuntimeError(f"unexpected answer: {answer[:200]!r}")
    return took


def plain_run(engine: docker.DockerClient, image: str) -> float:
    started = time.perf_counter()
    c = engine.containers.create(image, stdin_open=True)
    try:
        sock = c.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
        raw = sock._sock
        c.start()
        answer = first_answer(raw, INIT)
        took = time.perf_counter() - started
        raw.close()
    finally:
        c.remove(force=True)
    if b"echo-test" not in answer:
        raise RuntimeError(f"unexpected answer: {answer[:200]!r}")
    return took


def main() -> int:
    engine = docker.from_env()
    server = build_echo_image(engine, DEFAULT_IMAGE)
    name = f"claudexmcpbench-{uuid.uuid4().hex[:8]}"  # not claudexbench*: bench_cli removes those
    try:
        with running_broker(engine, DEFAULT_IMAGE, name, {"echo": {"image": server}}):
            path = engine.api.inspect_volume(name)["Mountpoint"] + "/broker.sock"
            brokered: list[float] = []
            plain: list[float] = []
            for i in range(ROUNDS + 1):  # interleaved; the first round warms caches
                b, p = via_broker(path), plain_run(engine, server)
                if i:
                    brokered.append(b)
                    plain.append(p)
    finally:
        engine.images.remove(server, force=True)
    ours, floor = statistics.median(brokered), statistics.median(plain)
    ratio = ours / floor
    verdict = "ok" if ratio <= 1.5 else "OVER TARGET"
    print(
        f"{'claudex-mcp NAME to the initialize answer':<48} broker {ours * 1000:7.0f} ms   "
        f"docker run -i {floor * 1000:7.0f} ms   ratio {ratio:4.2f} (target <= 1.5) {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
