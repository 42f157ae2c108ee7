"""The analytics snapshot's tables, and the one routine that loads changed rows into them.

A rebuild is "create empty tables, then load everything"; a delta is "load what changed". Both run `load`, so
the two can never disagree. Rows arrive as relations named delta_<name> (pandas frames registered on the cursor
for a delta, views over the builder's file for a rebuild) with the columns:

    employees: employee_id, name, department, role
    sessions:  session_id, employee_id, start_time, end_time, status, overall_score, updated_at
    answers:   response_id, session_id, score, question_key, category, difficulty, kind
    rescored:  response_id, score

Tables (everything the charts group by is either small or an integer, so 1M answers aggregate in milliseconds):

    employees(emp, employee_id, name, department, role)           -- emp: a small integer code, kept stable
    sessions(session_id, emp, employee_id, name, department, role, start_time, month, end_time, status,
             overall_score, updated_at, answers, score_sum)      -- answers/score_sum: this session's facts
    questions(q, question_key, category, difficulty, kind)       -- q: a small integer code
    facts(response_id, session_id, emp, department, role, start_time, q, score)
"""

from __future__ import annotations

import duckdb
import pandas as pd

SCHEMA = (
    "CREATE OR REPLACE TABLE employees (emp INTEGER, employee_id VARCHAR, name VARCHAR, department VARCHAR, "
    "role VARCHAR)",
    "CREATE OR REPLACE TABLE sessions (session_id BIGINT, emp INTEGER, employee_id VARCHAR, name VARCHAR, "
    "department VARCHAR, "
    "role VARCHAR, start_time TIMESTAMP, month DATE, end_time TIMESTAMP, status VARCHAR, overall_score DOUBLE, "
    "updated_at TIMESTAMP, answers INTEGER, score_sum DOUBLE)",
    "CREATE OR REPLACE TABLE questions (q INTEGER, question_key VARCHAR, category VARCHAR, difficulty VARCHAR, "
    "kind VARCHAR)",
    "CREATE OR REPLACE TABLE facts (response_id BIGINT, session_id BIGINT, emp INTEGER, "
    "department VARCHAR, role VARCHAR, start_time TIMESTAMP, q INTEGER, score DOUBLE)",
)

# Answers with their question attributes made non-null, so that they join the question codes exactly.
_ANSWERS = """
    SELECT response_id, session_id, CAST(score AS DOUBLE) AS score,
           coalesce(question_key, '(unknown question)') AS question_key, coalesce(category, '(none)') AS category,
           coalesce(difficulty, '(none)') AS difficulty, coalesce(kind, '') AS kind
    FROM delta_answers"""

