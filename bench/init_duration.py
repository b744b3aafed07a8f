"""Init Duration of each function of template.yaml, and the imports that dominate it.

Figure: Init Duration (worker start to the runtime's first /next) over several cold starts,
and the Duration of the cold invocation that follows, run in the local cloud with its real
Postgres and secret; beside a baseline measured in the same run: a handler that imports nothing.
Usage: python bench/init_duration.py [--cold-starts N]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from _common import PROJECT_DIR, lambda_only_cloud, machine, percentile

from localcloud.runtime.emulator import FunctionPool
from localcloud.runtime.logs import LogRouter


async def cold_starts(
    pool: FunctionPool, event: bytes, times: int
) -> tuple[list[float], list[float]]:
    inits, firsts = [], []
    for _ in range(times):
        await pool.close()  # every round starts from no worker at all
        done = await (await pool.invoke(event, None)).finished()
        assert done.report is not None, done.result.payload
        report = done.report.result()
        assert report.init_duration_ms is not None
        inits.append(report.init_duration_ms)
        firsts.append(report.duration_ms)
    await pool.close()
    return inits, firsts


def top_imports(pool: FunctionPool, count: int = 6) -> list[tuple[str, float]]:
    """Cumulative import time of what the handler module imports, from `python -X importtime`."""
    fn = pool.fn
    module = fn.handler.rsplit(".", 1)[0]
    # With the worker's view of the installed packages (localcloud.runtime.lambda_python).
    fence = "import os, localcloud.runtime.lambda_python as w; w.install(os.environ)"
    code = f"{fence}; import {module}"
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=fn.code_dir,
        env={**os.environ, **pool.env},
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    totals: dict[str, float] = {}
    for line in out.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( +)(\S+)", line)
        # Depth 1 is the interpreter's own start-up and the handler module; depth 2 its imports.
        if m and len(m.group(2)) in (1, 3) and m.group(3) != module:
            totals[m.group(3)] = totals.get(m.group(3), 0.0) + int(m.group(1)) / 1000
    return sorted(totals.items(), key=lambda kv: -kv[1])[:count]


def sample_event(pool: FunctionPool) -> bytes:
    candidates = sorted((PROJECT_DIR / "events").glob(f"{pool.fn.code_dir.name}_*.json"))
    return candidates[0].read_bytes() if candidates else b"{}"


async def run(times: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cloud = await lambda_only_cloud(Path(tmp))
        try:
            assert cloud.emulator is not None
            quiet = LogRouter(io.StringIO())
            empty = Path(tmp) / "empty"
            empty.mkdir()
            (empty / "app.py").write_text("def handler(event, context):\n    return {}\n")
            some = next(iter(cloud.emulator.pools.values()))
            baseline = FunctionPool(
                replace(some.fn, function_name="baseline", code_dir=empty, layer_dirs=()),
                "arn:baseline",
                {**some.env, "PYTHONPATH": str(empty), "LAMBDA_TASK_ROOT": str(empty)},
                quiet,
                1,
            )
            base_init, base_first = await cold_starts(baseline, b"{}", times)
            print(f"machine: {machine()}")
            print(
                f"baseline (empty handler): Init Duration p50 {percentile(base_init, 50):.1f} ms"
                f"  first invoke p50 {percentile(base_first, 50):.1f} ms"
            )
            for lid, pool in cloud.emulator.pools.items():
                pool.logs = quiet
                inits, firsts = await cold_starts(pool, sample_event(pool), times)
                p50 = percentile(inits, 50)
                print(
                    f"{lid}: Init Duration p50 {p50:.1f} ms  max {max(inits):.1f} ms "
                    f"(ratio to baseline {p50 / percentile(base_init, 50):.2f}x; target <= 300 ms)"
                    f"; cold invoke Duration p50 {percentile(firsts, 50):.1f} ms"
                )
                imports = ", ".join(f"{name} {ms:.0f} ms" for name, ms in top_imports(pool))
                print(f"  dominant imports at init: {imports}")
                print(f"  sample event: {json.loads(sample_event(pool)).get('path', '-')}")
        finally:
            await cloud.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold-starts", type=int, default=7)
    asyncio.run(run(parser.parse_args().cold_starts))


if __name__ == "__main__":
    main()
