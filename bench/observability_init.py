"""Init Duration of the health function with Powertools Logger, Tracer and Metrics (`observed`),
beside the same handler without them, cold-started alternately in the same local cloud.

Figure: Init Duration p50/p99 of each and their ratio; also the cold invocation's Duration,
which carries what is imported lazily (the X-Ray botocore patch, boto3, the secret, Postgres).
Usage: python bench/observability_init.py [--cold-starts N]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
from dataclasses import replace
from pathlib import Path

from _common import PROJECT_DIR, lambda_only_cloud, machine, percentile
from init_duration import cold_starts

from localcloud.runtime.emulator import FunctionPool
from localcloud.runtime.logs import LogRouter

# functions/health/app.py as it was before `observed`: same logic, same response.
BARE_HANDLER = """
from eventstream.health.service import check_health
from eventstream.http import json_response


def handler(event, context):
    status, body = check_health()
    return json_response(status, body, {"Cache-Control": "no-store"})
"""


def line(name: str, inits: list[float], firsts: list[float]) -> str:
    return (
        f"{name:<28} Init Duration p50 {percentile(inits, 50):6.1f} ms  "
        f"p99 {percentile(inits, 99):6.1f} ms   cold invoke Duration p50 "
        f"{percentile(firsts, 50):6.1f} ms  p99 {percentile(firsts, 99):6.1f} ms"
    )


async def run(times: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cloud = await lambda_only_cloud(Path(tmp))
        try:
            assert cloud.emulator is not None
            observed = cloud.emulator.pools["HealthFunction"]
            observed.logs = LogRouter(io.StringIO())
            bare_dir = Path(tmp) / "bare"
            bare_dir.mkdir()
            (bare_dir / "app.py").write_text(BARE_HANDLER)
            bare = FunctionPool(
                replace(observed.fn, function_name="health-bare", code_dir=bare_dir),
                "arn:health-bare",
                {
                    **observed.env,
                    "PYTHONPATH": observed.env["PYTHONPATH"].replace(
                        str(observed.fn.code_dir), str(bare_dir)
                    ),
                    "LAMBDA_TASK_ROOT": str(bare_dir),
                },
                observed.logs,
                1,
            )
            event = (PROJECT_DIR / "events" / "health_get.json").read_bytes()
            results: dict[str, tuple[list[float], list[float]]] = {
                "with Logger+Tracer+Metrics": ([], []),
                "without (bare handler)": ([], []),
            }
            # Alternate one cold start of each, so drift in the machine hits both alike.
            for _ in range(times):
                for name, pool in zip(results, (observed, bare), strict=True):
                    inits, firsts = await cold_starts(pool, event, 1)
                    results[name][0].extend(inits)
                    results[name][1].extend(firsts)
            print(f"machine: {machine()}")
            print(f"cold starts: {times} each, health function, local cloud, real Postgres")
            for name, (inits, firsts) in results.items():
                print(line(name, inits, firsts))
            (with_i, with_f), (bare_i, bare_f) = results.values()

            def ratio(a: list[float], b: list[float], p: float) -> float:
                return percentile(a, p) / percentile(b, p)

            total_with = percentile(with_i, 50) + percentile(with_f, 50)
            total_bare = percentile(bare_i, 50) + percentile(bare_f, 50)
            print(
                f"ratio with/without: Init p50 {ratio(with_i, bare_i, 50):.2f}x"
                f"  p99 {ratio(with_i, bare_i, 99):.2f}x;"
                f"  Init + cold invoke p50 {total_with / total_bare:.2f}x"
            )
        finally:
            await cloud.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold-starts", type=int, default=15)
    asyncio.run(run(parser.parse_args().cold_starts))


if __name__ == "__main__":
    main()
