"""`eventstream local up` to ready, installs already done and the Postgres data dir reused.

Figure: seconds from the command to its `Ready` line, over several runs, beside a baseline in
the same run: starting moto's server alone (the slowest single part) to its first answer.
Usage: python bench/local_up.py [--runs N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import PROJECT_DIR, machine, new_cloud, percentile

from tests.support import free_port


def time_up(state_dir: Path) -> float:
    cloud = new_cloud(state_dir, [PROJECT_DIR / "template.yaml"])
    t0 = time.perf_counter()
    cloud.start()
    elapsed = time.perf_counter() - t0
    cloud.stop()
    return elapsed


def time_moto_alone() -> float:
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
                return time.perf_counter() - t0
            except OSError:
                time.sleep(0.02)
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        first = time_up(state)  # creates the Postgres data dir: not counted
        runs = [time_up(state) for _ in range(args.runs)]
    base = [time_moto_alone() for _ in range(args.runs)]
    print(f"machine: {machine()}")
    print(f"first run (initdb included, not counted): {first:.2f} s")
    print(f"baseline moto server alone to first answer: p50 {percentile(base, 50):.2f} s")
    print(
        f"local up to ready: p50 {percentile(runs, 50):.2f} s  max {max(runs):.2f} s  "
        f"(ratio to baseline {percentile(runs, 50) / percentile(base, 50):.2f}x; target <= 5 s)"
    )


if __name__ == "__main__":
    main()
