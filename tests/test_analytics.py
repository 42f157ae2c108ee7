"""Analytics: the DuckDB snapshot stays equal to the database through every kind of change, the queries agree with
a plain pandas computation over the store, the charts render, and every Analytics handler checks the role."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import gradio as gr
import pandas as pd
import pytest
from sqlalchemy import func, select, text, update

from analytics import charts, demo, queries, views
from analytics.auth import COOKIE_NAME, Principal, auth_for
from analytics.demo_content import QUESTIONS_DIR, load_demo_bank
from analytics.overrides import override_score
from analytics.queries import FilterError, Filters
from analytics.snapshot import AnalyticsSnapshot, snapshot_for
from store import Store, repo
from store.schema import employees, interview_sessions, score_overrides

ROOT = Path(__file__).resolve().parent.parent
LEAD = Principal("lead1", "lead")
REFERENCE_SQL = """
SELECT r.id AS response_id, r.session_id, r.score, q.category, q.difficulty,
       COALESCE(q.question_ref, SUBSTR(q.question_text, 1, 120)) AS question_key,
       s.start_time, s.status, s.overall_score, s.employee_id, e.department, e.role
FROM interview_responses r JOIN interview_questions q ON q.id = r.question_id
JOIN interview_sessions s ON s.id = r.session_id LEFT JOIN employees e ON e.id = s.employee_id"""


def fill(store: Store, sessions: int = 120, seed: int = 11) -> None:
    demo.generate(store, sessions, seed=seed, bank=load_demo_bank(QUESTIONS_DIR))
    add_interview(store, "E-REAL", "Real Person", "Legal", "Counsel", [0.25, 0.75], ref=None)


def add_interview(
    store: Store,
    emp: str,
    name: str,
    dept: str,
    role: str,
    scores: list[float],
    ref: str | None = "joins-fanout-double-count",
    finish: bool = True,
) -> int:
    with store.write() as conn:
        repo.upsert_employee(conn, emp, name, dept, role)
        sid = repo.create_session(conn, emp, brain="keyless", mode="text", plan={})
        for i, score in enumerate(scores, 1):
            qid = repo.add_question(
                conn,
                sid,
                text=f"Free-text question {i} about joins",
                category="joins",
                difficulty="intermediate",
                question_ref=ref,
                kind="conceptual",
                position=i,
            )
            repo.add_response(
                conn,
                sid,
                qid,
                response_text="answer",
                score=score,
                feedback="f",
                scored_by="keyless-rubric",
                rubric_version=None,
                evidence={},
            )
        if finish:
            repo.update_session(
                conn, sid, status="completed", end_time=repo.utcnow(), overall_score=sum(scores) / len(scores)
            )
    return sid


def reference(store: Store) -> pd.DataFrame:
    with store.read() as conn:
        df = pd.DataFrame(conn.execute(text(REFERENCE_SQL)).mappings().all())
    df["start_time"] = pd.to_datetime(df["start_time"])
    return df


def assert_snapshot_matches(store: Store, snap: AnalyticsSnapshot) -> None:
    """The snapshot's aggregates equal the same aggregates computed by pandas from the store."""
    ref = reference(store)
    with store.read() as conn:
        sessions = pd.DataFrame(conn.execute(select(interview_sessions)).mappings().all())
    with snap.reading() as cur:
        head = queries.overview(cur, Filters())
        stats = queries.question_stats(cur, Filters())
        totals = cur.execute("SELECT session_id, answers, score_sum, department FROM sessions").df()
        facts = cur.execute("SELECT response_id, score, department FROM facts").df()
        # employee codes: unique, and every session and answer points at its own employee
        assert cur.execute("SELECT count(*) = count(DISTINCT emp) FROM employees").fetchone() == (True,)
        mismatched = cur.execute(
            "SELECT (SELECT count(*) FROM sessions s LEFT JOIN employees e USING (emp) "
            "WHERE s.employee_id IS DISTINCT FROM e.employee_id), (SELECT count(*) FROM facts f "
            "JOIN sessions s USING (session_id) WHERE f.emp IS DISTINCT FROM s.emp)"
        ).fetchone()
        assert mismatched == (0, 0)
    assert head["sessions"] == len(sessions) and head["answers"] == len(ref)
    assert head["completed"] == int((sessions["status"] == "completed").sum())
    assert head["mean_answer_score"] == pytest.approx(ref["score"].mean())
    by_key = ref.groupby("question_key")["score"].agg(["count", "mean"])
    got = stats.set_index("question_key")
    assert got["answers"].to_dict() == by_key["count"].to_dict()
    assert got["mean_score"].to_dict() == pytest.approx(by_key["mean"].to_dict())
    per_session = ref.groupby("session_id")["score"].agg(["count", "sum"])
    merged = totals.set_index("session_id").join(per_session).fillna(0)
    assert (merged["answers"] == merged["count"]).all()
    assert merged["score_sum"].to_numpy() == pytest.approx(merged["sum"].to_numpy())
    ref_scores = ref.set_index("response_id")
    facts = facts.set_index("response_id").sort_index()
    assert facts["score"].to_numpy() == pytest.approx(ref_scores.loc[facts.index, "score"].to_numpy())
    assert list(facts["department"].fillna("")) == list(ref_scores.loc[facts.index, "department"].fillna(""))


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory):
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('analytics') / 'athena.db'}")
    fill(store)
    yield store
    store.close()


