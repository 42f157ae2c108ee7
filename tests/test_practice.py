"""The practice datasets: deterministic build, schema, realism of `company`, the traps of the hidden variants."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from interview.practice import (
    DATASETS_DIR,
    PracticeDataError,
    dataset_names,
    load_dataset,
    practice_schema,
    schema_overview,
)

ROOT = Path(__file__).resolve().parent.parent
BUILT = ("company", "nulls", "ties", "empty_groups", "duplicates", "boundary_dates")
VARIANTS = BUILT[1:]

# The agreed practice schema (table -> column -> DuckDB type), independent of the generator.
EXPECTED_SCHEMA = {
    "departments": {
        "dept_id": "INTEGER",
        "name": "VARCHAR",
        "location": "VARCHAR",
        "budget": "DECIMAL(12,2)",
    },
    "employees": {
        "emp_id": "INTEGER",
        "first_name": "VARCHAR",
        "last_name": "VARCHAR",
        "email": "VARCHAR",
        "dept_id": "INTEGER",
        "manager_id": "INTEGER",
        "title": "VARCHAR",
        "hire_date": "DATE",
        "salary": "DECIMAL(10,2)",
    },
    "salary_history": {"emp_id": "INTEGER", "effective_date": "DATE", "salary": "DECIMAL(10,2)"},
    "customers": {
        "customer_id": "INTEGER",
        "name": "VARCHAR",
        "email": "VARCHAR",
        "city": "VARCHAR",
        "country": "VARCHAR",
        "segment": "VARCHAR",
        "signup_date": "DATE",
        "referred_by": "INTEGER",
    },
    "products": {
        "product_id": "INTEGER",
        "name": "VARCHAR",
        "category": "VARCHAR",
        "unit_price": "DECIMAL(10,2)",
        "discontinued": "BOOLEAN",
    },
    "orders": {
        "order_id": "INTEGER",
        "customer_id": "INTEGER",
        "sales_rep_id": "INTEGER",
        "order_date": "DATE",
        "status": "VARCHAR",
        "shipped_date": "DATE",
    },
    "order_items": {
        "order_id": "INTEGER",
        "line_no": "INTEGER",
        "product_id": "INTEGER",
        "quantity": "INTEGER",
        "unit_price": "DECIMAL(10,2)",
        "discount": "DECIMAL(4,2)",
    },
    "payments": {
        "payment_id": "INTEGER",
        "order_id": "INTEGER",
        "paid_at": "TIMESTAMP",
        "amount": "DECIMAL(10,2)",
        "method": "VARCHAR",
    },
}
REVENUE = "SUM(i.quantity * i.unit_price * (1 - i.discount))"


@pytest.fixture(scope="module")
def db():
    """One in-memory DuckDB connection per dataset, loaded from the committed scripts."""
    conns = {}
    for name in BUILT:
        con = duckdb.connect()
        con.execute((DATASETS_DIR / f"{name}.sql").read_text(encoding="utf-8"))
        conns[name] = con
    yield conns
    for con in conns.values():
        con.close()


def one(con: duckdb.DuckDBPyConnection, sql: str):
    return con.execute(sql).fetchone()[0]


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


# --- build -------------------------------------------------------------------------------------------------
def test_committed_datasets_equal_a_fresh_build(tmp_path: Path) -> None:
    out = tmp_path / "built"
    run = subprocess.run(
        [sys.executable, str(ROOT / "data" / "practice" / "build.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.glob("*.sql")) == sorted(f"{n}.sql" for n in BUILT)
    for name in BUILT:
        fresh, committed = (out / f"{name}.sql").read_bytes(), (DATASETS_DIR / f"{name}.sql").read_bytes()
        assert fresh == committed, f"{name}.sql differs from a fresh build: run python data/practice/build.py"


def test_every_dataset_loads_with_the_agreed_schema(db) -> None:
    """Also the question-specific variants other people add to the folder: same tables, same columns."""
    assert set(BUILT) <= set(dataset_names())
    for name in dataset_names():
        con = db.get(name) or duckdb.connect()
        if name not in db:
            con.execute(load_dataset(name).script)
        found: dict[str, dict[str, str]] = {}
        for table, column, data_type in rows(
            con, "SELECT table_name, column_name, data_type FROM information_schema.columns ORDER BY ALL"
        ):
            found.setdefault(table, {})[column] = data_type
        assert found == {t: dict(sorted(c.items())) for t, c in sorted(EXPECTED_SCHEMA.items())}, name
        for table in EXPECTED_SCHEMA:
            assert one(con, f"SELECT count(*) FROM {table}") > 0, f"{name}.{table} is empty"


def test_company_is_big_enough_and_loads_fast() -> None:
    script = (DATASETS_DIR / "company.sql").read_text(encoding="utf-8")
    assert len(script.encode()) < 1_500_000
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(script)
    assert time.perf_counter() - started < 3.0
    counts = {t: one(con, f"SELECT count(*) FROM {t}") for t in EXPECTED_SCHEMA}
    assert len(counts) >= 6 and max(counts.values()) >= 1000
    assert 150 <= counts["employees"] <= 250 and 400 <= counts["customers"] <= 600
    assert counts["orders"] == 3000 and 7000 <= counts["order_items"] <= 10000
    assert all(len(line) < 10_000 for line in script.splitlines())
    assert script.count("INSERT INTO") <= 40  # multi-row inserts, not one statement per row


def test_variants_are_small(db) -> None:
    for name in VARIANTS:
        for table in EXPECTED_SCHEMA:
            assert 1 <= one(db[name], f"SELECT count(*) FROM {table}") <= 80, (name, table)


# --- the company dataset is realistic and consistent -----------------------------------------------------------
def test_company_hierarchy_and_pay_history(db) -> None:
    con = db["company"]
    assert con.execute("SELECT emp_id, title FROM employees WHERE manager_id IS NULL").fetchall() == [
        (1, "Chief Executive Officer")
    ]
    depth = one(
        con,
        """WITH RECURSIVE chain AS (
        SELECT emp_id, 1 AS level FROM employees WHERE manager_id IS NULL
        UNION ALL SELECT e.emp_id, c.level + 1 FROM employees e JOIN chain c ON e.manager_id = c.emp_id)
        SELECT max(level) FROM chain""",
    )
    assert depth in (4, 5)
    assert (
        one(con, "SELECT count(*) FROM employees WHERE manager_id NOT IN (SELECT emp_id FROM employees)") == 0
    )
    assert one(con, "SELECT count(*) FROM employees WHERE dept_id IS NULL") >= 1
    assert (
        one(
            con,
            "SELECT count(*) FROM departments d WHERE NOT EXISTS "
            "(SELECT 1 FROM employees e WHERE e.dept_id = d.dept_id)",
        )
        >= 1
    )
    # the latest salary_history row of every employee is the current salary; raises go up
    assert (
        one(
            con,
            """SELECT count(*) FROM employees e JOIN (
        SELECT emp_id, arg_max(salary, effective_date) AS latest, min(effective_date) AS first_day
        FROM salary_history GROUP BY emp_id) h USING (emp_id)
        WHERE h.latest <> e.salary OR h.first_day <> e.hire_date""",
        )
        == 0
    )
    assert (
        one(con, "SELECT count(*) FROM employees WHERE emp_id NOT IN (SELECT emp_id FROM salary_history)")
        == 0
    )
    assert (
        one(
            con,
            """SELECT count(*) FROM (SELECT salary - lag(salary) OVER (PARTITION BY emp_id
        ORDER BY effective_date) AS change FROM salary_history) WHERE change <= 0""",
        )
        == 0
    )
    assert one(con, "SELECT count(*) FROM salary_history") > one(con, "SELECT count(*) FROM employees") * 2


def test_company_orders_are_seasonal_and_consistent(db) -> None:
    con = db["company"]
    assert con.execute("SELECT min(order_date), max(order_date) FROM orders").fetchone() == (
        date(2022, 1, 1),
        date(2024, 12, 31),
    )
    for year in (2022, 2023, 2024):
        feb, nov_dec = con.execute(f"""SELECT count(*) FILTER (WHERE month(order_date) = 2),
            count(*) FILTER (WHERE month(order_date) IN (11, 12)) / 2 FROM orders
            WHERE year(order_date) = {year}""").fetchone()
        assert nov_dec > 1.5 * feb, year
    per_year = [
        r[0]
        for r in rows(con, "SELECT count(*) FROM orders GROUP BY year(order_date) ORDER BY year(order_date)")
    ]
    assert per_year == sorted(per_year)  # the business grows
    assert (
        one(
            con,
            """SELECT count(*) FROM orders WHERE (shipped_date IS NULL) <>
        (status IN ('pending', 'cancelled')) OR shipped_date < order_date""",
        )
        == 0
    )
    assert (
        one(
            con,
            "SELECT count(*) FROM orders o JOIN customers c USING (customer_id) "
            "WHERE o.order_date < c.signup_date",
        )
        == 0
    )
    assert (
        one(
            con,
            "SELECT count(*) FROM orders o JOIN employees e ON e.emp_id = o.sales_rep_id "
            "WHERE o.order_date < e.hire_date",
        )
        == 0
    )
    assert 0 < one(con, "SELECT count(*) FROM orders WHERE sales_rep_id IS NULL") < 3000
    assert (
        one(
            con,
            "SELECT count(*) FROM customers c WHERE NOT EXISTS "
            "(SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id)",
        )
        >= 10
    )
    assert (
        one(
            con,
            "SELECT count(*) FROM products p WHERE NOT EXISTS "
            "(SELECT 1 FROM order_items i WHERE i.product_id = p.product_id)",
        )
        >= 2
    )
    assert one(con, "SELECT count(*) FROM customers WHERE email IS NULL") >= 5
    assert one(con, "SELECT max(discount) FROM order_items") <= 0.5
    # payments never precede the order, and a fully paid order's payments add up to its rounded revenue
    assert (
        one(
            con,
            "SELECT count(*) FROM payments p JOIN orders o USING (order_id) "
            "WHERE CAST(p.paid_at AS DATE) < o.order_date",
        )
        == 0
    )
    assert (
        one(
            con,
            f"""SELECT count(*) FROM (SELECT order_id, round({REVENUE}, 2) AS due FROM order_items i
        GROUP BY order_id) r JOIN (SELECT order_id, sum(amount) AS paid FROM payments GROUP BY order_id) p
        USING (order_id) WHERE paid > due""",
        )
        == 0
    )
    assert (
        one(
            con, "SELECT count(*) FROM payments p JOIN orders o USING (order_id) WHERE o.status = 'cancelled'"
        )
        == 0
    )
    assert set(r[0] for r in rows(con, "SELECT DISTINCT method FROM payments")) == {
        "card",
        "transfer",
        "paypal",
    }


def test_company_names_look_real(db) -> None:
    con = db["company"]
    assert one(con, "SELECT count(DISTINCT country) FROM customers") >= 8
    assert one(con, "SELECT count(DISTINCT city) FROM customers") >= 25
    assert one(con, "SELECT count(DISTINCT category) FROM products") == 6
    assert one(con, "SELECT count(*) FROM customers WHERE name LIKE '%''%'") >= 1  # O'Brien: quoting works
    assert one(con, "SELECT count(DISTINCT email) = count(email) FROM employees")


# --- the traps -----------------------------------------------------------------------------------------------
def exists(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """How many rows a query returns."""
    return one(con, f"SELECT count(*) FROM ({sql})")


def test_nulls_variant_has_nulls_everywhere_they_are_allowed(db) -> None:
    con = db["nulls"]
    nullable = [
        ("employees", "dept_id"), ("employees", "email"), ("employees", "title"), ("customers", "email"),
        ("customers", "city"), ("customers", "referred_by"), ("departments", "location"),
        ("departments", "budget"), ("orders", "sales_rep_id"), ("orders", "shipped_date"),
    ]  # fmt: skip
    for table, column in nullable:
        assert exists(con, f"SELECT 1 FROM {table} WHERE {column} IS NULL"), (table, column)
    assert exists(con, "SELECT 1 FROM employees WHERE manager_id IS NULL") >= 2
    assert exists(con, "SELECT 1 FROM employees WHERE dept_id IS NULL") >= 5  # a NULL group of five
    self_join = "SELECT 1 FROM employees e JOIN employees m ON m.emp_id = e.manager_id"
    assert exists(
        con, f"{self_join} WHERE e.dept_id IS NULL AND m.dept_id IS NULL"
    )  # NULL = NULL is not true
    assert exists(
        con, "SELECT 1 FROM customers WHERE referred_by IS NOT NULL"
    )  # the NOT IN trap needs values
    # a rep without a department still has orders: inner joins through departments lose them
    assert exists(
        con, "SELECT 1 FROM orders o JOIN employees e ON e.emp_id = o.sales_rep_id WHERE e.dept_id IS NULL"
    )
    assert exists(
        con,
        "SELECT 1 FROM orders WHERE status = 'pending' AND order_id NOT IN (SELECT order_id FROM payments)",
    )


def test_ties_variant_has_ties_at_rank_boundaries(db) -> None:
    con = db["ties"]
    salaries = [r[0] for r in rows(con, "SELECT salary FROM employees ORDER BY 1 DESC")]
    assert salaries[0] > salaries[1] == salaries[2] > salaries[3]  # the two VPs share second place
    sales = [r[0] for r in rows(con, "SELECT salary FROM employees WHERE dept_id = 2 ORDER BY 1 DESC")]
    assert sales[1] > sales[2] == sales[3] > sales[4] == sales[5]  # ties at 3rd/4th and 5th/6th place
    engineering = [r[0] for r in rows(con, "SELECT salary FROM employees WHERE dept_id = 3 ORDER BY 1 DESC")]
    assert engineering[0] > engineering[1] == engineering[2] > engineering[3]  # RANK() <= 3 skips a salary
    average = "SELECT avg(salary) FROM employees x WHERE x.dept_id = e.dept_id"
    assert exists(con, f"SELECT 1 FROM employees e WHERE salary = ({average})")
    latest_hire = "SELECT max(hire_date) FROM employees"
    assert exists(con, f"SELECT 1 FROM employees WHERE hire_date = ({latest_hire})") == 2
    totals = [
        r[0] for r in rows(con, f"SELECT {REVENUE} FROM order_items i GROUP BY order_id ORDER BY 1 DESC")
    ]
    assert totals[0] == totals[1] > totals[2] == totals[3] > totals[4] == totals[5] > totals[6]
    per_customer = "FROM orders o JOIN order_items i USING (order_id) GROUP BY o.customer_id ORDER BY 1 DESC"
    spend = [r[0] for r in rows(con, f"SELECT {REVENUE} {per_customer}")]
    assert spend[0] == spend[1] > spend[2] == spend[3] > spend[4]
    counts = [r[0] for r in rows(con, "SELECT count(*) FROM orders GROUP BY customer_id ORDER BY 1 DESC")]
    assert counts[0] == counts[1] > counts[2]
    assert exists(con, "SELECT customer_id, order_date FROM orders GROUP BY ALL HAVING count(*) > 1") >= 2
    top_price = "SELECT max(unit_price) FROM products WHERE category = 'Furniture'"
    assert (
        exists(con, f"SELECT 1 FROM products WHERE category = 'Furniture' AND unit_price = ({top_price})")
        == 2
    )
    sold = rows(con, "SELECT sum(quantity) FROM order_items JOIN products USING (product_id) "
                     "WHERE category = 'Stationery' GROUP BY product_id ORDER BY 1 DESC")  # fmt: skip
    assert sold[0] == sold[1]


def test_empty_groups_variant_has_groups_with_nothing_in_them(db) -> None:
    con = db["empty_groups"]
    no_staff = (
        "SELECT 1 FROM departments d WHERE NOT EXISTS (SELECT 1 FROM employees e WHERE e.dept_id = d.dept_id)"
    )
    assert exists(con, no_staff) >= 2
    no_pay = "SELECT 1 FROM employees e WHERE NOT EXISTS (SELECT 1 FROM salary_history h WHERE h.emp_id = e.emp_id)"
    assert exists(con, no_pay) == 1
    assert exists(con, "SELECT 1 FROM orders o WHERE order_id NOT IN (SELECT order_id FROM order_items)") >= 1
    for status in ("delivered", "returned"):
        unpaid = f"SELECT 1 FROM orders WHERE status = '{status}' AND order_id NOT IN (SELECT order_id FROM payments)"
        assert exists(con, unpaid), status
    sold = "SELECT DISTINCT category FROM order_items JOIN products USING (product_id)"
    assert exists(con, f"SELECT DISTINCT category FROM products WHERE category NOT IN ({sold})") >= 1
    ordering = "SELECT DISTINCT country FROM orders JOIN customers USING (customer_id)"
    assert exists(con, f"SELECT DISTINCT country FROM customers WHERE country NOT IN ({ordering})") >= 1
    assert (
        exists(con, "SELECT 1 FROM customers WHERE customer_id NOT IN (SELECT customer_id FROM orders)") >= 3
    )
    months = {r[0] for r in rows(con, "SELECT strftime(order_date, '%Y-%m') FROM orders")}
    assert {"2024-02", "2024-04", "2024-07", "2024-09"} <= months
    assert not {"2024-03", "2024-08"} & months
    may = "SELECT DISTINCT status FROM orders WHERE strftime(order_date, '%Y-%m') = '2024-05'"
    assert rows(con, may) == [("cancelled",)]


def test_duplicates_variant_has_namesakes_and_repeats(db) -> None:
    con = db["duplicates"]
    assert exists(con, "SELECT name FROM departments GROUP BY name HAVING count(*) > 1") >= 1
    namesakes = "SELECT first_name, last_name FROM employees GROUP BY ALL HAVING count(DISTINCT dept_id) > 1"
    assert exists(con, namesakes) >= 2
    assert exists(con, "SELECT name FROM customers GROUP BY name HAVING count(*) > 1") >= 2
    assert exists(con, "SELECT email FROM customers GROUP BY email HAVING count(*) > 1") == 1
    assert exists(con, "SELECT 1 FROM customers JOIN employees USING (email)") == 1
    assert exists(con, "SELECT city FROM customers GROUP BY city HAVING count(DISTINCT country) > 1") >= 2
    assert exists(con, "SELECT name FROM products GROUP BY name HAVING count(*) > 1") >= 2
    assert exists(con, "SELECT order_id, product_id FROM order_items GROUP BY ALL HAVING count(*) > 1") >= 2
    assert one(con, "SELECT max(n) FROM (SELECT count(*) AS n FROM payments GROUP BY order_id)") >= 3
    assert exists(con, "SELECT order_id, paid_at, amount FROM payments GROUP BY ALL HAVING count(*) > 1") == 1
    assert exists(con, "SELECT customer_id, order_date FROM orders GROUP BY ALL HAVING count(*) > 1") >= 1
    before = "lag(salary) OVER (PARTITION BY emp_id ORDER BY effective_date)"
    assert exists(con, f"SELECT salary, {before} AS before FROM salary_history QUALIFY salary = before") == 1


def test_boundary_dates_variant_sits_on_the_edges(db) -> None:
    con = db["boundary_dates"]
    days = {str(r[0]) for r in rows(con, "SELECT order_date FROM orders")}
    edges = {"2021-12-31", "2022-01-01", "2023-12-31", "2024-01-01", "2024-02-28", "2024-02-29", "2024-03-01",
             "2024-12-31", "2025-01-01"}  # fmt: skip
    assert edges <= days
    assert {str(r[0].time()) for r in rows(con, "SELECT paid_at FROM payments")} == {"23:59:59", "00:00:00"}
    paid_next_year = (
        "SELECT 1 FROM payments JOIN orders USING (order_id) WHERE year(paid_at) > year(order_date)"
    )
    assert exists(con, paid_next_year)
    assert exists(con, "SELECT 1 FROM orders WHERE year(shipped_date) > year(order_date)")
    # a customer whose only 2024 order is on January 1st; one whose only order after 2023 is on 2025-01-01
    per_customer = "SELECT list(order_date ORDER BY order_date) FROM orders GROUP BY customer_id"
    spans = {tuple(str(d) for d in r[0]) for r in rows(con, per_customer)}
    assert {("2023-03-31", "2024-01-01"), ("2023-06-30", "2025-01-01"), ("2023-01-01", "2023-12-31")} <= spans
    hires = {str(r[0]) for r in rows(con, "SELECT hire_date FROM employees")}
    assert {"2020-02-29", "2024-02-29", "2023-12-31", "2024-01-01", "2024-12-31"} <= hires
    year_edges = "SELECT 1 FROM salary_history WHERE strftime(effective_date, '%m-%d') IN ('01-01', '12-31')"
    assert exists(con, year_edges) >= 2
    assert exists(con, "SELECT 1 FROM customers WHERE signup_date = DATE '2024-02-29'")


def test_load_dataset_marks_everything_but_company_hidden() -> None:
    assert set(BUILT) <= set(dataset_names())
    company = load_dataset("company")
    assert company.name == "company" and not company.hidden and "CREATE TABLE orders" in company.script
    for name in VARIANTS:
        assert load_dataset(name).hidden
    assert load_dataset("company") is company  # cached while the file is unchanged


@pytest.mark.parametrize(
    "name, message",
    [
        ("no_such_data", "There is no practice dataset 'no_such_data' (known: "),
        ("../company", "'../company' is not a dataset name"),
        ("Company", "'Company' is not a dataset name"),
    ],
)
def test_load_dataset_rejects_unknown_names(name: str, message: str) -> None:
    with pytest.raises(PracticeDataError) as err:
        load_dataset(name)
    assert message in str(err.value)


def test_load_dataset_from_another_folder(tmp_path: Path) -> None:
    (tmp_path / "company.sql").write_text("CREATE TABLE t (a INTEGER);\n", encoding="utf-8")
    (tmp_path / "odd.sql").write_text("CREATE TABLE t (a INTEGER);\n", encoding="utf-8")
    assert dataset_names(tmp_path) == ["company", "odd"]
    assert load_dataset("odd", tmp_path).hidden and not load_dataset("company", tmp_path).hidden


def test_schema_overview_describes_every_table_and_column() -> None:
    text = schema_overview()
    for table, columns in EXPECTED_SCHEMA.items():
        assert f"\n{table} (primary key: " in text
        for column, data_type in columns.items():
            assert f"  - {column} {data_type}" in text, (table, column)
    assert "order_items (primary key: order_id, line_no)" in text
    assert "dept_id INTEGER, references departments(dept_id)" in text
    assert "hire_date DATE, not null" in text
    for variant in VARIANTS:
        assert variant not in text
    tables = practice_schema()
    assert [t.name for t in tables] == list(EXPECTED_SCHEMA)
    assert all(
        c.note for t in tables for c in t.columns if c.name in {"segment", "status", "discount", "method"}
    )
    assert all(t.description for t in tables)


def test_sample_rows_come_from_the_visible_dataset() -> None:
    pytest.importorskip("interview.grading")
    from interview.practice import sample_rows

    result = sample_rows("employees", 3)
    assert list(result.columns)[:2] == ["emp_id", "first_name"]
    assert [row[0] for row in result.rows] == [1, 2, 3]
    assert len(sample_rows("order_items").rows) == 5
    with pytest.raises(PracticeDataError, match="There is no table 'salaries' in the practice database"):
        sample_rows("salaries")
    with pytest.raises(PracticeDataError, match="between 1 and 50 sample rows"):
        sample_rows("orders", 0)