_STEPS_EMPLOYEES = (
    # known employees keep their code; new ones get the next free codes
    "CREATE OR REPLACE TEMP TABLE coded AS SELECT coalesce(e.emp, (SELECT coalesce(max(emp), 0) FROM employees) "
    "+ row_number() OVER (PARTITION BY e.emp IS NULL ORDER BY d.employee_id)) AS emp, d.employee_id, d.name, "
    "d.department, d.role FROM delta_employees d LEFT JOIN employees e USING (employee_id)",
    "DELETE FROM employees",
    "INSERT INTO employees SELECT * FROM coded",
    "DROP TABLE coded",
    "UPDATE sessions SET emp = e.emp, name = e.name, department = e.department, role = e.role FROM employees e "
    "WHERE sessions.employee_id = e.employee_id AND (sessions.department IS DISTINCT FROM e.department "
    "OR sessions.role IS DISTINCT FROM e.role OR sessions.name IS DISTINCT FROM e.name "
    "OR sessions.emp IS DISTINCT FROM e.emp)",
    "UPDATE facts SET department = e.department, role = e.role FROM employees e "
    "WHERE facts.emp = e.emp AND (facts.department IS DISTINCT FROM e.department "
    "OR facts.role IS DISTINCT FROM e.role)",
)
_STEPS_SESSIONS = (
    "DELETE FROM sessions WHERE session_id IN (SELECT session_id FROM delta_sessions)",
    "INSERT INTO sessions SELECT s.session_id, e.emp, s.employee_id, e.name, e.department, e.role, "
    "CAST(s.start_time AS TIMESTAMP), CAST(date_trunc('month', CAST(s.start_time AS TIMESTAMP)) AS DATE), "
    "CAST(s.end_time AS TIMESTAMP), s.status, CAST(s.overall_score AS DOUBLE), CAST(s.updated_at AS TIMESTAMP), "
    "0, 0.0 FROM delta_sessions s LEFT JOIN employees e ON e.employee_id = s.employee_id",
)
_STEPS_ANSWERS = (
    f"INSERT INTO questions SELECT (SELECT coalesce(max(q), 0) FROM questions) "
    f"+ row_number() OVER (ORDER BY question_key, category, difficulty, kind), * FROM ("
    f"SELECT DISTINCT question_key, category, difficulty, kind FROM ({_ANSWERS}) "
    f"EXCEPT SELECT question_key, category, difficulty, kind FROM questions)",
    "DELETE FROM facts WHERE response_id IN (SELECT response_id FROM delta_answers)",
    f"INSERT INTO facts SELECT a.response_id, a.session_id, s.emp, s.department, s.role, s.start_time, "
    f"qs.q, a.score FROM ({_ANSWERS}) a "
    f"JOIN questions qs USING (question_key, category, difficulty, kind) "
    f"LEFT JOIN sessions s ON s.session_id = a.session_id ORDER BY s.start_time",
)
_STEP_RESCORED = (
    "UPDATE facts SET score = d.score FROM delta_rescored d WHERE facts.response_id = d.response_id"
)
# Per-session totals, recomputed for every session the load touched.
_STEP_TOTALS = (
    "UPDATE sessions SET answers = t.answers, score_sum = t.score_sum FROM ("
    " SELECT touched.session_id, count(f.response_id) AS answers, coalesce(sum(f.score), 0.0) AS score_sum"
    " FROM (SELECT DISTINCT session_id FROM touched) touched LEFT JOIN facts f USING (session_id) GROUP BY 1"
    ") t WHERE sessions.session_id = t.session_id"
)


def create_schema(db: duckdb.DuckDBPyConnection) -> None:
    for statement in SCHEMA:
        db.execute(statement)


def load(db: duckdb.DuckDBPyConnection, names: set[str]) -> None:
    """Apply the changed rows in the relations delta_<name> for each name given (employees, sessions, answers,
    rescored) inside the caller's transaction. Upserts by key, so loading the same rows twice changes nothing."""
    touched: list[str] = []
    if "employees" in names:
        for statement in _STEPS_EMPLOYEES:
            db.execute(statement)
    if "sessions" in names:
        for statement in _STEPS_SESSIONS:
            db.execute(statement)
        touched.append("SELECT session_id FROM delta_sessions")
    if "answers" in names:
        for statement in _STEPS_ANSWERS:
            db.execute(statement)
        touched.append("SELECT session_id FROM delta_answers")
    if "rescored" in names:
        db.execute(_STEP_RESCORED)
        touched.append(
            "SELECT session_id FROM facts WHERE response_id IN (SELECT response_id FROM delta_rescored)"
        )
    if touched:
        db.execute(f"CREATE OR REPLACE TEMP TABLE touched AS {' UNION '.join(touched)}")
        db.execute(_STEP_TOTALS)
        db.execute("DROP TABLE touched")


def load_frames(db: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame | None]) -> None:
    """`load` from pandas frames (None or empty = unchanged)."""
    names = {name for name, frame in frames.items() if frame is not None and len(frame)}
    if "employees" in frames and frames["employees"] is not None:
        names.add("employees")  # an empty employees table is still a change
    for name in names:
        db.register(f"delta_{name}", frames[name])
    try:
        load(db, names)
    finally:
        for name in names:
            db.unregister(f"delta_{name}")
