"""The SQL answer grader: equivalence, traps, dialects, attacks, limits, scoring, order handling and the CLI."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from interview import grading
from interview.compare import canon, compare, expected_from
from interview.grading import (
    SUPPORTED_DIALECTS,
    Dataset,
    Grader,
    GradingError,
    QueryFailed,
    QueryRejected,
    QuerySyntaxError,
    QueryTimeout,
    SandboxError,
    SandboxLimits,
)
from interview.grading_datasets import DatasetStore

ROOT = Path(__file__).resolve().parent.parent

# ----------------------------------------------------------------------------------------------- datasets

SCHEMA = """
CREATE TABLE departments (dept_id INTEGER PRIMARY KEY, name VARCHAR, budget DECIMAL(12,2));
CREATE TABLE employees (emp_id INTEGER PRIMARY KEY, name VARCHAR, dept_id INTEGER, manager_id INTEGER,
                        salary INTEGER, bonus DECIMAL(10,2), hired DATE, email VARCHAR);
CREATE TABLE orders (order_id INTEGER, emp_id INTEGER, amount DECIMAL(10,2), ordered_at TIMESTAMP, status VARCHAR);
"""
DEPARTMENTS = "(1,'Engineering',500000),(2,'Sales',300000),(3,'Support',150000)"
EMPLOYEES = [
    "(1,'Ada',1,NULL,150000,20000.00,'2015-03-01','ada@x.com')",
    "(2,'Ben',1,1,120000,5000.50,'2018-06-15','ben@x.com')",
    "(3,'Cy',1,1,110000,NULL,'2019-01-10','cy@x.com')",
    "(4,'Dee',2,1,95000,7000.00,'2020-02-29','dee@x.com')",
    "(5,'Eli',2,4,80000,NULL,'2021-07-01',NULL)",
    "(6,'Fay',3,1,70000,1000.00,'2022-11-30','fay@x.com')",
    "(7,'Gus',3,6,65000,0.00,'2023-12-31','gus@x.com')",
]
ORDERS = [
    "(1,4,100.00,'2023-01-05 10:00:00','shipped')",
    "(2,4,250.50,'2023-02-14 12:30:00','shipped')",
    "(3,5,75.25,'2023-02-20 09:15:00','cancelled')",
    "(4,5,300.00,'2023-03-03 16:45:00','shipped')",
    "(5,4,125.00,'2023-12-15 08:00:00','shipped')",
    "(6,2,50.00,'2024-01-10 11:00:00','pending')",
]


def script(
    departments: str = DEPARTMENTS, employees: list[str] = EMPLOYEES, orders: list[str] = ORDERS
) -> str:
    return (
        SCHEMA
        + f"INSERT INTO departments VALUES {departments};\n"
        + f"INSERT INTO employees VALUES {', '.join(employees)};\n"
        + f"INSERT INTO orders VALUES {', '.join(orders)};\n"
    )


COMPANY = Dataset("company", script())
# Hidden variants, each built to expose one classic mistake.
NULLS = Dataset(
    "nulls",
    script(
        employees=[
            *EMPLOYEES,
            "(8,'Hal',NULL,1,NULL,NULL,'2024-02-29',NULL)",
            "(9,'Ivy',2,4,NULL,500.00,'2021-01-01','ivy@x.com')",
        ],
        orders=[
            *ORDERS,
            "(7,NULL,20.00,'2023-05-05 05:05:05','shipped')",
            "(8,6,NULL,'2023-06-06','shipped')",
        ],
    ),
    hidden=True,
)
TIES = Dataset(
    "ties",
    script(
        employees=[
            e.replace("110000", "120000").replace("95000", "120000").replace("65000", "130000")
            for e in EMPLOYEES
        ],
    ),
    hidden=True,
)
EMPTY = Dataset("empty", script(departments=DEPARTMENTS + ",(4,'Legal',90000)"), hidden=True)
DUPS = Dataset(
    "dups",
    script(
        employees=[*EMPLOYEES, "(10,'Eli',3,6,60000,NULL,'2022-05-05','eli2@x.com')"],
        orders=[*ORDERS, "(1,4,100.00,'2023-01-05 10:00:00','shipped')"],
    ),
    hidden=True,
)
BOUNDARY = Dataset(
    "boundary",
    script(
        orders=[
            *ORDERS,
            "(20,2,11.00,'2022-12-31 23:59:59','shipped')",
            "(21,2,12.00,'2023-01-01 00:00:00','shipped')",
            "(22,2,13.00,'2023-12-31 23:59:59','shipped')",
            "(23,2,14.00,'2024-01-01 00:00:00','shipped')",
            "(24,2,15.00,'2023-02-28 23:59:59','shipped')",
        ]
    ),
    hidden=True,
)

QUESTIONS: dict[str, tuple[str, list[Dataset]]] = {
    "headcount": (
        "SELECT d.name, COUNT(e.emp_id) AS headcount FROM departments d "
        "LEFT JOIN employees e ON e.dept_id = d.dept_id GROUP BY d.name",
        [COMPANY, EMPTY, NULLS],
    ),
    "avg_salary": (
        "SELECT dept_id, AVG(salary) AS avg_salary FROM employees WHERE dept_id IS NOT NULL GROUP BY dept_id",
        [COMPANY, NULLS],
    ),
    "top3": ("SELECT name, salary FROM employees ORDER BY salary DESC LIMIT 3", [COMPANY, TIES, NULLS]),
    "orders_2023": (
        "SELECT order_id, amount FROM orders "
        "WHERE ordered_at >= TIMESTAMP '2023-01-01' AND ordered_at < TIMESTAMP '2024-01-01'",
        [COMPANY, BOUNDARY],
    ),
    "monthly": (
        "SELECT DATE_TRUNC('month', ordered_at) AS month, SUM(amount) AS revenue FROM orders "
        "WHERE status <> 'cancelled' GROUP BY 1 ORDER BY 1",
        [COMPANY, BOUNDARY],
    ),
    "managers": (
        "SELECT DISTINCT m.name FROM employees e JOIN employees m ON e.manager_id = m.emp_id",
        [COMPANY, NULLS],
    ),
    "emp_manager": (
        "SELECT e.name AS employee, m.name AS manager FROM employees e LEFT JOIN employees m ON e.manager_id = m.emp_id",
        [COMPANY, NULLS],
    ),
    "bonus": ("SELECT name, COALESCE(bonus, 0) AS bonus FROM employees", [COMPANY, NULLS]),
    "contact": (
        "SELECT name || ' <' || email || '>' AS contact FROM employees WHERE email IS NOT NULL",
        [COMPANY, NULLS],
    ),
    "hire_year": (
        "SELECT EXTRACT(YEAR FROM hired) AS yr, COUNT(*) AS n FROM employees GROUP BY 1",
        [COMPANY, NULLS],
    ),
    "recent_hires": ("SELECT name FROM employees WHERE hired >= DATE '2020-01-01'", [COMPANY, DUPS]),
    "payroll": (
        "SELECT d.name AS dept, SUM(e.salary) AS payroll FROM departments d JOIN employees e ON e.dept_id = d.dept_id "
        "GROUP BY d.name ORDER BY payroll DESC",
        [COMPANY, TIES],
    ),
    "by_salary": ("SELECT name FROM employees ORDER BY salary DESC", [COMPANY, TIES]),
    "by_bonus": ("SELECT name, bonus FROM employees ORDER BY bonus", [COMPANY, NULLS]),
}


@pytest.fixture(scope="module")
def grader(tmp_path_factory: pytest.TempPathFactory):
    g = Grader(tmp_path_factory.mktemp("grading-cache"))
    yield g
    g.close()


def run(grader: Grader, question: str, answer: str, dialect: str = "duckdb", **kwargs):
    reference, datasets = QUESTIONS[question]
    return grader.grade(answer, reference, datasets, dialect=dialect, **kwargs)


def _assert_verdict(result, verdict: str) -> None:
    assert result.verdict == verdict, (result.verdict, result.message, result.transpiled_sql)


# ----------------------------------------------------------------------------------------------- equivalence

EQUIVALENT = [
    # joins vs subqueries vs CTEs vs window functions
    ("headcount", "SELECT d.name, (SELECT COUNT(*) FROM employees e WHERE e.dept_id = d.dept_id) AS n FROM departments d"),
    ("headcount", "WITH c AS (SELECT dept_id, COUNT(*) AS n FROM employees GROUP BY dept_id) "
                  "SELECT d.name, COALESCE(c.n, 0) FROM departments d LEFT JOIN c ON c.dept_id = d.dept_id"),
    ("headcount", "SELECT DISTINCT d.name, COUNT(e.emp_id) OVER (PARTITION BY d.dept_id) "
                  "FROM departments d LEFT JOIN employees e ON e.dept_id = d.dept_id"),
    # different column names and order; 3 vs 3.0
    ("headcount", "SELECT SUM(CASE WHEN e.emp_id IS NULL THEN 0.0 ELSE 1 END) AS people, d.name AS department "
                  "FROM departments d LEFT JOIN employees e ON d.dept_id = e.dept_id GROUP BY d.name"),
    # DISTINCT vs GROUP BY vs IN vs EXISTS
    ("managers", "SELECT m.name FROM employees e JOIN employees m ON e.manager_id = m.emp_id GROUP BY m.name"),
    ("managers", "SELECT name FROM employees WHERE emp_id IN (SELECT manager_id FROM employees)"),
    ("managers", "SELECT name FROM employees m WHERE EXISTS (SELECT 1 FROM employees e WHERE e.manager_id = m.emp_id)"),
    # COALESCE vs CASE; DECIMAL vs DOUBLE; integer vs float
    ("bonus", "SELECT name, CASE WHEN bonus IS NULL THEN 0 ELSE bonus END FROM employees"),
    ("bonus", "SELECT name, CAST(COALESCE(bonus, 0.0) AS DOUBLE) AS b FROM employees"),
    ("bonus", "SELECT COALESCE(bonus, 0)::DECIMAL(18,4), name FROM employees"),
    # integer vs float averages
    ("avg_salary", "SELECT dept_id, SUM(salary) * 1.0 / COUNT(salary) FROM employees WHERE dept_id IS NOT NULL GROUP BY 1"),
    ("avg_salary", "SELECT dept_id, CAST(AVG(salary) AS DECIMAL(18,6)) FROM employees GROUP BY dept_id HAVING dept_id IS NOT NULL"),
    ("avg_salary", "SELECT dept_id, AVG(CAST(salary AS DOUBLE)) FROM employees WHERE dept_id > 0 GROUP BY dept_id"),
    # dates: timestamp vs date vs ISO text
    ("monthly", "SELECT CAST(DATE_TRUNC('month', ordered_at) AS DATE), SUM(amount) FROM orders "
                "WHERE status != 'cancelled' GROUP BY 1 ORDER BY 1"),
    ("monthly", "SELECT strftime(ordered_at, '%Y-%m-01') AS m, SUM(amount) FROM orders WHERE status <> 'cancelled' "
                "GROUP BY m ORDER BY m"),
    ("orders_2023", "SELECT order_id, amount FROM orders WHERE EXTRACT(YEAR FROM ordered_at) = 2023"),
    ("orders_2023", "SELECT amount, order_id FROM orders WHERE year(ordered_at) = 2023"),
    # window functions vs LIMIT
    ("top3", "SELECT name, salary FROM (SELECT name, salary, ROW_NUMBER() OVER (ORDER BY salary DESC NULLS LAST) AS rn "
             "FROM employees) t WHERE rn <= 3 ORDER BY salary DESC"),
    ("top3", "SELECT name, salary FROM employees WHERE salary IS NOT NULL QUALIFY ROW_NUMBER() OVER (ORDER BY salary DESC) <= 3 "
             "ORDER BY salary DESC"),
    # self join vs correlated subquery
    ("emp_manager", "SELECT e.name, (SELECT m.name FROM employees m WHERE m.emp_id = e.manager_id) FROM employees e"),
    # numbers as text, months as 'YYYY-MM', years as numbers: when they are exactly the expected values
    ("hire_year", "SELECT strftime(hired, '%Y') AS y, COUNT(*) FROM employees GROUP BY y"),
    ("hire_year", "SELECT DATE_TRUNC('year', hired) AS y, COUNT(*) FROM employees GROUP BY y"),
    ("monthly", "SELECT strftime(ordered_at, '%Y-%m') AS m, SUM(amount) FROM orders WHERE status <> 'cancelled' "
                "GROUP BY m ORDER BY m"),
    ("recent_hires", "SELECT name FROM employees WHERE hired > DATE '2019-12-31'"),
]  # fmt: skip


@pytest.mark.parametrize(("question", "answer"), EQUIVALENT)
def test_equivalent_rewrites_are_correct(grader: Grader, question: str, answer: str) -> None:
    result = run(grader, question, answer)
    _assert_verdict(result, "correct")
    assert result.score == 1.0
    assert all(v == 1.0 for v in result.dimensions.values())


# ----------------------------------------------------------------------------------------------- traps

TRAPS = [
    # (question, answer, the hidden dataset that exposes it)
    ("avg_salary", "SELECT dept_id, SUM(salary) / COUNT(*) FROM employees WHERE dept_id IS NOT NULL GROUP BY dept_id", "nulls"),
    ("headcount", "SELECT d.name, COUNT(*) FROM departments d LEFT JOIN employees e ON e.dept_id = d.dept_id GROUP BY d.name", "empty"),
    ("headcount", "SELECT d.name, COUNT(*) FROM departments d JOIN employees e ON e.dept_id = d.dept_id GROUP BY d.name", "empty"),
    ("top3", "SELECT name, salary FROM employees QUALIFY RANK() OVER (ORDER BY salary DESC NULLS LAST) <= 3 ORDER BY salary DESC", "ties"),
    ("top3", "SELECT name, salary FROM employees ORDER BY salary DESC NULLS FIRST LIMIT 3", "nulls"),
    ("recent_hires", "SELECT DISTINCT name FROM employees WHERE hired >= DATE '2020-01-01'", "dups"),
    ("recent_hires", "SELECT name FROM employees WHERE hired >= DATE '2020-01-01' GROUP BY name", "dups"),
    ("orders_2023", "SELECT order_id, amount FROM orders WHERE ordered_at BETWEEN '2023-01-01' AND '2023-12-31'", "boundary"),
    ("orders_2023", "SELECT order_id, amount FROM orders WHERE ordered_at > '2023-01-01' AND ordered_at < '2024-01-01'", "boundary"),
    ("orders_2023", "SELECT order_id, amount FROM orders WHERE ordered_at BETWEEN '2023-01-01' AND '2024-01-01'", "boundary"),
]  # fmt: skip


@pytest.mark.parametrize(("question", "answer", "exposed_by"), TRAPS)
def test_trap_answers_are_right_on_visible_data_and_caught_by_a_hidden_variant(
    grader: Grader, question: str, answer: str, exposed_by: str
) -> None:
    result = run(grader, question, answer)
    _assert_verdict(result, "partial")
    by_name = {d.name: d for d in result.datasets}
    assert by_name["company"].verdict == "correct"
    assert by_name[exposed_by].verdict != "correct"
    assert 0.3 <= result.score < 0.9
    assert result.message.startswith("Right on the visible data")
    assert f"but on the hidden dataset '{exposed_by}'" in result.message
    assert f"'{exposed_by}'" in result.message


def test_hidden_null_variant_message_and_evidence(grader: Grader) -> None:
    result = run(grader, "avg_salary", TRAPS[0][1])
    nulls = next(d for d in result.datasets if d.name == "nulls")
    assert nulls.missing_count == 1 and nulls.extra_count == 1
    assert nulls.missing_rows == [(2, 87500.0)]
    assert nulls.extra_rows == [(2, pytest.approx(58333.333333))]
    assert result.message == (
        "Right on the visible data, but on the hidden dataset 'nulls' 1 of its 3 rows differs from the expected ones."
    )
    assert 0.5 < result.score < 0.9


# ----------------------------------------------------------------------------------------------- dialects

DIALECT_ANSWERS = [
    # NULL replacement functions
    ("mysql", "bonus", "SELECT `name`, IFNULL(`bonus`, 0) AS bonus FROM `employees`"),
    ("tsql", "bonus", "SELECT [name], ISNULL(bonus, 0) AS bonus FROM employees"),
    ("oracle", "bonus", "SELECT name, NVL(bonus, 0) bonus FROM employees"),
    ("snowflake", "bonus", "SELECT name, IFF(bonus IS NULL, 0, bonus) AS bonus FROM employees"),
    ("snowflake", "bonus", "SELECT name, NVL(bonus, 0) AS bonus FROM employees"),
    ("sqlite", "bonus", "SELECT name, IFNULL(bonus, 0) AS bonus FROM employees"),
    ("bigquery", "bonus", "SELECT name, IFNULL(bonus, 0) AS bonus FROM `employees`"),
    ("postgres", "bonus", "SELECT name, COALESCE(bonus, 0)::numeric(10,2) AS bonus FROM employees"),
    # row limits: TOP, FETCH FIRST, LIMIT/OFFSET, ROWNUM (and each engine's NULL ordering)
    ("tsql", "top3", "SELECT TOP 3 name, salary FROM employees ORDER BY salary DESC"),
    ("tsql", "top3", "SELECT name, salary FROM employees ORDER BY salary DESC OFFSET 0 ROWS FETCH NEXT 3 ROWS ONLY"),
    ("postgres", "top3", "SELECT name, salary FROM employees ORDER BY salary DESC NULLS LAST FETCH FIRST 3 ROWS ONLY"),
    ("oracle", "top3", "SELECT name, salary FROM employees ORDER BY salary DESC NULLS LAST FETCH FIRST 3 ROWS ONLY"),
    ("oracle", "top3", "SELECT * FROM (SELECT name, salary FROM employees WHERE salary IS NOT NULL ORDER BY salary DESC) "
                       "WHERE ROWNUM <= 3"),
    ("mysql", "top3", "SELECT name, salary FROM employees ORDER BY salary DESC LIMIT 0, 3"),
    ("sqlite", "top3", "SELECT name, salary FROM employees ORDER BY salary DESC LIMIT 3 OFFSET 0"),
    ("snowflake", "top3", "SELECT name, salary FROM employees ORDER BY salary DESC NULLS LAST LIMIT 3"),
    ("bigquery", "top3", "SELECT name, salary FROM `employees` ORDER BY salary DESC LIMIT 3"),
    ("duckdb", "top3", "SELECT name, salary FROM employees ORDER BY salary DESC LIMIT 3"),
    # string concatenation: ||, CONCAT, +
    ("postgres", "contact", "SELECT name || ' <' || email || '>' AS contact FROM employees WHERE email IS NOT NULL"),
    ("mysql", "contact", "SELECT CONCAT(name, ' <', email, '>') FROM employees WHERE email IS NOT NULL"),
    ("tsql", "contact", "SELECT name + ' <' + email + '>' FROM employees WHERE email IS NOT NULL"),
    ("oracle", "contact", "SELECT name || ' <' || email || '>' FROM employees WHERE email IS NOT NULL"),
    ("sqlite", "contact", "SELECT name || ' <' || email || '>' FROM employees WHERE email IS NOT NULL"),
    ("snowflake", "contact", "SELECT CONCAT(name, ' <', email, '>') FROM employees WHERE email IS NOT NULL"),
    ("bigquery", "contact", "SELECT CONCAT(name, ' <', email, '>') FROM employees WHERE email IS NOT NULL"),
    ("tsql", "contact", "SELECT CONCAT(name, ' <', email, '>') FROM employees WHERE email IS NOT NULL"),
    # date functions
    ("mysql", "orders_2023", "SELECT order_id, amount FROM orders WHERE YEAR(ordered_at) = 2023"),
    ("tsql", "orders_2023", "SELECT order_id, amount FROM orders WHERE DATEPART(year, ordered_at) = 2023"),
    ("sqlite", "orders_2023", "SELECT order_id, amount FROM orders WHERE strftime('%Y', ordered_at) = '2023'"),
    ("oracle", "orders_2023", "SELECT order_id, amount FROM orders WHERE EXTRACT(YEAR FROM ordered_at) = 2023"),
    ("snowflake", "orders_2023", "SELECT order_id, amount FROM orders WHERE DATE_TRUNC('year', ordered_at) = '2023-01-01'"),
    ("bigquery", "orders_2023", "SELECT order_id, amount FROM orders WHERE EXTRACT(YEAR FROM ordered_at) = 2023"),
    ("postgres", "orders_2023", "SELECT order_id, amount FROM orders WHERE ordered_at >= DATE '2023-01-01' "
                                "AND ordered_at < DATE '2024-01-01'"),
    ("postgres", "monthly", "SELECT date_trunc('month', ordered_at) AS m, SUM(amount) FROM orders "
                            "WHERE status <> 'cancelled' GROUP BY 1 ORDER BY 1"),
    ("mysql", "monthly", "SELECT DATE_FORMAT(ordered_at, '%Y-%m-01') AS m, SUM(amount) FROM orders "
                         "WHERE status <> 'cancelled' GROUP BY m ORDER BY m"),
    ("tsql", "monthly", "SELECT DATEFROMPARTS(YEAR(ordered_at), MONTH(ordered_at), 1) AS m, SUM(amount) FROM orders "
                        "WHERE status <> 'cancelled' GROUP BY DATEFROMPARTS(YEAR(ordered_at), MONTH(ordered_at), 1) "
                        "ORDER BY m"),
    ("sqlite", "monthly", "SELECT strftime('%Y-%m-01', ordered_at) AS m, SUM(amount) FROM orders "
                          "WHERE status <> 'cancelled' GROUP BY m ORDER BY m"),
    ("sqlite", "monthly", "SELECT date(ordered_at, 'start of month') AS m, SUM(amount) FROM orders "
                          "WHERE status <> 'cancelled' GROUP BY m ORDER BY m"),
    ("oracle", "monthly", "SELECT TRUNC(ordered_at, 'MM') AS m, SUM(amount) FROM orders "
                          "WHERE status <> 'cancelled' GROUP BY TRUNC(ordered_at, 'MM') ORDER BY m"),
    ("oracle", "monthly", "SELECT TO_CHAR(ordered_at, 'YYYY-MM') || '-01' AS m, SUM(amount) FROM orders "
                          "WHERE status <> 'cancelled' GROUP BY TO_CHAR(ordered_at, 'YYYY-MM') ORDER BY 1"),
    ("snowflake", "monthly", "SELECT DATE_TRUNC('MONTH', ordered_at) AS m, SUM(amount) FROM orders "
                             "WHERE status <> 'cancelled' GROUP BY 1 ORDER BY 1"),
    ("bigquery", "monthly", "SELECT DATE_TRUNC(DATE(ordered_at), MONTH) AS m, SUM(amount) FROM orders "
                            "WHERE status <> 'cancelled' GROUP BY 1 ORDER BY 1"),
    ("tsql", "hire_year", "SELECT YEAR(hired) AS yr, COUNT(*) AS n FROM employees GROUP BY YEAR(hired)"),
    ("tsql", "hire_year", "SELECT DATEPART(yyyy, hired), COUNT(*) FROM employees GROUP BY DATEPART(yyyy, hired)"),
    ("mysql", "hire_year", "SELECT YEAR(hired) AS yr, COUNT(*) AS n FROM employees GROUP BY yr"),
    ("sqlite", "hire_year", "SELECT CAST(strftime('%Y', hired) AS INTEGER) AS yr, COUNT(*) FROM employees GROUP BY yr"),
    # averages: exact division where the engine has it, explicit casts where it does not
    ("mysql", "avg_salary", "SELECT dept_id, SUM(salary) / COUNT(salary) FROM employees WHERE dept_id IS NOT NULL "
                            "GROUP BY dept_id"),
    ("postgres", "avg_salary", "SELECT dept_id, SUM(salary)::float / COUNT(salary) FROM employees "
                               "WHERE dept_id IS NOT NULL GROUP BY dept_id"),
    ("tsql", "avg_salary", "SELECT dept_id, SUM(salary) * 1.0 / COUNT(salary) FROM employees WHERE dept_id IS NOT NULL "
                           "GROUP BY dept_id"),
    ("oracle", "avg_salary", "SELECT dept_id, SUM(salary) / COUNT(salary) FROM employees WHERE dept_id IS NOT NULL "
                             "GROUP BY dept_id"),
    # engine-specific syntax: APPLY, schema-qualified and project-qualified names, float casts, sized casts
    ("tsql", "emp_manager", "SELECT e.name, m.name FROM employees e OUTER APPLY "
                            "(SELECT TOP 1 name FROM employees x WHERE x.emp_id = e.manager_id) m"),
    ("tsql", "bonus", "SELECT name, COALESCE(bonus, 0) FROM dbo.employees"),
    ("bigquery", "bonus", "SELECT name, IFNULL(bonus, 0) FROM `my-project.hr.employees`"),
    ("sqlite", "avg_salary", "SELECT dept_id, SUM(CAST(salary AS REAL)) / COUNT(salary) FROM employees "
                             "WHERE dept_id IS NOT NULL GROUP BY dept_id"),
    ("tsql", "contact", "SELECT CAST(name AS VARCHAR(20)) + ' <' + email + '>' FROM employees WHERE email IS NOT NULL"),
    ("tsql", "headcount", "SELECT d.name, COUNT(e.emp_id) FROM departments AS d LEFT OUTER JOIN employees AS e "
                          "ON e.dept_id = d.dept_id GROUP BY d.name"),
]  # fmt: skip


@pytest.mark.parametrize(("dialect", "question", "answer"), DIALECT_ANSWERS)
def test_idiomatic_answers_in_every_dialect_are_correct(
    grader: Grader, dialect: str, question: str, answer: str
) -> None:
    result = run(grader, question, answer, dialect=dialect)
    _assert_verdict(result, "correct")
    assert result.dialect == dialect and result.transpiled_sql


def test_every_supported_dialect_is_exercised() -> None:
    assert {d for d, _, _ in DIALECT_ANSWERS} == set(SUPPORTED_DIALECTS)


DIALECT_SEMANTICS = [
    # integer division in postgres / sqlite / tsql truncates: a classic wrong average
    (
        "postgres",
        "SELECT dept_id, SUM(salary) / COUNT(salary) FROM employees WHERE dept_id IS NOT NULL GROUP BY 1",
    ),
    (
        "sqlite",
        "SELECT dept_id, SUM(salary) / COUNT(salary) FROM employees WHERE dept_id IS NOT NULL GROUP BY 1",
    ),
    (
        "tsql",
        "SELECT dept_id, SUM(salary) / COUNT(salary) FROM employees WHERE dept_id IS NOT NULL GROUP BY dept_id",
    ),
]


@pytest.mark.parametrize(("dialect", "answer"), DIALECT_SEMANTICS)
def test_integer_division_follows_the_dialect(grader: Grader, dialect: str, answer: str) -> None:
    result = run(grader, "avg_salary", answer, dialect=dialect)
    assert result.verdict in ("partial", "incorrect")
    assert "//" in result.transpiled_sql
    company = result.datasets[0]
    assert (1, 126666) in company.extra_rows


def test_casts_follow_the_dialect(grader: Grader) -> None:
    # CAST(x AS DECIMAL) keeps no decimals in SQL Server: the averages lose their fractions.
    answer = "SELECT dept_id, CAST(AVG(salary * 1.0) AS DECIMAL) FROM employees WHERE dept_id IS NOT NULL GROUP BY dept_id"
    assert run(grader, "avg_salary", answer, dialect="tsql").verdict != "correct"
    assert run(grader, "avg_salary", answer, dialect="postgres").verdict == "correct"
    # VARCHAR(n) keeps n characters.
    short = grader.run_query(
        "SELECT CAST(name AS VARCHAR(2)) FROM employees WHERE emp_id = 1", COMPANY, dialect="tsql"
    )
    assert short.rows == [("Ad",)]


def test_concat_null_semantics_follow_the_dialect(grader: Grader) -> None:
    answer = "SELECT CONCAT(name, ' <', email, '>') FROM employees"
    # MySQL's CONCAT returns NULL when an argument is NULL, so this answer returns a NULL contact for Eli.
    mysql = run(grader, "contact", answer, dialect="mysql")
    assert any(row == (None,) for row in mysql.datasets[0].extra_rows)
    # PostgreSQL's CONCAT skips NULLs: 'Eli <>' instead.
    postgres = run(grader, "contact", answer, dialect="postgres")
    assert ("Eli <>",) in postgres.datasets[0].extra_rows


def test_tsql_with_ties_and_oracle_dual(grader: Grader) -> None:
    reference, datasets = QUESTIONS["top3"]
    answer = "SELECT TOP 3 WITH TIES name, salary FROM employees ORDER BY salary DESC"
    result = grader.grade(answer, reference, datasets, dialect="tsql")
    by_name = {d.name: d for d in result.datasets}
    assert by_name["company"].verdict == "correct"
    assert by_name["ties"].row_count == 5  # WITH TIES keeps every tied row
    dual = grader.grade("SELECT 1 AS one FROM dual", "SELECT 1", [COMPANY], dialect="oracle")
    _assert_verdict(dual, "correct")


def test_unreadable_sql_names_the_dialect(grader: Grader) -> None:
    result = run(grader, "bonus", "SELECT name, FROM WHERE employees ((", dialect="mysql")
    _assert_verdict(result, "error")
    assert "MySQL" in result.message or "syntax" in result.message.lower()
    with pytest.raises(GradingError, match="Unsupported dialect"):
        run(grader, "bonus", "SELECT 1", dialect="cobol")


# ----------------------------------------------------------------------------------------------- attacks


def _dataset_files(grader: Grader) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in grader.store.root.glob("*.duckdb")}


ATTACKS = [
    ("DROP TABLE employees", "DROP is not allowed"),
    ("drop table if exists employees cascade", "DROP is not allowed"),
    ("DELETE FROM employees", "DELETE is not allowed"),
    ("UPDATE employees SET salary = 0", "UPDATE is not allowed"),
    ("INSERT INTO employees (emp_id, name) VALUES (99, 'Mallory')", "INSERT is not allowed"),
    ("CREATE TABLE loot AS SELECT * FROM employees", "CREATE is not allowed"),
    ("CREATE TEMP TABLE t AS SELECT 1", "CREATE is not allowed"),
    ("CREATE MACRO m() AS 1", "CREATE is not allowed"),
    ("ALTER TABLE employees ADD COLUMN pwned INTEGER", "ALTER is not allowed"),
    ("TRUNCATE employees", "TRUNCATE is not allowed"),
    ("SELECT 1; DROP TABLE employees", "found 2 statements"),
    ("SELECT 1 /* ; */ ; DROP TABLE employees", "found 2 statements"),
    ("SELECT 1 --\n; DELETE FROM employees", "found 2 statements"),
    ("SELECT 1;;; SELECT 2", "found 2 statements"),
    ("/* SELECT */ DROP TABLE employees", "DROP is not allowed"),
    ("-- SELECT 1\nDROP TABLE employees", "DROP is not allowed"),
    ("WITH d AS (DELETE FROM employees RETURNING *) SELECT * FROM d", "DELETE is not allowed"),
    ("SELECT * INTO loot FROM employees", "not allowed"),
    ("ATTACH '/tmp/evil.duckdb' AS evil", "ATTACH is not allowed"),
    ("DETACH DATABASE memory", "DETACH is not allowed"),
    ("COPY employees TO '/tmp/athena-loot.csv'", "COPY is not allowed"),
    ("COPY (SELECT * FROM employees) TO '/tmp/athena-loot.parquet' (FORMAT parquet)", "COPY is not allowed"),
    ("EXPORT DATABASE '/tmp/athena-export'", "EXPORT is not allowed"),
    ("INSTALL httpfs", "INSTALL is not allowed"),
    ("LOAD httpfs", "LOAD is not allowed"),
    ("LOAD sqlite_scanner", "LOAD is not allowed"),
    ("PRAGMA version", "PRAGMA is not allowed"),
    ("PRAGMA table_info('employees')", "PRAGMA is not allowed"),
    ("SET enable_external_access = true", "SET is not allowed"),
    ("SET threads = 64", "SET is not allowed"),
    ("RESET memory_limit", "RESET is not allowed"),
    ("SET VARIABLE x = 1", "SET is not allowed"),
    ("CALL pragma_version()", "CALL is not allowed"),
    ("CHECKPOINT", "CHECKPOINT is not allowed"),
    ("EXPLAIN SELECT * FROM employees", "EXPLAIN is not allowed"),
    ("EXPLAIN ANALYZE SELECT * FROM employees", "EXPLAIN is not allowed"),
    ("BEGIN TRANSACTION", "BEGIN is not allowed"),
    ("VACUUM", "VACUUM is not allowed"),
    ("USE memory", "USE is not allowed"),
    ("PREPARE p AS SELECT 1", "PREPARE is not allowed"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv() is not allowed"),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", "not allowed"),
    ("SELECT * FROM read_text('/etc/passwd')", "read_text() is not allowed"),
    ("SELECT * FROM read_blob('/etc/passwd')", "read_blob() is not allowed"),
    ("SELECT * FROM read_parquet('/tmp/x.parquet')", "read_parquet() is not allowed"),
    ("SELECT * FROM read_json('/etc/passwd')", "read_json() is not allowed"),
    ("SELECT * FROM parquet_scan('/tmp/x.parquet')", "parquet_scan() is not allowed"),
    ("SELECT * FROM sniff_csv('/etc/passwd')", "sniff_csv() is not allowed"),
    ("SELECT * FROM glob('/etc/*')", "glob() is not allowed"),
    ("SELECT * FROM '/etc/passwd'", "Reading files is not allowed"),
    ("SELECT * FROM 'data.csv'", "Reading files is not allowed"),
    ("SELECT getenv('HOME')", "getenv"),
    ("SELECT current_setting('home_directory') || (SELECT getenv('PATH'))", "getenv"),
    ("SELECT * FROM query('DROP TABLE employees')", "query() is not allowed"),
    ("SELECT * FROM query_table('employees')", "query_table() is not allowed"),
    ("SELECT * FROM checkpoint()", "checkpoint() is not allowed"),
    ("SELECT * FROM enable_logging()", "enable_logging() is not allowed"),
    ("SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))", "not allowed"),
    ("SELECT sleep_ms(10000)", "sleep_ms() is not allowed"),
    ("SELECT write_log('x')", "write_log() is not allowed"),
    ("select * from READ_CSV('/etc/passwd')", "read_csv() is not allowed"),
    ("(SELECT * FROM read_text('/etc/hostname'))", "read_text() is not allowed"),
    ("WITH x AS (SELECT * FROM read_text('/etc/hostname')) SELECT * FROM x", "read_text() is not allowed"),
    ("SELECT (SELECT content FROM read_text('/etc/hostname'))", "read_text() is not allowed"),
]


@pytest.mark.parametrize(("attack", "expected"), ATTACKS)
def test_attacks_get_error_verdict_and_leave_datasets_unchanged(
    grader: Grader, attack: str, expected: str
) -> None:
    run(grader, "bonus", "SELECT name, COALESCE(bonus, 0) FROM employees")  # make sure the datasets exist
    before = _dataset_files(grader)
    result = run(grader, "bonus", attack)
    _assert_verdict(result, "error")
    assert result.score == 0.0
    assert expected in result.message
    assert _dataset_files(grader) == before
    assert not Path("/tmp/athena-loot.csv").exists() and not Path("/tmp/athena-export").exists()


DIALECT_ATTACKS = [
    ("tsql", "EXEC xp_cmdshell 'ls'"),
    ("tsql", "SELECT 1; DROP TABLE employees"),
    ("tsql", "SELECT * INTO loot FROM employees"),
    ("mysql", "SELECT * FROM employees INTO OUTFILE '/tmp/athena-loot.txt'"),
    ("mysql", "SELECT LOAD_FILE('/etc/passwd')"),
    ("postgres", "COPY employees TO '/tmp/athena-loot.csv'"),
    ("postgres", "SELECT pg_read_file('/etc/passwd')"),
    ("sqlite", "ATTACH DATABASE '/tmp/evil.db' AS evil"),
    ("oracle", "BEGIN EXECUTE IMMEDIATE 'DROP TABLE employees'; END;"),
    ("snowflake", "PUT file:///etc/passwd @stage"),
    ("bigquery", "DELETE FROM employees WHERE true"),
]


@pytest.mark.parametrize(("dialect", "attack"), DIALECT_ATTACKS)
def test_attacks_in_other_dialects_are_refused(grader: Grader, dialect: str, attack: str) -> None:
    before = _dataset_files(grader)
    result = run(grader, "bonus", attack, dialect=dialect)
    _assert_verdict(result, "error")
    assert _dataset_files(grader) == before
    assert not Path("/tmp/athena-loot.txt").exists()


def test_hidden_dataset_file_cannot_be_read_from_the_visible_one(grader: Grader) -> None:
    nulls = grader.store.get(NULLS)
    for attack in (f"SELECT * FROM '{nulls.path}'", f"SELECT * FROM read_duckdb('{nulls.path}')",
                   f"ATTACH '{nulls.path}' AS h"):  # fmt: skip
        with pytest.raises(QueryRejected):
            grader.run_query(attack, COMPANY)


def test_the_sandbox_connection_is_locked_down(grader: Grader) -> None:
    result = grader.run_query(
        "SELECT current_setting('enable_external_access') AS ext, current_setting('lock_configuration') AS locked, "
        "current_setting('autoload_known_extensions') AS autoload, current_setting('access_mode') AS mode",
        COMPANY,
    )
    assert result.rows == [(False, True, False, "read_only")]


def test_data_is_unchanged_after_the_attacks(grader: Grader) -> None:
    for attack, _ in ATTACKS[:12]:
        run(grader, "bonus", attack)
    rows = grader.run_query("SELECT COUNT(*), SUM(salary) FROM employees", COMPANY).rows
    assert rows == [(7, 690000)]


# ----------------------------------------------------------------------------------------------- limits


RUNAWAY = [
    "SELECT COUNT(*) FROM range(100000000) a, range(100000000) b",
    "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT MAX(i) FROM r",
    "SELECT * FROM generate_series(1, 10000000000) g ORDER BY g DESC",
    "SELECT COUNT(*) FROM employees a, employees b, range(1000000000) c",
]


@pytest.mark.parametrize("answer", RUNAWAY)
def test_runaway_queries_are_stopped_at_the_time_limit(grader: Grader, answer: str) -> None:
    started = time.monotonic()
    result = run(grader, "bonus", answer, timeout_s=0.4)
    elapsed = time.monotonic() - started
    _assert_verdict(result, "error")
    assert (
        "took longer than 0.4 s and was stopped" in result.message
        or "more memory than allowed" in result.message
    )
    assert elapsed < 0.4 + 1.5  # stopped on the first dataset, not run on the others
    assert result.datasets[0].error_kind in ("timeout", "too_large")
    assert result.datasets[1].error_kind == "skipped"


def test_a_query_that_runs_away_on_a_hidden_dataset_only(grader: Grader) -> None:
    # Quick on the visible data (7 employees), endless on the 'nulls' variant (9 employees).
    answer = (
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r "
        "WHERE i < (SELECT CASE WHEN COUNT(*) > 8 THEN 1000000000000 ELSE 3 END FROM employees)) "
        "SELECT name, COALESCE(bonus, 0) FROM employees WHERE (SELECT MAX(i) FROM r) > 0"
    )
    reference = QUESTIONS["bonus"][0]
    result = grader.grade(answer, reference, [COMPANY, NULLS, EMPTY], timeout_s=0.5)
    assert [(d.name, d.verdict, d.error_kind) for d in result.datasets] == [
        ("company", "correct", ""),
        ("nulls", "error", "timeout"),
        ("empty", "error", "skipped"),
    ]
    _assert_verdict(result, "partial")
    assert "on the hidden dataset 'nulls' it failed: The query took longer than 0.5 s" in result.message
    _assert_verdict(grader.grade(reference, reference, [COMPANY, NULLS, EMPTY]), "correct")


MEMORY_BOMBS = [
    "SELECT length(repeat('x', 2000000000))",
    "SELECT string_agg(repeat('x', 1000000), ',') FROM range(100000)",
    "SELECT repeat('x', 100000000) AS s FROM range(100)",
    "SELECT list(i) FROM range(1000000000) r(i)",
    "SELECT s, s, s, s, s, s, s, s, s, s FROM (SELECT repeat('x', 20000000) AS s)",
]


@pytest.mark.parametrize("answer", MEMORY_BOMBS)
def test_memory_bombs_are_stopped(grader: Grader, answer: str) -> None:
    result = run(grader, "bonus", answer, timeout_s=2)
    _assert_verdict(result, "error")
    assert "memory" in result.message or "too large" in result.message or "longer than" in result.message
    assert grader.run_query("SELECT 42 AS answer", COMPANY).rows == [(42,)]  # the sandbox still works


def test_billions_of_rows_hit_the_row_cap(grader: Grader) -> None:
    result = run(grader, "bonus", "SELECT * FROM generate_series(1, 10000000000)", max_rows=1000)
    _assert_verdict(result, "error")
    assert "more than 1,000 rows" in result.message
    rows = grader.run_query("SELECT * FROM generate_series(1, 10000000000)", COMPANY, max_rows=5)
    assert rows.truncated and rows.rows == [(1,), (2,), (3,), (4,), (5,)]


def test_a_worker_that_ignores_the_interrupt_is_killed_and_replaced(tmp_path: Path) -> None:
    # Constant folding of a 1.5 GB string is not interruptible: only killing the worker stops it.
    limits = SandboxLimits(address_space_mb=4096, memory_limit_mb=256, kill_grace_s=0.3)
    g = Grader(tmp_path / "cache", limits=limits, max_workers=1)
    try:
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            g.run_query("SELECT length(repeat('x', 1500000000))", COMPANY, timeout_s=0.3)
        assert time.monotonic() - started < 3
        assert g.run_query("SELECT COUNT(*) FROM employees", COMPANY).rows == [(7,)]
    finally:
        g.close()


# ----------------------------------------------------------------------------------------------- run_query


def test_run_query_returns_columns_rows_and_timing(grader: Grader) -> None:
    result = grader.run_query(
        "SELECT name, salary FROM employees WHERE salary > 100000 ORDER BY salary", COMPANY
    )
    assert result.columns == ["name", "salary"]
    assert result.rows == [("Cy", 110000), ("Ben", 120000), ("Ada", 150000)]
    assert result.types == ["VARCHAR", "INTEGER"]
    assert not result.truncated and result.elapsed_ms > 0


@pytest.mark.parametrize(
    ("sql", "error", "message"),
    [
        (
            "DROP TABLE employees",
            QueryRejected,
            "DROP is not allowed: answers must be read-only SELECT queries.",
        ),
        ("", QueryRejected, "The answer is empty: write a single SELECT query."),
        ("   -- nothing\n", QueryRejected, "The answer is empty: write a single SELECT query."),
        ("SELEC name FROM employees", QuerySyntaxError, 'syntax error at or near "SELEC"'),
        ("SELECT nope FROM employees", QueryFailed, 'Referenced column "nope" not found'),
        ("SELECT CAST('x' AS INTEGER)", QueryFailed, "Could not convert string 'x' to INT32"),
        ("SELECT 1 " + "+ 1 " * 30_000, QueryRejected, "The query is too long"),
        (
            "PIVOT employees ON dept_id USING COUNT(*)",
            QueryRejected,
            "PIVOT needs the values to pivot on here",
        ),
    ],
)
def test_run_query_errors_are_typed_and_readable(grader: Grader, sql: str, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        grader.run_query(sql, COMPANY)
    assert isinstance(info.value, SandboxError)
    assert message in str(info.value)
    assert "Traceback" not in str(info.value)


def test_duckdb_read_only_statements_run(grader: Grader) -> None:
    pivot = grader.run_query("PIVOT employees ON dept_id IN (1, 2, 3) USING COUNT(*) GROUP BY name", COMPANY)
    assert pivot.columns == ["name", "1", "2", "3"] and len(pivot.rows) == 7
    assert grader.run_query("DESCRIBE employees", COMPANY).rows[0][:2] == ("emp_id", "INTEGER")
    assert ("orders",) in grader.run_query("SHOW TABLES", COMPANY).rows
    assert len(grader.run_query("FROM employees SELECT name", COMPANY).rows) == 7


def test_run_query_timeout(grader: Grader) -> None:
    with pytest.raises(QueryTimeout, match=r"took longer than 0.3 s"):
        grader.run_query("SELECT COUNT(*) FROM range(1000000000) a, range(1000000) b", COMPANY, timeout_s=0.3)


def test_run_query_in_other_dialects(grader: Grader) -> None:
    result = grader.run_query(
        "SELECT TOP 2 [name] FROM employees ORDER BY salary DESC", COMPANY, dialect="tsql"
    )
    assert result.rows == [("Ada",), ("Ben",)]
    assert result.sql.startswith("SELECT") and "LIMIT 2" in result.sql


def test_a_crashed_worker_is_replaced(tmp_path: Path) -> None:
    g = Grader(tmp_path / "cache", max_workers=1)
    try:
        assert g.run_query("SELECT 1 AS one", COMPANY).rows == [(1,)]
        with g.pool.worker() as worker:
            pid = worker.proc.pid
        killer = threading.Timer(0.3, os.kill, (pid, 9))
        killer.start()
        with pytest.raises(SandboxError, match="stopped the sandbox"):
            g.run_query("SELECT COUNT(*) FROM range(1000000000) a, range(1000000) b", COMPANY, timeout_s=5)
        killer.join()
        assert g.run_query("SELECT 2 AS two", COMPANY).rows == [(2,)]
    finally:
        g.close()


def test_concurrent_gradings_share_the_worker_pool(grader: Grader) -> None:
    answers = [a for q, a in EQUIVALENT if q == "headcount"] * 3
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda a=a: results.append(run(grader, "headcount", a).verdict))
        for a in answers
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["correct"] * len(answers)


def test_error_messages_are_short_and_feedback_points_at_the_line(grader: Grader) -> None:
    result = run(grader, "bonus", "SELECT name, bonsu FROM employees")
    assert (
        result.message
        == 'The query did not run: Binder Error: Referenced column "bonsu" not found in FROM clause!'
    )
    assert "LINE 1: SELECT name, bonsu FROM employees" in result.feedback()
    assert run(grader, "bonus", "\ufeffSELECT name, COALESCE(bonus, 0) FROM employees").verdict == "correct"


@pytest.mark.parametrize("depth", [5_000, 20_000])
def test_deeply_nested_queries_do_not_take_the_grader_down(grader: Grader, depth: int) -> None:
    try:
        grader.run_query("SELECT " + "(" * depth + "1" + ")" * depth, COMPANY)
    except SandboxError as exc:
        assert "Traceback" not in str(exc)
    assert grader.run_query("SELECT 1 AS ok", COMPANY).rows == [(1,)]


# ----------------------------------------------------------------------------------------------- scoring


def test_partial_credit_orders_correct_partial_incorrect_error(grader: Grader) -> None:
    answers = {
        "correct": "SELECT dept_id, AVG(salary) FROM employees WHERE dept_id IS NOT NULL GROUP BY dept_id",
        "partial": TRAPS[0][1],
        "incorrect": "SELECT dept_id, SUM(salary) FROM employees WHERE dept_id IS NOT NULL GROUP BY dept_id",
        "incorrect_shape": "SELECT name FROM employees",
        "error": "SELECT 1; DROP TABLE employees",
    }
    scores = {}
    for label, answer in answers.items():
        result = run(grader, "avg_salary", answer)
        _assert_verdict(result, label.split("_")[0])
        scores[label] = result.score
    assert scores["correct"] == 1.0
    assert (
        scores["correct"]
        > scores["partial"]
        > scores["incorrect"]
        >= scores["incorrect_shape"]
        > scores["error"]
    )
    assert scores["incorrect"] < 0.3 <= scores["partial"]
    assert scores["error"] == 0.0


def test_merely_running_earns_little(grader: Grader) -> None:
    result = run(grader, "avg_salary", "SELECT 'nothing to see' AS x")
    _assert_verdict(result, "incorrect")
    assert 0 < result.score <= 0.05
    assert result.dimensions["runs"] == 1.0 and result.dimensions["rows"] == 0.0


def test_dimensions_show_what_was_right(grader: Grader) -> None:
    extra_column = run(grader, "avg_salary", "SELECT dept_id, AVG(salary), COUNT(*) FROM employees "
                                             "WHERE dept_id IS NOT NULL GROUP BY dept_id")  # fmt: skip
    assert extra_column.verdict == "partial"
    assert extra_column.dimensions["rows"] == 1.0 and extra_column.dimensions["columns"] == pytest.approx(
        2 / 3
    )
    assert "3 columns instead of 2" in extra_column.message
    missing_column = run(
        grader, "avg_salary", "SELECT dept_id FROM employees WHERE dept_id IS NOT NULL GROUP BY 1"
    )
    assert missing_column.dimensions["columns"] == 0.5 and missing_column.dimensions["row_count"] == 1.0
    wrong_order = run(grader, "payroll", "SELECT d.name, SUM(e.salary) FROM departments d JOIN employees e "
                                         "ON e.dept_id = d.dept_id GROUP BY d.name ORDER BY 2")  # fmt: skip
    _assert_verdict(wrong_order, "partial")
    assert wrong_order.dimensions["rows"] == 1.0 and wrong_order.dimensions["order"] < 1.0
    assert "not in the required order (expected ORDER BY payroll DESC)" in wrong_order.message


def test_errors_on_a_hidden_dataset_only_give_partial_credit(grader: Grader) -> None:
    # Fails with a conversion error only where a department has a NULL salary (the hidden 'nulls' data).
    answer = (
        "SELECT dept_id, AVG(salary) + CAST(CASE WHEN COUNT(*) > COUNT(salary) THEN 'x' ELSE '0' END AS INT) "
        "FROM employees WHERE dept_id IS NOT NULL GROUP BY dept_id"
    )
    result = run(grader, "avg_salary", answer)
    by_name = {d.name: d for d in result.datasets}
    assert by_name["company"].verdict == "correct"
    assert by_name["nulls"].verdict == "error" and "Could not convert" in by_name["nulls"].message
    _assert_verdict(result, "partial")
    feedback = result.feedback(redact_hidden=True)
    assert "'x'" not in feedback and "Conversion Error" in feedback


def test_feedback_never_reveals_hidden_rows(grader: Grader) -> None:
    result = run(grader, "avg_salary", TRAPS[0][1])
    hidden_values = ("87500", "58333")
    candidate = result.feedback(redact_hidden=True)
    assert "nulls" in candidate and not any(v in candidate for v in hidden_values)
    redacted = json.dumps(result.to_dict(redact_hidden=True))
    assert not any(v in redacted for v in hidden_values)
    lead = result.feedback(redact_hidden=False)
    assert "87500" in lead or "58333" in lead
    wrong_visible = run(grader, "avg_salary", "SELECT dept_id, MAX(salary) FROM employees GROUP BY dept_id")
    assert "For example, on the visible dataset 'company'" in wrong_visible.feedback()


def test_to_dict_is_json_safe(grader: Grader) -> None:
    result = run(
        grader, "monthly", "SELECT DATE_TRUNC('month', ordered_at), SUM(amount) * 2 FROM orders GROUP BY 1"
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert data["verdict"] == "incorrect" and isinstance(data["score"], float)
    assert set(data["dimensions"]) == {"runs", "columns", "row_count", "rows", "order"}
    sample = data["datasets"][0]["missing_rows"][0]
    assert isinstance(sample[0], str) and isinstance(sample[1], float)
    assert data["transpiled_sql"].startswith("SELECT") and data["elapsed_ms"] > 0


# ----------------------------------------------------------------------------------------------- order


def test_rows_tied_on_the_order_keys_may_come_in_any_order(grader: Grader) -> None:
    result = run(grader, "payroll", "SELECT d.name, SUM(e.salary) AS p FROM departments d JOIN employees e "
                                    "ON e.dept_id = d.dept_id GROUP BY d.name ORDER BY p DESC, d.name DESC")  # fmt: skip
    _assert_verdict(result, "correct")


def test_order_keys_that_are_not_output_columns(grader: Grader) -> None:
    tie_break = run(grader, "by_salary", "SELECT name FROM employees ORDER BY salary DESC, name DESC")
    _assert_verdict(tie_break, "correct")
    by_name = run(grader, "by_salary", "SELECT name FROM employees ORDER BY name")
    _assert_verdict(by_name, "partial")
    assert by_name.dimensions["rows"] == 1.0 and by_name.dimensions["order"] < 1.0


def test_ties_at_a_limit_cut_may_be_swapped(grader: Grader) -> None:
    reference, _ = QUESTIONS["top3"]
    for tie_break in ("name", "name DESC", "emp_id DESC"):
        answer = f"SELECT name, salary FROM employees ORDER BY salary DESC, {tie_break} LIMIT 3"
        _assert_verdict(grader.grade(answer, reference, [TIES]), "correct")
    wrong = grader.grade("SELECT name, salary FROM employees ORDER BY salary LIMIT 3", reference, [TIES])
    _assert_verdict(wrong, "incorrect")


def test_order_is_ignored_without_an_outer_order_by(grader: Grader) -> None:
    result = run(grader, "bonus", "SELECT name, COALESCE(bonus, 0) FROM employees ORDER BY name DESC")
    _assert_verdict(result, "correct")
    assert not result.order_required
    inner = grader.grade(
        "SELECT name FROM employees",
        "SELECT name FROM (SELECT name FROM employees ORDER BY salary) t",
        [COMPANY],
    )
    _assert_verdict(inner, "correct")


def test_order_matters_can_be_forced(grader: Grader) -> None:
    reference = "SELECT name FROM employees ORDER BY emp_id"
    unordered = grader.grade(
        "SELECT name FROM employees ORDER BY name DESC", reference, [COMPANY], order_matters=False
    )
    _assert_verdict(unordered, "correct")
    exact = grader.grade(
        "SELECT name FROM employees ORDER BY name DESC", "SELECT name FROM employees ORDER BY name", [COMPANY],
        order_matters=True,
    )  # fmt: skip
    _assert_verdict(exact, "partial")


def test_null_placement_in_order_by_differs_across_engines(grader: Grader) -> None:
    # DuckDB sorts NULLs last, SQL Server first: the same ORDER BY is right in both.
    result = run(grader, "by_bonus", "SELECT name, bonus FROM employees ORDER BY bonus", dialect="tsql")
    assert "NULLS FIRST" in result.transpiled_sql
    _assert_verdict(result, "correct")
    descending = run(grader, "by_bonus", "SELECT name, bonus FROM employees ORDER BY bonus DESC")
    _assert_verdict(descending, "partial")


def test_order_by_ordinal_and_expression_in_the_reference(grader: Grader) -> None:
    reference = "SELECT dept_id, COUNT(*) FROM employees GROUP BY dept_id ORDER BY COUNT(*) DESC, 1"
    _assert_verdict(grader.grade("SELECT dept_id, COUNT(*) AS n FROM employees GROUP BY 1 ORDER BY n DESC, dept_id",
                                 reference, [COMPANY]), "correct")  # fmt: skip
    _assert_verdict(grader.grade("SELECT dept_id, COUNT(*) AS n FROM employees GROUP BY 1 ORDER BY n",
                                 reference, [COMPANY]), "partial")  # fmt: skip


# ----------------------------------------------------------------------------------------------- comparison


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (3, 3.0),
        (3, decimal.Decimal("3.00")),
        (0.1 + 0.2, 0.3),
        (decimal.Decimal("2.5"), 2.5),
        (None, None),
        (float("nan"), float("nan")),
        (dt.date(2024, 2, 29), dt.datetime(2024, 2, 29)),
        (dt.date(2024, 2, 29), "2024-02-29"),
        (dt.datetime(2024, 2, 29, 10, 30), "2024-02-29 10:30:00"),
        (True, 1),
    ],
)
def test_values_that_compare_equal(a: object, b: object) -> None:
    assert canon(a) == canon(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("a", "A"),
        ("x", "x "),
        (1000000001, 1000000002),
        (0, None),
        ("", None),
        (2.5, 2.51),
        ("2024-01", dt.date(2024, 1, 1)),
    ],
)
def test_values_that_differ(a: object, b: object) -> None:
    assert canon(a) != canon(b)


def test_tolerance_applies_to_float_noise_only() -> None:
    expected = expected_from(["x"], [(1 / 3,)])
    assert compare(expected, ["y"], [(0.33333333333,)]).correct
    assert not compare(expected, ["y"], [(0.3334,)]).correct


def test_duplicates_count_as_a_multiset() -> None:
    expected = expected_from(["x"], [(1,), (1,), (2,)])
    assert compare(expected, ["x"], [(2,), (1,), (1,)]).correct
    result = compare(expected, ["x"], [(1,), (2,)])
    assert not result.correct and result.missing == [(1,)]


def test_identical_columns_are_matched_by_rows() -> None:
    expected = expected_from(["a", "b"], [(1, 2), (2, 1)])
    assert compare(expected, ["b", "a"], [(2, 1), (1, 2)]).correct
    assert not compare(expected, ["a", "b"], [(1, 1), (2, 2)]).correct


# ----------------------------------------------------------------------------------------------- datasets


def test_portable_ddl_from_other_engines_builds(grader: Grader) -> None:
    scripts = {
        "mysql": "CREATE TABLE t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB; "
                 "INSERT INTO t (name) VALUES ('a'), ('b');",
        "tsql": "CREATE TABLE t (id INT IDENTITY(1,1) PRIMARY KEY, name NVARCHAR(20), at DATETIME2); "
                "INSERT INTO t (name, at) VALUES (N'a', '2024-01-01'), (N'b', '2024-01-02');",
        "postgres": "CREATE TABLE t (id SERIAL PRIMARY KEY, name TEXT); INSERT INTO t (name) VALUES ('a'), ('b');",
        "sqlite": "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT); "
                  "INSERT INTO t (name) VALUES ('a'), ('b');",
        "oracle": "CREATE TABLE t (id NUMBER GENERATED BY DEFAULT AS IDENTITY, name VARCHAR2(20)); "
                  "INSERT INTO t (name) VALUES ('a'); INSERT INTO t (name) VALUES ('b');",
    }  # fmt: skip
    for engine, text in scripts.items():
        result = grader.run_query("SELECT id, name FROM t ORDER BY id", Dataset(f"{engine}_ddl", text))
        assert result.rows == [(1, "a"), (2, "b")], engine


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("CREATE TABLE t (a INT); INSERT INTO t VALUES ('not a number');", "Dataset 'broken' does not build"),
        ("", "Dataset 'broken' has an empty script"),
        ("SELECT 1;", "Dataset 'broken' builds no tables"),
        ("CREATE TABLE t AS SELECT * FROM read_csv('/etc/passwd');", "Dataset 'broken' does not build"),
    ],
)
def test_a_fixture_that_does_not_build_is_a_grading_error(grader: Grader, script: str, message: str) -> None:
    with pytest.raises(GradingError, match=message):
        grader.grade("SELECT 1", "SELECT 1", [Dataset("broken", script)])


def test_a_reference_that_does_not_run_is_a_grading_error(grader: Grader) -> None:
    with pytest.raises(GradingError, match="The reference query does not run on dataset 'company'"):
        grader.grade("SELECT 1", "SELECT nope FROM employees", [COMPANY])
    with pytest.raises(GradingError, match="reference query is empty"):
        grader.grade("SELECT 1", "  ", [COMPANY])
    with pytest.raises(GradingError, match="at least one dataset"):
        grader.grade("SELECT 1", "SELECT 1", [])


def test_datasets_are_built_once_and_shared_between_processes(tmp_path: Path) -> None:
    cache = tmp_path / "shared"
    stores = [DatasetStore(cache) for _ in range(4)]
    built = []
    threads = [threading.Thread(target=lambda s=s: built.append(s.get(COMPANY))) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({b.path for b in built}) == 1
    files = sorted(p.name for p in cache.iterdir())
    assert len([f for f in files if f.endswith(".duckdb")]) == 1 and not [
        f for f in files if f.endswith(".tmp")
    ]
    mtime = built[0].path.stat().st_mtime_ns
    assert DatasetStore(cache).get(COMPANY).path.stat().st_mtime_ns == mtime  # reused, not rebuilt


def test_a_shared_writable_cache_directory_is_refused(tmp_path: Path) -> None:
    unsafe = tmp_path / "unsafe"
    unsafe.mkdir()
    os.chmod(unsafe, 0o777)
    with pytest.raises(GradingError, match="writable by other users"):
        DatasetStore(unsafe).get(COMPANY)


def test_module_level_api_uses_a_configurable_default(tmp_path: Path) -> None:
    g = grading.configure(tmp_path / "default-cache")
    try:
        result = grading.grade(
            "SELECT 1 AS x", "SELECT 1.0 AS y", [Dataset("tiny", "CREATE TABLE t (a INT);")]
        )
        _assert_verdict(result, "correct")
        assert grading.run_query("SELECT 2 AS two", Dataset("tiny", "CREATE TABLE t (a INT);")).rows == [(2,)]
        assert g.store.root == (tmp_path / "default-cache").resolve()
    finally:
        grading.configure()  # back to a fresh default grader for other tests


# ----------------------------------------------------------------------------------------------- CLI


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interview.grading", "--cache-dir", str(tmp_path / "cli-cache"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture()
def cli_files(tmp_path: Path) -> dict[str, str]:
    files = {
        "company.sql": COMPANY.script,
        "nulls.sql": NULLS.script,
        "ref.sql": QUESTIONS["avg_salary"][0],
        "right.sql": "SELECT dept_id, SUM(salary) / COUNT(salary) AS a FROM employees WHERE dept_id IS NOT NULL GROUP BY 1",
        "trap.sql": TRAPS[0][1],
        "drop.sql": "DROP TABLE employees",
        "broken.sql": "CREATE TABLE t (a INT); INSERT INTO t VALUES ('x');",
        "badref.sql": "SELECT nope FROM employees",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return {name: str(tmp_path / name) for name in files}


def test_cli_grades_and_prints_json(tmp_path: Path, cli_files: dict[str, str]) -> None:
    f = cli_files
    right = _cli(tmp_path, "--fixture", f["company.sql"], "--hidden-fixture", f["nulls.sql"],
                 "--reference", f["ref.sql"], "--answer", f["right.sql"], "--dialect", "mysql")  # fmt: skip
    assert right.returncode == 0, right.stderr
    data = json.loads(right.stdout)
    assert data["verdict"] == "correct" and data["score"] == 1.0 and data["dialect"] == "mysql"
    trap = _cli(tmp_path, "--fixture", f["company.sql"], "--fixture", f["nulls.sql"], "--reference", f["ref.sql"],
                "--answer", f["trap.sql"], "--feedback")  # fmt: skip
    assert trap.returncode == 0
    data = json.loads(trap.stdout)
    assert data["verdict"] == "partial" and 0 < data["score"] < 1
    assert [d["name"] for d in data["datasets"]] == ["company", "nulls"] and "feedback" in data
    drop = _cli(
        tmp_path, "--fixture", f["company.sql"], "--reference", f["ref.sql"], "--answer", f["drop.sql"]
    )
    assert drop.returncode == 0
    assert json.loads(drop.stdout)["verdict"] == "error"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--fixture", "missing.sql", "--reference", "ref.sql", "--answer", "right.sql"],
            "Cannot read the fixture file",
        ),
        (
            ["--fixture", "company.sql", "--reference", "ref.sql", "--answer", "nowhere.sql"],
            "Cannot read the answer file",
        ),
        (["--fixture", "broken.sql", "--reference", "ref.sql", "--answer", "right.sql"], "does not build"),
        (
            ["--fixture", "company.sql", "--reference", "badref.sql", "--answer", "right.sql"],
            "reference query does not run",
        ),
    ],
)
def test_cli_usage_errors_exit_2_with_a_json_error(tmp_path: Path, cli_files: dict[str, str], args: list[str],
                                                   message: str) -> None:  # fmt: skip
    resolved = [cli_files.get(a, str(tmp_path / a)) if a.endswith(".sql") else a for a in args]
    result = _cli(tmp_path, *resolved)
    assert result.returncode == 2
    assert message in json.loads(result.stdout)["error"]
    assert "Traceback" not in result.stderr


def test_cli_argument_errors_exit_2(tmp_path: Path) -> None:
    result = _cli(tmp_path, "--reference", "x.sql")
    assert result.returncode == 2 and "required" in result.stderr
    result = _cli(
        tmp_path, "--fixture", "a.sql", "--reference", "r.sql", "--answer", "a.sql", "--dialect", "cobol"
    )
    assert result.returncode == 2 and "invalid choice" in result.stderr
