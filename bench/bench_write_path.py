"""The interview write path under concurrency: log_response_evaluation as the Realtime agent calls it.

N interviews run at once in one event loop, as N Realtime connections would in the app. Each one, as fast as it
can, asks a question (next_question, log_question_asked) and scores the answer (log_response_evaluation), all
through the SDK's FunctionTool.on_invoke_tool exactly as the agent runs them (sync tools go to a worker thread).
Measured: log_response_evaluation latency (p50, p99, max) and an event-loop lag probe (a task that sleeps 5 ms
and records how late it wakes up): the loop must never be blocked for more than 20 ms. The garbage collector's
pauses over 10 ms are recorded beside it (its own callbacks), since they block the loop too.

Runs on SQLite (a temp file) and on PostgreSQL (a database created for the run and dropped after; skipped with a
note when the server cannot be reached).

    python bench/bench_write_path.py                  # N = 1, 10, 50, 200; 4 answers per interview
    python bench/bench_write_path.py --quick          # N = 1, 50
    python bench/bench_write_path.py --pg postgresql://postgres@127.0.0.1:5432/test --n 200 --answers 6

Writes bench/results/write_path.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
log = logging.getLogger(__name__)


class LagProbe:
    """Sleeps `period` seconds again and again; how late each wake-up is, is how long the loop was blocked."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(self.period)
            self.lags.append((loop.time() - t - self.period) * 1000)

    def __enter__(self) -> LagProbe:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


class GcPauses:
    """The garbage collector's pauses over 10 ms while in the block (its own callbacks), in ms."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif (ms := (time.perf_counter() - self._started) * 1000) > 10:
            self.pauses.append(round(ms, 1))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


async def call(tool: Any, ic: Any, arguments: dict[str, Any]) -> dict[str, Any]:
    """Run one tool call the way the SDK does; returns its output."""
    from agents.tool_context import ToolContext

    raw = json.dumps(arguments)
    ctx = ToolContext(context=ic, tool_name=tool.name, tool_call_id=uuid.uuid4().hex, tool_arguments=raw)
    out = await tool.on_invoke_tool(ctx, raw)
    return out if isinstance(out, dict) else json.loads(out)


async def interview(engine: Any, tools: dict[str, Any], who: str, answers: int, timings: list[float]) -> int:
    """One interview: `answers` questions asked and scored; returns the tool errors seen."""
    from interview.realtime import InterviewContext

    state = await asyncio.to_thread(
        engine.start_session, who, name=f"Bench {who}", brain="realtime", mode="voice"
    )
    ic = InterviewContext(engine, state.session_id)
    errors = 0
    for _ in range(answers):
        q = await call(tools["next_question"], ic, {})
        if not q.get("ok", True) or q.get("finished"):
            errors += 0 if q.get("finished") else 1
            break
        asked = await call(
            tools["log_question_asked"], ic,
            {"question_id": q["question_id"], "question_as_asked": q["question"], "category": q["category"],
             "difficulty": q["difficulty"]},
        )  # fmt: skip
        errors += 0 if asked.get("ok", True) else 1
        ic.note_heard("I would join the two tables and group by the customer, then filter with HAVING.")
        score = 0.0 if q.get("kind") == "hands_on" else 0.8  # hands-on answers need grading unless 0.0
        t = time.perf_counter()
        out = await call(
            tools["log_response_evaluation"], ic,
            {"question_id": q["question_id"], "score": score, "feedback": "Clear and correct.",
             "evidence": "Named the join and the grouping.", "answer_summary": "Join, group, filter."},
        )  # fmt: skip
        timings.append((time.perf_counter() - t) * 1000)
        errors += 0 if out.get("ok", True) else 1
    return errors


async def level(url: str, n: int, answers: int, pool: int, workers: int | None = None) -> dict[str, Any]:
    """One run at N interviews; `workers` sizes the loop's default executor, where the SDK runs sync tools
    (None: asyncio's default, min(32, cores + 4))."""
    from concurrent.futures import ThreadPoolExecutor

    from app import settle_heap
    from interview.engine import EngineConfig, InterviewEngine
    from interview.questions import load_bank
    from interview.realtime import build_agent
    from store import Store

    store = Store.open(url, pool_size=pool)
    executor = ThreadPoolExecutor(max_workers=workers) if workers else None
    if executor is not None:
        asyncio.get_running_loop().set_default_executor(executor)
    try:
        engine = InterviewEngine(store, load_bank(), EngineConfig(max_questions=50))
        tools = {t.name: t for t in build_agent().tools}
        settle_heap()  # as app.py does before serving
        timings: list[float] = []
        run = uuid.uuid4().hex[:6]
        t0 = time.perf_counter()
        with LagProbe() as probe, GcPauses() as collector:
            errors = await asyncio.gather(
                *(interview(engine, tools, f"W{run}{i:04d}", answers, timings) for i in range(n))
            )
        wall = time.perf_counter() - t0
    finally:
        store.close()
        if executor is not None:
            executor.shutdown(wait=False)
    ms, lag = np.array(timings), np.array(probe.lags)
    return {
        "n": n,
        "tool_threads": workers or "default",
        "evaluations": int(ms.size),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 1),
        "evaluations_per_s": round(ms.size / wall, 1),
        "loop_lag_p99_ms": round(float(np.percentile(lag, 99)), 2),
        "loop_lag_max_ms": round(float(lag.max()), 2),
        "loop_blocked_over_20ms": int((lag > 20).sum()),
        "tool_errors": int(sum(errors)),
        "gc_pauses_over_10ms": collector.pauses,
    }


