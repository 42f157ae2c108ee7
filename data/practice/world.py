"""The tables of a generated company as row dicts, with the edits and checks build.py and variants.py need."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

SEED = 20240229
SNAPSHOT = date(2024, 12, 31)  # the data ends here: nothing is shipped, paid or hired after it
CENT = Decimal("0.01")
Row = dict[str, object]


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def rounded(value: float, step: int) -> Decimal:
    """A pay figure rounded to a multiple of step, as a 2-decimal Decimal."""
    return Decimal(int(round(value / step)) * step).quantize(CENT)


def sql_literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return f"'{value:%Y-%m-%d %H:%M:%S}'"
    if isinstance(value, date):
        return f"'{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {value!r}")


def slug(text: str) -> str:
    """ASCII lower-case letters and digits only, for e-mail addresses ('Müller' -> 'muller')."""
    text = text.replace("ß", "ss").replace("ł", "l").replace("Ł", "L")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def line_total(item: Row) -> Decimal:
    return item["quantity"] * item["unit_price"] * (1 - item["discount"])  # type: ignore[operator]


@dataclass
class World:
    """All eight tables as lists of row dicts, in insert order."""

    departments: list[Row] = field(default_factory=list)
    employees: list[Row] = field(default_factory=list)
    salary_history: list[Row] = field(default_factory=list)
    customers: list[Row] = field(default_factory=list)
    products: list[Row] = field(default_factory=list)
    orders: list[Row] = field(default_factory=list)
    order_items: list[Row] = field(default_factory=list)
    payments: list[Row] = field(default_factory=list)

    def table(self, name: str) -> list[Row]:
        return getattr(self, name)

    def employee(self, emp_id: int) -> Row:
        return next(e for e in self.employees if e["emp_id"] == emp_id)

    def order(self, order_id: int) -> Row:
        return next(o for o in self.orders if o["order_id"] == order_id)

    def items_of(self, order_id: int) -> list[Row]:
        return [i for i in self.order_items if i["order_id"] == order_id]

    def payments_of(self, order_id: int) -> list[Row]:
        return [p for p in self.payments if p["order_id"] == order_id]

    def history_of(self, emp_id: int) -> list[Row]:
        return sorted(
            (h for h in self.salary_history if h["emp_id"] == emp_id), key=lambda h: h["effective_date"]
        )

    def order_total(self, order_id: int) -> Decimal:
        return money(sum((line_total(i) for i in self.items_of(order_id)), Decimal(0)))

    def set_salary(self, emp_id: int, salary: Decimal) -> None:
        """Change an employee's current pay, scaling their history so the raises keep their shape."""
        emp = self.employee(emp_id)
        history = self.history_of(emp_id)
        factor = salary / emp["salary"]  # type: ignore[operator]
        for h in history[:-1]:
            h["salary"] = rounded(float(h["salary"] * factor), 100)  # type: ignore[operator]
        if history:
            history[-1]["salary"] = salary
        emp["salary"] = salary

    def resettle_payments(self, order_id: int) -> None:
        """Rescale an order's payments after its lines changed, so they still add up to the order total."""
        pays = sorted(self.payments_of(order_id), key=lambda p: p["payment_id"])
        if not pays:
            return
        total = self.order_total(order_id)
        old = sum((p["amount"] for p in pays), Decimal(0))  # type: ignore[misc]
        for p in pays[:-1]:
            p["amount"] = money(total * p["amount"] / old)  # type: ignore[operator]
        pays[-1]["amount"] = total - sum((p["amount"] for p in pays[:-1]), Decimal(0))  # type: ignore[misc]

    def renumber(self) -> None:
        """Sort orders, items and payments into their natural order and renumber payments by time."""
        self.orders.sort(key=lambda o: o["order_id"])
        self.order_items.sort(key=lambda i: (i["order_id"], i["line_no"]))
        self.payments.sort(key=lambda p: (p["paid_at"], p["order_id"], p["payment_id"]))
        for n, p in enumerate(self.payments, start=1):
            p["payment_id"] = n
        self.salary_history.sort(key=lambda h: (h["emp_id"], h["effective_date"]))
        self.employees.sort(key=lambda e: e["emp_id"])
        self.customers.sort(key=lambda c: c["customer_id"])
        self.products.sort(key=lambda p: p["product_id"])
        self.departments.sort(key=lambda d: d["dept_id"])

    def check(self) -> None:
        """Fail loudly on an inconsistent world (keys, references, pay history, shipping, payments)."""
        keys = {
            "departments": ("dept_id",),
            "employees": ("emp_id",),
            "salary_history": ("emp_id", "effective_date"),
            "customers": ("customer_id",),
            "products": ("product_id",),
            "orders": ("order_id",),
            "order_items": ("order_id", "line_no"),
            "payments": ("payment_id",),
        }
        for table, key in keys.items():
            counts = Counter(tuple(r[k] for k in key) for r in self.table(table))
            dup = [k for k, n in counts.items() if n > 1]
            assert not dup, f"{table}: duplicate key {dup[:3]}"
        depts = {d["dept_id"] for d in self.departments}
        emps = {e["emp_id"]: e for e in self.employees}
        custs = {c["customer_id"] for c in self.customers}
        prods = {p["product_id"] for p in self.products}
        orders = {o["order_id"]: o for o in self.orders}
        for e in self.employees:
            assert e["dept_id"] is None or e["dept_id"] in depts, e
            assert e["manager_id"] is None or e["manager_id"] in emps, e
            history = self.history_of(e["emp_id"])  # type: ignore[arg-type]
            if history:
                assert history[-1]["salary"] == e["salary"], (e, history[-1])
                assert history[0]["effective_date"] >= e["hire_date"], (e, history[0])
        for c in self.customers:
            assert c["referred_by"] is None or c["referred_by"] in custs, c
        for o in self.orders:
            assert o["customer_id"] in custs and (o["sales_rep_id"] is None or o["sales_rep_id"] in emps), o
            shipped = o["status"] in ("shipped", "delivered", "returned")
            assert o["shipped_date"] is None or shipped, o
            assert o["shipped_date"] is None or o["shipped_date"] >= o["order_date"], o
        for i in self.order_items:
            assert i["order_id"] in orders and i["product_id"] in prods, i
            assert Decimal(0) <= i["discount"] <= Decimal("0.5"), i  # type: ignore[operator]
        for p in self.payments:
            assert p["order_id"] in orders, p
            assert p["paid_at"].date() >= orders[p["order_id"]]["order_date"], p  # type: ignore[union-attr]
