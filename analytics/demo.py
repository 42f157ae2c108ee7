"""Demo data: realistic synthetic interviews from a fixed seed, so the Analytics tab can be tried at once.

    python -m analytics.demo --sessions 500 [--seed 7] [--database-url URL] [--replace]
    python -m analytics.demo --clear

Demo rows are marked: employee ids start with DEMO-, sessions have brain 'demo', responses scored_by 'demo'.
Running again refuses while demo rows exist unless --replace clears them first; real rows are never touched.
Everything is relative to a fixed reference date, so the same seed and bank give the same interviews.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, text

from analytics.demo_content import BankQuestion, DemoError, load_demo_bank
from analytics.demo_model import DEMO_BRAIN, DEMO_PREFIX, Planner, make_people, session_starts, simulate
from store import Store, StoreError
from store.schema import (
    employees,
    interview_questions,
    interview_responses,
    interview_sessions,
    session_reports,
)

log = logging.getLogger(__name__)

CHUNK_SESSIONS = 2000  # sessions written per transaction


@dataclass(frozen=True)
class DemoSummary:
    employees: int
    sessions: int
    questions: int
    responses: int
    reports: int
    seconds: float

    def line(self, where: str) -> str:
        return (
            f"Wrote {self.sessions:,} demo interviews ({self.responses:,} answers to {self.questions:,} questions, "
            f"{self.employees:,} employees, {self.reports:,} reports) to {where} in {self.seconds:.1f} s."
        )


_TABLES = (
    ("sessions", interview_sessions),
    ("questions", interview_questions),
    ("responses", interview_responses),
    ("reports", session_reports),
)


def _next_ids(conn: Connection) -> list[int]:
    if conn.dialect.name == "postgresql":  # explicit ids: keep engine inserts out until the sequences move on
        conn.execute(
            text(
                "LOCK TABLE interview_sessions, interview_questions, interview_responses, "
                "session_reports IN SHARE ROW EXCLUSIVE MODE"
            )
        )
    return [
        int(conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one()) + 1 for _, t in _TABLES
    ]


def _bump_sequences(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":
        return  # SQLite's AUTOINCREMENT follows explicit ids by itself
    for _, table in _TABLES:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"
            )
        )


def demo_counts(conn: Connection) -> dict[str, int]:
    """How many demo sessions and employees the database holds."""
    s = conn.execute(
        select(func.count()).select_from(interview_sessions).where(interview_sessions.c.brain == DEMO_BRAIN)
    ).scalar_one()
    e = conn.execute(
        select(func.count()).select_from(employees).where(employees.c.id.like(f"{DEMO_PREFIX}%"))
    ).scalar_one()
    return {"sessions": int(s), "employees": int(e)}


def clear_demo(store: Store) -> int:
    """Delete every demo row (and overrides of demo scores) in one transaction; return the sessions removed."""
    demo_sessions = "SELECT id FROM interview_sessions WHERE brain = 'demo'"
    with store.write() as conn:
        removed = demo_counts(conn)["sessions"]
        conn.execute(
            text(
                "DELETE FROM score_overrides WHERE response_id IN (SELECT id FROM interview_responses "
                f"WHERE session_id IN ({demo_sessions}))"
            )
        )
        for table in ("interview_responses", "interview_questions", "session_reports"):
            conn.execute(text(f"DELETE FROM {table} WHERE session_id IN ({demo_sessions})"))
        conn.execute(text("DELETE FROM interview_sessions WHERE brain = 'demo'"))
        conn.execute(
            text(
                "DELETE FROM employees WHERE id LIKE 'DEMO-%' AND NOT EXISTS "
                "(SELECT 1 FROM interview_sessions s WHERE s.employee_id = employees.id)"
            )
        )
    log.info("demo data cleared", extra={"sessions": removed})
    return removed


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def generate(
    store: Store,
    sessions: int,
    *,
    seed: int = 7,
    questions: tuple[int, int] = (5, 10),
    replace: bool = False,
    bank: Sequence[BankQuestion] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Write `sessions` synthetic interviews; refuses while demo rows exist unless `replace`."""
    if not 1 <= sessions <= 5_000_000:
        raise DemoError(f"--sessions must be from 1 to 5,000,000, not {sessions}")
    lo, hi = questions
    if not 1 <= lo <= hi <= 50:
        raise DemoError(f"questions per session must be a range within 1-50 such as 5-10, not {lo}-{hi}")
    bank = list(bank) if bank is not None else load_demo_bank()
    began = time.monotonic()
    with store.read() as conn:
        existing = demo_counts(conn)
    if existing["sessions"] or existing["employees"]:
        if not replace:
            raise DemoError(
                f"The database already holds {existing['sessions']:,} demo interviews. Run again with "
                "--replace to clear them first (real interviews are never touched), or --clear."
            )
        clear_demo(store)
    rng = random.Random(seed)
    planner = Planner(bank, seed)
    people = make_people(max(6, sessions // 10), planner.categories, rng)
    specs = session_starts(people, sessions, rng)
    with store.write() as conn:
        taken = {
            r[0] for r in conn.execute(select(employees.c.id).where(employees.c.id.like(f"{DEMO_PREFIX}%")))
        }
        new = [
            {"id": p.id, "name": p.name, "department": p.department, "role": p.role}
            for p in people
            if p.id not in taken
        ]
        if new:
            conn.execute(employees.insert(), new)
    totals = dict.fromkeys(("sessions", "questions", "responses", "reports"), 0)
    for chunk in _chunks(specs, CHUNK_SESSIONS):
        with store.write() as conn:
            ids = _next_ids(conn)
            rows = simulate(chunk, planner, (lo, hi), rng, ids)
            for key, table in _TABLES:
                if rows[key]:
                    conn.execute(table.insert(), rows[key])
                totals[key] += len(rows[key])
            _bump_sequences(conn)
        if progress:
            progress(totals["sessions"], sessions)
    summary = DemoSummary(
        employees=len(people),
        sessions=totals["sessions"],
        questions=totals["questions"],
        responses=totals["responses"],
        reports=totals["reports"],
        seconds=time.monotonic() - began,
    )
    log.info(
        "demo data written",
        extra={
            "sessions": summary.sessions,
            "responses": summary.responses,
            "seconds": round(summary.seconds, 1),
        },
    )
    return summary


def _range(raw: str) -> tuple[int, int]:
    lo, sep, hi = raw.partition("-")
    try:
        return (int(lo), int(hi if sep else lo))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a range such as 5-10, not {raw!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics.demo", description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--sessions", type=int, help="how many interviews to generate (e.g. 500)")
    what.add_argument("--clear", action="store_true", help="delete the demo rows and nothing else")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7): same seed, same data")
    parser.add_argument(
        "--questions", type=_range, default=(5, 10), help="questions per interview (default 5-10)"
    )
    parser.add_argument("--replace", action="store_true", help="clear earlier demo rows first")
    parser.add_argument("--database-url", help="database to fill (default: DATABASE_URL from the settings)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        url = args.database_url
        if not url:
            from settings import SettingsError, load_settings

            try:
                url = str(load_settings().database_url)  # type: ignore[attr-defined]
            except SettingsError as exc:
                raise DemoError(str(exc)) from None
        store = Store.open(url)
    except (DemoError, StoreError) as exc:
        print(f"analytics.demo: {exc}", file=sys.stderr)
        return 2
    try:
        if args.clear:
            print(f"Removed {clear_demo(store):,} demo interviews from {store.where}.")
            return 0

        def progress(done: int, total: int) -> None:
            if total >= 20_000:
                print(f"  {done:,} / {total:,} sessions", file=sys.stderr, flush=True)

        summary = generate(
            store,
            args.sessions,
            seed=args.seed,
            questions=args.questions,
            replace=args.replace,
            progress=progress,
        )
        print(summary.line(store.where))
        return 0
    except DemoError as exc:
        print(f"analytics.demo: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
