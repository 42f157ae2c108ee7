"""Soak: 100 Realtime interviews over WebSocket against one app process for 10 minutes.

The same harness as bench_realtime_load.py (fake Realtime service and app in their own processes, candidates
streaming marked 20 ms frames in real time; an interview that finishes is followed by a new one on a new
connection; interviews are the default 8 questions long, so sessions end and begin throughout and what a
finished session leaves behind shows as growth). Passes when no client saw an error, the fake service saw no
protocol problem, and the app's resident memory grew less than 10% from the first minute (once every session is
live and warm) to the end.

    python bench/bench_soak.py                 # 100 sessions, 10 minutes
    python bench/bench_soak.py --minutes 3 --n 50
    python bench/bench_soak.py --quick         # 100 sessions, 1.5 minutes

Writes bench/results/soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realtime_harness import (  # noqa: E402
    Crowd,
    Processes,
    can_pin,
    latencies,
    machine,
    pin_self,
    proc_sample,
    summary,
)

RESULTS = Path(__file__).resolve().parent / "results"
MAX_GROWTH = 0.10


async def soak(n: int, minutes: float, sample_s: float, max_questions: int = 8) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="athena-soak-") as tmp:
        procs = Processes(Path(tmp))
        pin = can_pin()  # the app on core 0, the fake service and the clients on core 1
        if pin:
            pin_self()
        try:
            await procs.start(max_connections=n + 20, pin=pin, max_questions=max_questions)
            crowd = Crowd(procs.base_url)
            tasks = await crowd.run(n)
            t0 = time.monotonic()
            samples: list[dict[str, float]] = []
            cpu0, _ = proc_sample(procs.app.pid)
            while time.monotonic() - t0 < minutes * 60:
                await asyncio.sleep(sample_s)
                cpu, rss = proc_sample(procs.app.pid)
                samples.append(
                    {"t_s": round(time.monotonic() - t0, 1), "rss_mb": round(rss / 2**20, 1),
                     "live": len(crowd.live), "cpu_pct": round(100 * (cpu - cpu0) / sample_s, 1)}
                )  # fmt: skip
                cpu0 = cpu
                print(samples[-1], flush=True)
            t1 = time.monotonic()
            await asyncio.sleep(1.5)
            upstream = await procs.dump_upstream()
            crowd.stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await procs.close()
    warm = [s for s in samples if s["t_s"] >= 60] or samples
    base, end = warm[0]["rss_mb"], samples[-1]["rss_mb"]
    growth = (end - base) / base
    heard_up = {(c, s): t for c, s, t in upstream["c2u"]}
    heard_client = {(c, s): t for c, s, t in crowd.received}
    return {
        "machine": machine(),
        "n": n,
        "minutes": minutes,
        "max_questions": max_questions,
        "rss_after_first_minute_mb": base,
        "rss_end_mb": end,
        "rss_growth_pct": round(100 * growth, 2),
        "errors": crowd.errors[:20],
        "error_count": len(crowd.errors),
        "upstream_problems": upstream["problems"][:10],
        "interviews_started": crowd.interviews,
        "connections_closed_at_interview_end": crowd.closed_normally,
        "client_to_upstream": summary(*latencies(crowd.sent, heard_up, t0 + 60, t1 - 1)),
        "upstream_to_client": summary(
            *latencies([tuple(x) for x in upstream["u2c"]], heard_client, t0 + 60, t1 - 1)
        ),
        "samples": samples,
        "passed": not crowd.errors and not upstream["problems"] and growth < MAX_GROWTH,
        "loadavg_end": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100, help="concurrent interviews")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between memory samples")
    parser.add_argument("--max-questions", type=int, default=8, help="questions per interview")
    parser.add_argument("--quick", action="store_true", help="1.5 minutes")
    parser.add_argument("--out", default=str(RESULTS / "soak.json"))
    args = parser.parse_args()
    if args.quick:
        args.minutes = 1.5
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(soak(args.n, args.minutes, args.sample, args.max_questions))
    RESULTS.mkdir(exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{'PASSED' if result['passed'] else 'FAILED'}: RSS {result['rss_after_first_minute_mb']} -> "
        f"{result['rss_end_mb']} MB ({result['rss_growth_pct']}%), errors {result['error_count']}, "
        f"interviews {result['interviews_started']}; wrote {args.out}"
    )


if __name__ == "__main__":
    main()