def pg_database(admin_url: str) -> tuple[str, Any] | None:
    """Create a scratch database; (its URL, a function that drops it), or None when PostgreSQL is unreachable."""
    import sqlalchemy as sa

    name = f"athena_bench_{uuid.uuid4().hex[:8]}"
    url = (
        admin_url
        if "+" in admin_url.split("://")[0]
        else admin_url.replace("postgresql://", "postgresql+psycopg://")
    )
    try:
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        log.warning("PostgreSQL not reachable, skipped: %s", str(exc).splitlines()[0])
        return None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.rsplit("/", 1)[0] + f"/{name}", drop


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"answers_per_interview": args.answers, "pool_size": args.pool}
    with tempfile.TemporaryDirectory(prefix="athena-write-") as tmp:
        results["sqlite"] = []
        for n in args.n:
            url = f"sqlite:///{Path(tmp) / f'athena-{n}.db'}"
            results["sqlite"].append(await level(url, n, args.answers, args.pool, args.workers))
            print("sqlite    ", results["sqlite"][-1], flush=True)
    made = pg_database(args.pg) if args.pg else None
    if made is None:
        results["postgresql"] = "skipped: server not reachable"
    else:
        url, drop = made
        try:
            results["postgresql"] = []
            for n in args.n:
                results["postgresql"].append(await level(url, n, args.answers, args.pool, args.workers))
                print("postgresql", results["postgresql"][-1], flush=True)
        finally:
            drop()
    return results


def thread_count(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 64, not {raw!r}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1, 10, 50, 200], help="concurrent interviews")
    parser.add_argument("--answers", type=int, default=4, help="answers scored per interview")
    parser.add_argument("--pool", type=int, default=20, help="database connections (ATHENA_DB_POOL_SIZE)")
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server URL ('' to skip)")
    parser.add_argument("--quick", action="store_true", help="N = 1, 50")
    parser.add_argument(
        "--workers",
        type=thread_count,
        default=None,
        help="threads for the SDK's sync tools, 1 to 64 (default: asyncio's own)",
    )
    parser.add_argument("--out", default=str(RESULTS / "write_path.json"))
    args = parser.parse_args()
    if args.quick:
        args.n = [1, 50]
    logging.basicConfig(level=logging.WARNING)
    results = asyncio.run(run(args))
    RESULTS.mkdir(exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