# ---- filters
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (None, None, "2026-03-01", "2026-02-01"),
            "The start date (2026-03-01) is after the end date (2026-02-01).",
        ),
        ((None, None, "31/12/2025", None), "The start date must look like 2025-03-31, not '31/12/2025'."),
        ((None, None, None, float("nan")), "The end date is not a valid date."),
        ((["x"] * 201, None, None, None), "The department filter accepts at most 200 values."),
        (([1, 2], None, None, None), "The department filter must be a list of names."),
        ((None, {"a": 1}, None, None), "The role filter must be a list of names."),
    ],
)
def test_bad_filters_say_what_is_wrong(args: tuple, message: str) -> None:
    with pytest.raises(FilterError) as err:
        Filters.parse(*args)
    assert str(err.value) == message


def test_filters_parse_dates_and_names() -> None:
    f = Filters.parse(["Sales", " Data ", ""], "Analyst", "2025-01-02T00:00:00", datetime(2025, 3, 4, 9))
    assert f == Filters(("Data", "Sales"), ("Analyst",), date(2025, 1, 2), date(2025, 3, 4))
    where, params = f.where()
    assert where.count("?") == len(params) == 5
    assert params[-1] == datetime(2025, 3, 5)  # the end date is inclusive


# ---- queries agree with pandas over the store
def test_snapshot_equals_the_store(filled: Store) -> None:
    assert_snapshot_matches(filled, snapshot_for(filled))


def test_filtered_queries_agree_with_pandas(filled: Store) -> None:
    ref = reference(filled)
    f = Filters.parse(["Data", "Engineering"], None, "2025-09-01", "2026-03-31")
    sel = ref[
        ref["department"].isin(f.departments)
        & (ref["start_time"] >= "2025-09-01")
        & (ref["start_time"] < "2026-04-01")
    ]
    with snapshot_for(filled).reading() as cur:
        heat = queries.category_heatmap(queries.question_stats(cur, f))
        trends = queries.department_trends(cur, f)
        people = queries.employee_table(cur, f, sort="most interviews", limit=1000)
        head = queries.overview(cur, f)
        dist = queries.score_distribution(cur, f)
    expected = sel.groupby(["category", "difficulty"])["score"].mean()
    assert heat.set_index(["category", "difficulty"])["mean_score"].to_dict() == pytest.approx(
        expected.to_dict()
    )
    monthly = sel.assign(month=sel["start_time"].dt.to_period("M").dt.start_time.dt.date)
    expected = monthly.groupby(["month", "department"])["score"].mean()
    got = trends.assign(month=pd.to_datetime(trends["month"]).dt.date).set_index(["month", "department"])
    assert got["mean_score"].to_dict() == pytest.approx(expected.to_dict())
    expected = sel.groupby("employee_id")["score"].mean()
    assert people.set_index("employee_id")["mean_score"].to_dict() == pytest.approx(expected.to_dict())
    assert set(people["department"]) <= {"Data", "Engineering"}
    assert head["answers"] == len(sel)
    assert int(dist["sessions"].sum()) == head["completed"]


