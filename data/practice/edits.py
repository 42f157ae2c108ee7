"""Hand edits on a generated World (add people, customers, orders; move dates) that keep it consistent."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from generate import price_on
from world import World, money, slug

Line = tuple[int, int, str]  # (product_id, quantity, discount)
Pay = tuple[datetime, Decimal | None, str]  # (paid_at, amount or None for "the rest", method)


def next_id(rows: list[dict], key: str) -> int:
    return max((int(r[key]) for r in rows), default=0) + 1


def add_employee(
    w: World,
    first: str,
    last: str,
    dept_id: int | None,
    manager_id: int | None,
    title: str | None,
    hired: date,
    salary: str,
    *,
    email: str | None = "",
    history: bool = True,
) -> int:
    emp_id = next_id(w.employees, "emp_id")
    if email == "":
        taken = {e["email"] for e in w.employees}
        base, n = f"{slug(first)}.{slug(last)}", 1
        email = f"{base}@meridian.example"
        while email in taken:
            n += 1
            email = f"{base}{n}@meridian.example"
    w.employees.append(
        {
            "emp_id": emp_id,
            "first_name": first,
            "last_name": last,
            "email": email,
            "dept_id": dept_id,
            "manager_id": manager_id,
            "title": title,
            "hire_date": hired,
            "salary": money(salary),
        }
    )
    if history:
        w.salary_history.append({"emp_id": emp_id, "effective_date": hired, "salary": money(salary)})
    return emp_id


def add_customer(
    w: World,
    name: str,
    email: str | None,
    city: str | None,
    country: str,
    segment: str,
    signup: date,
    referred_by: int | None = None,
) -> int:
    cid = next_id(w.customers, "customer_id")
    w.customers.append(
        {
            "customer_id": cid,
            "name": name,
            "email": email,
            "city": city,
            "country": country,
            "segment": segment,
            "signup_date": signup,
            "referred_by": referred_by,
        }
    )
    return cid


def add_product(w: World, pid: int, name: str, category: str, price: str, discontinued: bool = False) -> None:
    w.products.append(
        {
            "product_id": pid,
            "name": name,
            "category": category,
            "unit_price": money(price),
            "discontinued": discontinued,
        }
    )


def add_order(
    w: World,
    customer_id: int,
    day: date,
    lines: list[Line],
    *,
    status: str = "delivered",
    rep: int | None = None,
    shipped: date | None = None,
    pays: list[Pay] | None = None,
) -> int:
    """A new order with its lines and payments (default: one card payment of the full total at noon)."""
    order_id = next_id(w.orders, "order_id")
    if shipped is None and status in ("shipped", "delivered", "returned"):
        shipped = day + timedelta(days=1)
    w.orders.append(
        {
            "order_id": order_id,
            "customer_id": customer_id,
            "sales_rep_id": rep,
            "order_date": day,
            "status": status,
            "shipped_date": shipped,
        }
    )
    prices = {p["product_id"]: p["unit_price"] for p in w.products}
    for line_no, (pid, qty, discount) in enumerate(lines, start=1):
        w.order_items.append(
            {
                "order_id": order_id,
                "line_no": line_no,
                "product_id": pid,
                "quantity": qty,
                "unit_price": price_on(pid, prices[pid], day),
                "discount": money(discount),
            }
        )
    if pays is None:
        pays = [] if status == "cancelled" else [(datetime.combine(day, time(12, 0)), None, "card")]
    total, paid = w.order_total(order_id), Decimal(0)
    for paid_at, amount, method in pays:
        amount = total - paid if amount is None else money(amount)
        paid += amount
        w.payments.append(
            {
                "payment_id": next_id(w.payments, "payment_id"),
                "order_id": order_id,
                "paid_at": paid_at,
                "amount": amount,
                "method": method,
            }
        )
    return order_id


def copy_lines(w: World, source: int, target: int) -> None:
    """Give order `target` exactly the lines of order `source` (same total), and settle its payments."""
    w.order_items[:] = [i for i in w.order_items if i["order_id"] != target]
    w.order_items.extend({**i, "order_id": target} for i in w.items_of(source))
    w.resettle_payments(target)


def set_hire_date(w: World, emp_id: int, hired: date) -> None:
    """Move a hire date; pay history before it collapses into the starting salary on that day."""
    emp = w.employee(emp_id)
    emp["hire_date"] = hired
    history = w.history_of(emp_id)
    before = [h for h in history if h["effective_date"] <= hired]
    start = before[-1]["salary"] if before else (history[0]["salary"] if history else emp["salary"])
    kept = [h for h in history if h["effective_date"] > hired]
    w.salary_history[:] = [h for h in w.salary_history if h["emp_id"] != emp_id]
    w.salary_history.append({"emp_id": emp_id, "effective_date": hired, "salary": start})
    w.salary_history.extend(kept)
    if not kept:
        w.salary_history[-1]["salary"] = emp["salary"]


def move_order(w: World, order_id: int, day: date) -> None:
    """Re-date an order; its shipping and payments move by the same number of days, prices follow the date."""
    order = w.order(order_id)
    delta = day - order["order_date"]  # type: ignore[operator]
    order["order_date"] = day
    if order["shipped_date"] is not None:
        order["shipped_date"] = order["shipped_date"] + delta  # type: ignore[operator]
    for p in w.payments_of(order_id):
        p["paid_at"] = p["paid_at"] + delta  # type: ignore[operator]
    prices = {p["product_id"]: p["unit_price"] for p in w.products}
    for i in w.items_of(order_id):
        i["unit_price"] = price_on(i["product_id"], prices[i["product_id"]], day)  # type: ignore[arg-type]
    w.resettle_payments(order_id)


def cancel_order(w: World, order_id: int) -> None:
    w.order(order_id).update(status="cancelled", shipped_date=None)
    w.payments[:] = [p for p in w.payments if p["order_id"] != order_id]


def reid_orders(w: World) -> None:
    """Order ids in date order again after edits (order_id follows order_date, as in the company data)."""
    first = min(int(o["order_id"]) for o in w.orders)
    ordered = sorted(w.orders, key=lambda o: (o["order_date"], o["order_id"]))
    new_id = {o["order_id"]: first + n for n, o in enumerate(ordered)}
    for rows in (w.orders, w.order_items, w.payments):
        for r in rows:
            r["order_id"] = new_id[r["order_id"]]
    w.renumber()


def orders_by_total(w: World) -> list[tuple[Decimal, int]]:
    return sorted(((w.order_total(int(o["order_id"])), int(o["order_id"])) for o in w.orders), reverse=True)
