"""Start-up time of `python app.py`: process start to the first 200 on `/`, on a fresh SQLite file each run.

Baseline in the same run: a bare `python -c "import gradio"`, the floor any Gradio app pays.
Usage: python bench/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_start(folder: Path) -> float:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'athena.db'}",
        "ATHENA_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "LOG_LEVEL": "WARNING",
    }
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError("app exited during start-up")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def import_gradio() -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import gradio"],
        check=True,
        env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"},
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(f"machine: {os.cpu_count()} CPUs, {cpu}; Python {platform.python_version()}")
    starts, imports = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            starts.append(one_start(Path(tmp)))
        imports.append(import_gradio())
    for name, values in (("python app.py to first page", starts), ("baseline: import gradio", imports)):
        print(
            f"{name:32} median {statistics.median(values):.2f} s  min {min(values):.2f} s  "
            f"max {max(values):.2f} s  ({len(values)} runs)"
        )


if __name__ == "__main__":
    main()