def test_employee_drill_down_queries(filled: Store) -> None:
    ref = reference(filled)
    emp = ref["employee_id"].value_counts().index[0]
    mine = ref[ref["employee_id"] == emp]
    dept = mine["department"].iloc[0]
    with snapshot_for(filled).reading() as cur:
        sessions = queries.employee_sessions(cur, emp, Filters())
        profile = queries.category_profile(cur, emp, Filters())
        trend = queries.employee_trends(cur, Filters(), [emp])
        improved = queries.employee_trends(cur, Filters(), top=3)
        found = queries.employee_table(cur, Filters(), search=emp.lower()[-3:], limit=500)
    assert list(sessions["session_id"]) == sorted(mine["session_id"].unique(), reverse=True)
    assert profile.set_index("category")["employee"].dropna().to_dict() == pytest.approx(
        mine.groupby("category")["score"].mean().to_dict()
    )
    team = ref[ref["department"] == dept].groupby("category")["score"].mean()
    assert profile.set_index("category")["team"].to_dict() == pytest.approx(team.to_dict())
    assert set(trend["employee_id"]) == {emp} and trend["answers"].sum() == len(mine)
    assert 1 <= improved["employee_id"].nunique() <= 3
    assert emp in set(found["employee_id"])


def test_question_difficulty_orders_by_mean(filled: Store) -> None:
    with snapshot_for(filled).reading() as cur:
        stats = queries.question_stats(cur, Filters())
    hardest = queries.question_difficulty(stats, limit=5, min_answers=3)
    assert list(hardest["mean_score"]) == sorted(hardest["mean_score"])
    assert (hardest["answers"] >= 3).all() and len(hardest) == 5
    assert hardest["mean_score"].iloc[0] == stats[stats["answers"] >= 3]["mean_score"].min()


# ---- the snapshot follows every kind of change
def test_snapshot_follows_inserts_overrides_employees_and_deletes(any_store: Store) -> None:
    fill(any_store, sessions=40)
    snap = AnalyticsSnapshot(any_store)
    try:
        assert snap.refresh() == "rebuilt"
        assert snap.refresh() == "unchanged"
        sid = add_interview(any_store, "E-NEW", "New Hire", "Data", "Analyst", [0.1, 0.9, 0.5], finish=False)
        assert snap.refresh() == "delta"
        assert_snapshot_matches(any_store, snap)
        with any_store.write() as conn:  # the interview ends: status and overall score change in place
            repo.update_session(conn, sid, status="completed", overall_score=0.5, end_time=repo.utcnow())
        assert snap.refresh() == "delta"
        with snap.reading() as cur:
            assert cur.execute(
                "SELECT status, overall_score FROM sessions WHERE session_id = ?", [sid]
            ).fetchone() == ("completed", 0.5)
        with any_store.read() as conn:
            rid = conn.execute(
                text("SELECT min(id) FROM interview_responses WHERE session_id = :s"), {"s": sid}
            ).scalar_one()
        override_score(any_store, LEAD, rid, 0.95, "grader missed an equivalent query")
        assert snap.refresh() == "delta"
        assert_snapshot_matches(any_store, snap)
        with any_store.write() as conn:  # someone moves team
            conn.execute(update(employees).where(employees.c.id == "E-NEW").values(department="Finance"))
        assert snap.refresh() == "delta"
        assert_snapshot_matches(any_store, snap)
        with any_store.write() as conn:  # erasing an interview cannot be a delta
            conn.execute(text("DELETE FROM score_overrides"))
            for table in ("interview_responses", "interview_questions"):
                conn.execute(text(f"DELETE FROM {table} WHERE session_id = :s"), {"s": sid})
            conn.execute(text("DELETE FROM interview_sessions WHERE id = :s"), {"s": sid})
        assert snap.refresh() == "rebuilt"
        assert_snapshot_matches(any_store, snap)
        assert snap.stats.rebuilds == 2 and snap.stats.deltas == 4
    finally:
        snap.close()


