"""Benchmark the SQL grader: latency of grading one answer on all of its datasets, against a naive baseline.

    python bench/bench_grading.py [--rounds 5] [--baseline-rounds 1] [--out bench/results/grading.json]

Answers are the question bank's hands-on questions (data/questions/*.hands_on.yaml): each reference graded as
an answer (in DuckDB SQL and read as PostgreSQL), and every listed wrong answer, on the question's practice
datasets (data/practice/datasets/*.sql: the visible `company` data and its hidden variants). Each grading
starts with an empty translation cache, as for a new answer; datasets and reference results are cached as in
a running app after its first grading. The baseline grades the same answers the naive way: build every dataset
from its script into a fresh DuckDB, run the reference and the answer in-process, compare.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import sqlglot  # noqa: E402
import yaml  # noqa: E402

from interview import grading_dialects  # noqa: E402
from interview.compare import compare, expected_from  # noqa: E402
from interview.grading import Dataset, Grader  # noqa: E402

QUESTIONS_DIR = ROOT / "data" / "questions"
DATASETS_DIR = ROOT / "data" / "practice" / "datasets"


@dataclass(frozen=True)
class Case:
    question: str
    answer: str
    reference: str
    datasets: tuple[Dataset, ...]
    dialect: str
    order_matters: bool | None


def load_cases() -> list[Case]:
    scripts: dict[str, Dataset] = {}

    def dataset(name: str) -> Dataset:
        if name not in scripts:
            text = (DATASETS_DIR / f"{name}.sql").read_text(encoding="utf-8")
            scripts[name] = Dataset(name, text, hidden=name != "company")
        return scripts[name]

    cases = []
    for path in sorted(QUESTIONS_DIR.glob("*.hands_on.yaml")):
        for q in yaml.safe_load(path.read_text(encoding="utf-8")).get("questions", []):
            if q.get("kind") != "hands_on" or not q.get("reference_sql"):
                continue
            datasets = tuple(dataset(n) for n in q.get("datasets", ["company"]))
            reference, order = q["reference_sql"], q.get("order_matters")
            answers = [(reference, "duckdb"), (reference, "postgres")]
            answers += [(w["sql"], "duckdb") for w in q.get("wrong_answers", [])]
            cases += [Case(q["id"], a, reference, datasets, d, order) for a, d in answers]
    if not cases:
        raise SystemExit(f"No hands-on questions found under {QUESTIONS_DIR}")
    return cases


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}

    def pct(p: float) -> float:
        k = (len(ordered) - 1) * p
        lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)

    return {
        "n": len(ordered),
        "p50_ms": round(pct(0.50), 2),
        "p95_ms": round(pct(0.95), 2),
        "p99_ms": round(pct(0.99), 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
        "max_ms": round(ordered[-1], 2),
    }


def naive_grade(case: Case) -> bool:
    """Baseline: build each dataset from its script, run reference and answer in-process, compare."""
    answer = case.answer
    if case.dialect != "duckdb":
        answer = sqlglot.transpile(case.answer, read=case.dialect, write="duckdb")[0]
    correct = True
    for dataset in case.datasets:
        con = duckdb.connect(config={"enable_external_access": False, "threads": 1})
        try:
            con.execute(dataset.script)
            ref = con.execute(case.reference)
            ref_columns = [d[0] for d in ref.description]
            ref_rows = ref.fetchall()
            try:
                got = con.execute(answer)
                columns, rows = [d[0] for d in got.description], got.fetchall()
            except duckdb.Error:
                correct = False
                continue
        finally:
            con.close()
        correct = compare(expected_from(ref_columns, ref_rows), columns, rows).correct and correct
    return correct


def process_cpu_s(pid: int) -> float:
    """CPU time (user + system) of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, str | int | None]:
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "sqlglot": sqlglot.__version__,
        "platform": platform.platform(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="measured passes over all answers")
    parser.add_argument("--baseline-rounds", type=int, default=1, help="passes of the naive baseline")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "grading.json"))
    args = parser.parse_args()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    cases = load_cases()
    questions = len({c.question for c in cases})
    print(f"{len(cases)} answers to {questions} hands-on questions; {machine()['nproc']} cores")

    with tempfile.TemporaryDirectory(prefix="athena-bench-") as tmp:
        grader = Grader(Path(tmp) / "cache", max_workers=1)  # gradings run one at a time here
        started = time.perf_counter()
        grader.grade(cases[0].answer, cases[0].reference, cases[0].datasets)
        cold_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        verdicts = Counter(
            grader.grade(
                c.answer, c.reference, c.datasets, dialect=c.dialect, order_matters=c.order_matters
            ).verdict
            for c in cases
        )  # warm-up: builds every dataset once, caches the references' results
        warmup_s = time.perf_counter() - started
        with grader.pool.worker() as worker:
            worker_pid = worker.proc.pid if worker.proc is not None else None
        latencies = []
        cpu_parent, cpu_worker = time.process_time(), process_cpu_s(worker_pid) if worker_pid else 0.0
        for _ in range(args.rounds):
            for c in cases:
                grading_dialects._translate_cached.cache_clear()  # every answer is new
                t = time.perf_counter()
                grader.grade(
                    c.answer, c.reference, c.datasets, dialect=c.dialect, order_matters=c.order_matters
                )
                latencies.append((time.perf_counter() - t) * 1000)
        cpu_parent = (time.process_time() - cpu_parent) * 1000 / len(latencies)
        cpu_worker = ((process_cpu_s(worker_pid) if worker_pid else 0.0) - cpu_worker) * 1000 / len(latencies)
        grader.close()

    baseline = []
    for _ in range(args.baseline_rounds):
        for c in cases:
            t = time.perf_counter()
            naive_grade(c)
            baseline.append((time.perf_counter() - t) * 1000)

    result = {
        "command": "python bench/bench_grading.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "load_average_at_start": load_at_start,
        "answers": len(cases),
        "questions": questions,
        "verdicts": dict(verdicts),
        "cold_first_grading_ms": round(cold_ms, 1),
        "warmup_pass_s": round(warmup_s, 2),
        "grading": percentiles(latencies),
        "grading_cpu_ms_per_answer": {"parent": round(cpu_parent, 2), "sandbox_worker": round(cpu_worker, 2)},
        "baseline_naive": percentiles(baseline),
    }
    print(f"verdicts: {dict(verdicts)}")
    print(f"CPU per grading: {cpu_parent:.1f} ms in this process, {cpu_worker:.1f} ms in the sandbox worker")
    print(f"first grading in a new process (builds its datasets, starts a worker): {cold_ms:.0f} ms")
    for label, figures in (("grader (cached datasets, sandbox)", result["grading"]),
                           ("naive baseline (rebuild datasets)", result["baseline_naive"])):  # fmt: skip
        if not figures["n"]:
            continue
        print(
            f"{label:36} n={figures['n']:4}  p50 {figures['p50_ms']:7.1f} ms  p95 {figures['p95_ms']:7.1f} ms  "
            f"p99 {figures['p99_ms']:7.1f} ms  max {figures['max_ms']:7.1f} ms"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_suffix(".json.tmp")
    tmp_out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    tmp_out.replace(out)
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