def test_snapshot_holds_no_private_data_and_cannot_open_files(filled: Store) -> None:
    with snapshot_for(filled).reading() as cur:
        tables = {r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        columns = {r[0] for r in cur.execute("SELECT column_name FROM duckdb_columns()").fetchall()}
        assert tables == {"employees", "sessions", "questions", "facts"}
        assert not columns & {"password_hash", "username", "actor", "detail", "reason"}
        for sql in (
            "SELECT * FROM read_csv('/etc/passwd')",
            f"ATTACH '{filled.sqlite_path}' AS w (TYPE sqlite)",
            "SET enable_external_access = true",
            "INSTALL httpfs",
        ):
            with pytest.raises(duckdb.Error):
                cur.execute(sql)


# ---- charts
def test_every_chart_renders_with_data_and_without(filled: Store) -> None:
    view = views.team_view(filled, Filters())
    for name, fig in view.figures.items():
        data = json.loads(fig.to_json())
        assert data["data"], name
    heat = json.loads(view.figures["heatmap"].to_json())["data"][0]
    assert heat["type"] == "heatmap" and heat["zmin"] == 0 and heat["zmax"] == 1
    empty = views.team_view(filled, Filters.parse(["No such department"]))
    for name, fig in empty.figures.items():
        data = json.loads(fig.to_json())
        assert not data["data"] and data["layout"]["annotations"], name
    assert "No interviews match these filters" in views.summary_markdown(empty)
    profile = pd.DataFrame(
        {"category": ["joins", "ctes"], "employee": [0.5, None], "team": [0.6, 0.7], "answers": [2, 0]}
    )
    radar = json.loads(charts.category_radar(profile, "Ann").to_json())
    assert [t["r"][0] == t["r"][-1] for t in radar["data"]] == [True, True]  # closed polygons


def test_evidence_lists_every_question_with_its_grade(filled: Store) -> None:
    with filled.read() as conn:
        sid = conn.execute(select(func.min(interview_sessions.c.id))).scalar_one()
    header, rows = views.session_view(filled, sid)
    frame = views.evidence_frame(rows)
    assert header is not None and header["employee"]["id"].startswith("DEMO-")
    assert list(frame.columns) == views.EVIDENCE_COLUMNS and len(frame) == len(rows) >= 5
    assert frame["Question"].str.len().min() > 20 and frame["Transcript"].str.len().min() > 10
    graded = frame[frame["SQL"] != ""]
    assert graded["Grade"].str.match(r"^(correct|partial|wrong|error) \(\d\.\d\d\)$").all()


# ---- the tab's handlers, called the way Gradio's HTTP API would call them
def handlers(store: Store) -> dict[str, Any]:
    from analytics.dashboard import build_dashboard

    with gr.Blocks() as blocks:
        build_dashboard(store)
    return {f.fn.__name__: f.fn for f in blocks.fns.values()}


def request(cookie: str | None = None, host: str = "127.0.0.1:7860") -> Any:
    cookies = {COOKIE_NAME: cookie} if cookie else {}
    return SimpleNamespace(headers={"host": host}, cookies=cookies, client=SimpleNamespace(host="127.0.0.1"))


def select_data(row: list[Any]) -> gr.SelectData:
    return gr.SelectData(None, {"index": [0, 0], "value": row[0], "row_value": row})


def test_handlers_in_open_mode_serve_localhost_only(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'open.db'}")
    try:
        fill(store, sessions=30)
        h = handlers(store)
        out = h["on_load"](request())
        assert out[0].startswith("Open mode") and out[1]["visible"] is True
        assert "Data" in out[2]["choices"] or "Engineering" in out[2]["choices"]
        assert "interviews" in out[6] and isinstance(out[7], charts.go.Figure)
        refused = h["on_load"](request(host="athena.example.com"))
        assert refused[1]["visible"] is False and "localhost" in refused[0]
        with pytest.raises(gr.Error, match="Open mode answers only on localhost"):
            h["on_refresh"]([], [], None, None, "lowest score", "", request(host="10.0.0.5"))
    finally:
        store.close()


def test_every_handler_refuses_without_a_lead_and_serves_a_lead(tmp_path: Path) -> None:
    from analytics import accounts

    store = Store.open(f"sqlite:///{tmp_path / 'accounts.db'}")
    try:
        fill(store, sessions=30)
        accounts.create_account(store, "lead1", "lead-password-1", "lead", actor="test")
        h = handlers(store)
        with store.read() as conn:
            sid = conn.execute(text("SELECT max(session_id) FROM interview_responses")).scalar_one()
            rid, emp = conn.execute(
                text(
                    "SELECT r.id, s.employee_id FROM interview_responses r JOIN "
                    "interview_sessions s ON s.id = r.session_id WHERE s.id = :s LIMIT 1"
                ),
                {"s": sid},
            ).one()
        calls = {
            "on_refresh": ([], [], None, None, "lowest score", ""),
            "on_people": ([], [], None, None, "lowest score", emp),
            "on_pick_person": (None, None, select_data([emp, "x"])),
            "on_drill": (emp, None, None),
            "on_session": (sid,),
            "on_pick_session": (select_data([sid, "2025-01-01", "completed", 5, 0.5]),),
            "on_pick_answer": (select_data([rid, 1, "q", "joins", "x", "", "", "", "", 0.5, None, ""]),),
            "on_override": (emp, None, None, sid, rid, 0.99, "regraded by hand"),
        }
        assert set(calls) | {"on_load"} == set(h)
        # no cookie, a forged cookie: refused, and nothing is written
        for cookie in (None, "forged.cookie"):
            out = h["on_load"](request(cookie))
            assert out[1]["visible"] is False and "Sign in" in out[0]
            assert all(isinstance(o, dict) and "value" not in o for o in out[2:])  # no data at all
            for name, args in calls.items():
                with pytest.raises(gr.Error, match="Sign in as a team lead or admin"):
                    h[name](*args, request(cookie))
        with store.read() as conn:
            assert conn.execute(select(func.count()).select_from(score_overrides)).scalar_one() == 0
        # a lead's cookie: served
        cookie = auth_for(store).issue_cookie(Principal("lead1", "lead"))
        out = h["on_load"](request(cookie))
        assert out[1]["visible"] is True and "lead1" in out[0]
        results = {name: h[name](*args, request(cookie)) for name, args in calls.items()}
        assert emp in results["on_drill"][0] and isinstance(results["on_drill"][1], charts.go.Figure)
        trend = json.loads(results["on_drill"][2].to_json())
        assert trend["data"] and all(emp in t["name"] for t in trend["data"])  # the employee's own trend
        assert len(results["on_session"][2]) >= 1
        assert results["on_pick_answer"][0]["value"] == rid
        assert (
            results["on_override"][0].startswith(f"Answer {rid}: score")
            and "→ 0.99" in results["on_override"][0]
        )
        with store.read() as conn:
            row = conn.execute(select(score_overrides)).mappings().one()
        assert (row["response_id"], row["new_score"], row["actor"]) == (rid, 0.99, "lead1")
        # bad input from a lead: a clear message
        with pytest.raises(gr.Error, match="The start date"):
            h["on_refresh"]([], [], "2026-02-02", "2026-01-01", "lowest score", "", request(cookie))
        with pytest.raises(gr.Error, match="No employee has the ID 'nobody'"):
            h["on_drill"]("nobody", None, None, request(cookie))
        with pytest.raises(gr.Error, match="Give a reason"):
            h["on_override"](emp, None, None, sid, rid, 0.5, "  ", request(cookie))
        with pytest.raises(gr.Error, match="from 0 to 1"):
            h["on_override"](emp, None, None, sid, rid, 7, "typo", request(cookie))
    finally:
        store.close()


def test_empty_database_says_how_to_try_the_tab(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        out = handlers(store)["on_load"](request())
        assert "No interviews yet" in out[6] and "python -m analytics.demo --sessions 500" in out[6]
        assert out[1]["visible"] is True
    finally:
        store.close()


def test_date_range_is_inclusive(filled: Store) -> None:
    ref = reference(filled)
    day = ref["start_time"].dt.date.value_counts().index[0]
    with snapshot_for(filled).reading() as cur:
        head = queries.overview(cur, Filters(start=day, end=day))
        before = queries.overview(cur, Filters(end=day - timedelta(days=1)))
    assert head["answers"] == int((ref["start_time"].dt.date == day).sum()) > 0
    assert before["answers"] == int((ref["start_time"].dt.date < day).sum())


def test_a_snapshot_that_cannot_be_built_says_why(tmp_path: Path) -> None:
    from analytics.duck import DuckSource
    from analytics.snapshot import SnapshotError, _run_builder

    with pytest.raises(SnapshotError, match="Cannot read the interviews for the analytics: .*"):
        _run_builder(
            DuckSource(kind="sqlite", sqlite_path=str(tmp_path / "missing" / "x.db")), tmp_path / "o.duckdb"
        )
    secret = DuckSource(
        kind="postgres",
        pg_params={"host": "127.0.0.1", "port": "1", "user": "u", "password": "s3cret-pw", "database": "d"},
    )
    with pytest.raises(SnapshotError) as err:
        _run_builder(secret, tmp_path / "p.duckdb")
    assert "s3cret-pw" not in str(err.value)


def test_benchmark_writes_only_its_own_section(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_analytics", ROOT / "bench" / "bench_analytics.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    target = tmp_path / "BENCHMARKS.md"
    bench.write_section(target, "## Analytics\n\nfirst\n")
    assert target.read_text() == "# Benchmarks\n\n## Analytics\n\nfirst\n"
    target.write_text("# Benchmarks\n\n## Voice\n\nv\n\n## Analytics\n\nold\n\n## Load\n\nl\n")
    bench.write_section(target, "## Analytics\n\nnew\n")
    assert target.read_text() == "# Benchmarks\n\n## Voice\n\nv\n\n## Analytics\n\nnew\n\n## Load\n\nl\n"
