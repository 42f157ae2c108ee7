"""The hidden trap variants: a small clean company (generate.mini) plus hand-placed traps, one theme each."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from edits import (
    add_customer,
    add_employee,
    add_order,
    add_product,
    cancel_order,
    copy_lines,
    move_order,
    next_id,
    orders_by_total,
    reid_orders,
    set_hire_date,
)
from generate import mini
from world import SEED, SNAPSHOT, World, money, slug


def _by_title(w: World, title: str) -> list[dict]:
    return sorted((e for e in w.employees if e["title"] == title), key=lambda e: e["emp_id"])


def _dept(w: World, name: str) -> dict:
    return next(d for d in w.departments if d["name"] == name)


def _dept_staff(w: World, dept_id: int) -> list[dict]:
    return sorted(
        (e for e in w.employees if e["dept_id"] == dept_id), key=lambda e: (-e["salary"], e["emp_id"])
    )


# --- the variants -------------------------------------------------------------------------------------------
def nulls() -> World:
    w = mini(SEED + 100)
    _dept(w, "Customer Support")["location"] = None  # no location on file
    _dept(w, "Research")["budget"] = None  # budget not set yet
    engineer = _by_title(w, "Software Engineer")[0]
    account_exec = _by_title(w, "Account Executive")[0]
    engineer["dept_id"] = None  # between teams
    account_exec["dept_id"] = None
    account_exec["email"] = None
    for title in ("Sales Manager", "Support Specialist"):
        _by_title(w, title)[0]["email"] = None
    contractor = _by_title(w, "Contractor")[0]
    contractor.update(manager_id=None, title=None, email=None)  # a second employee with no manager
    # an unassigned manager with an unassigned report: both dept_ids NULL (five unassigned in all)
    interim = add_employee(w, "Ruth", "Okafor", None, 1, "Interim Project Manager", date(2024, 2, 5), "78000")
    add_employee(w, "Tom", "Becker", None, interim, "Graduate Trainee", date(2024, 9, 2), "32000")
    # customers: missing e-mails and cities, some referrals (so referred_by mixes values and NULLs)
    for c in w.customers[1::4]:
        c["email"] = None
    for c in w.customers[2::5]:
        c["city"] = None
    for n, c in enumerate(w.customers[5:], start=5):
        c["referred_by"] = (n % 4) + 1 if n % 3 == 0 else None
    quiet = add_customer(w, "Hannah Jones", None, None, "United Kingdom", "consumer", date(2024, 2, 2))
    rep = account_exec["emp_id"]
    add_order(w, quiet, date(2024, 11, 28), [(21, 4, "0.20"), (34, 2, "0.20")], status="pending")
    add_order(w, quiet, date(2024, 12, 30), [(1, 1, "0")], status="pending", pays=[])
    add_order(w, 2, date(2024, 12, 27), [(11, 2, "0.05")], status="pending", rep=rep, pays=[])
    add_order(w, 3, date(2024, 10, 14), [(31, 1, "0")], status="cancelled")
    add_order(w, 4, date(2024, 6, 3), [(12, 1, "0"), (15, 2, "0")], status="shipped", rep=None)
    reid_orders(w)
    return w


def ties() -> World:
    w = mini(SEED + 200)
    # salaries: the two VPs tie for second place company-wide; in Sales the 3rd/4th and 5th/6th highest
    # tie, in Engineering the 2nd/3rd; the two support specialists earn the same (the lowest pay in the
    # department) and the support manager earns exactly the department's average
    vp_eng, vp_sales = _by_title(w, "VP of Engineering")[0], _by_title(w, "VP of Sales")[0]
    w.set_salary(int(vp_sales["emp_id"]), vp_eng["salary"])  # type: ignore[arg-type]
    for dept_id, (higher, lower) in ((2, (2, 3)), (2, (4, 5)), (3, (1, 2))):
        staff = _dept_staff(w, dept_id)
        w.set_salary(int(staff[lower]["emp_id"]), staff[higher]["salary"])  # type: ignore[arg-type]
    head, manager, *specialists = _dept_staff(w, 4)
    low = specialists[-1]["salary"]
    while (head["salary"] + 2 * low) % 300:  # manager = (head + manager + 2 * specialist) / 4
        low += 100
    for e in specialists:
        w.set_salary(int(e["emp_id"]), low)  # type: ignore[arg-type]
    w.set_salary(int(manager["emp_id"]), money((head["salary"] + 2 * low) / 3))  # type: ignore[operator]
    # the two most recent hires started on the same day
    latest = sorted(w.employees, key=lambda e: (e["hire_date"], e["emp_id"]))[-2:]
    set_hire_date(w, int(latest[1]["emp_id"]), latest[0]["hire_date"])  # type: ignore[arg-type]
    # products: a tie for the most expensive Furniture item and for the cheapest Stationery item
    add_product(w, 61, "Executive Desk", "Furniture", "549.00")
    add_product(w, 62, "Pocket Notebook", "Stationery", "8.50")
    # orders: a customer's first order day has two orders; another's latest day too
    firsts: dict[object, dict] = {}
    for o in sorted(w.orders, key=lambda o: (o["order_date"], o["order_id"])):
        firsts.setdefault(o["customer_id"], o)
    repeat = next(
        o for o in firsts.values() if sum(x["customer_id"] == o["customer_id"] for x in w.orders) > 1
    )
    add_order(w, int(repeat["customer_id"]), repeat["order_date"], [(62, 10, "0"), (22, 5, "0")])  # type: ignore[arg-type]
    last_of = max(
        (o for o in w.orders if o["customer_id"] != repeat["customer_id"] and o["status"] == "delivered"),
        key=lambda o: (o["order_date"], o["order_id"]),
    )
    add_order(w, int(last_of["customer_id"]), last_of["order_date"], [(61, 1, "0")])  # type: ignore[arg-type]
    # two pairs of new customers with identical big orders: ties for 1st/2nd and 3rd/4th place in spend
    pairs = (
        ((12, 70, "0.15"), (11, 70, "0.15"), (61, 12, "0.15")),
        ((12, 60, "0.15"), (11, 60, "0.15"), (61, 20, "0.15")),
    )
    names = (
        ("Granite Holdings Ltd", "Leeds"),
        ("Summit Partners LLP", "Bristol"),
        ("Kestrel Systems Ltd", "Glasgow"),
        ("Northstar Insurance plc", "Edinburgh"),
    )
    for n, (name, city) in enumerate(names):
        cid = add_customer(
            w, name, f"accounts@{slug(name)}.example", city, "United Kingdom", "enterprise", date(2024, 3, 4)
        )
        add_order(
            w,
            cid,
            date(2024, 9, 12),
            list(pairs[n // 2]),
            pays=[(datetime(2024, 9, 30, 10, 0), None, "transfer")],
        )
    # equal order totals at the 5th/6th place too (the four big orders above are 1st to 4th)
    ranked = orders_by_total(w)
    copy_lines(w, ranked[4][1], ranked[5][1])
    _tie_best_seller(w)
    _tie_order_counts(w)
    reid_orders(w)
    _assert_ties(w)
    return w


def _tie_order_counts(w: World) -> None:
    """Hand orders from the most frequent customer to the runner-up until both have placed as many."""
    counts: dict[int, int] = defaultdict(int)
    for o in w.orders:
        counts[int(o["customer_id"])] += 1
    (first, n1), (second, n2) = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
    signup = next(c["signup_date"] for c in w.customers if c["customer_id"] == second)
    days = defaultdict(int)
    for o in w.orders:
        days[(o["customer_id"], o["order_date"])] += 1
    movable = [
        o
        for o in sorted(w.orders, key=lambda o: o["order_id"], reverse=True)
        if o["customer_id"] == first and o["order_date"] >= signup and days[(first, o["order_date"])] == 1
    ]
    while n1 - n2 >= 2:
        movable.pop(0)["customer_id"] = second
        n1, n2 = n1 - 1, n2 + 1
    if n1 != n2:
        add_order(w, second, date(2024, 11, 4), [(34, 2, "0")])


def _assert_ties(w: World) -> None:
    """The traps this variant promises (README) are really there."""
    spend: dict[int, Decimal] = defaultdict(Decimal)
    counts: dict[int, int] = defaultdict(int)
    for o in w.orders:
        spend[int(o["customer_id"])] += w.order_total(int(o["order_id"]))
        counts[int(o["customer_id"])] += 1
    top = sorted(spend.values(), reverse=True)
    assert top[0] == top[1] > top[2] == top[3] > top[4], top[:5]
    totals = [t for t, _ in orders_by_total(w)]
    assert totals[0] == totals[1] > totals[2] == totals[3] > totals[4] == totals[5] > totals[6], totals[:7]
    by_count = sorted(counts.values(), reverse=True)
    assert by_count[0] == by_count[1] > by_count[2], by_count[:3]


def _tie_best_seller(w: World) -> None:
    """Make the two best sellers (by quantity) of the busiest category sell exactly as many units."""
    category = {p["product_id"]: p["category"] for p in w.products}
    sold: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for i in w.order_items:
        sold[category[i["product_id"]]][int(i["product_id"])] += int(i["quantity"])  # type: ignore[index]
    name = max(sold, key=lambda c: (len(sold[c]), c))
    top = sorted(sold[name].items(), key=lambda kv: (-kv[1], kv[0]))
    (_, first), (second_pid, second) = top[0], top[1]
    line = max(
        (i for i in w.order_items if i["product_id"] == second_pid),
        key=lambda i: (i["quantity"], i["order_id"]),
    )
    line["quantity"] = int(line["quantity"]) + first - second  # type: ignore[call-overload]
    w.resettle_payments(int(line["order_id"]))


def empty_groups() -> World:
    w = mini(SEED + 300)
    w.departments.append({"dept_id": 6, "name": "Legal", "location": "London", "budget": money("350000")})
    sales_lead = _by_title(w, "Team Lead, Account Executives")[0]["emp_id"]
    add_employee(
        w,
        "Oskar",
        "Lindberg",
        2,
        sales_lead,
        "Account Executive",
        date(2024, 12, 30),
        "54000",  # type: ignore[arg-type]
        history=False,
    )  # payroll has not recorded his starting salary yet
    add_product(w, 41, "Hiking Backpack 35L", "Outdoor", "119.00")  # a whole category nobody bought
    add_product(w, 43, "Sleeping Bag", "Outdoor", "99.00")
    add_product(w, 13, "Oak Bookshelf", "Furniture", "189.00")
    add_customer(w, "Ingrid Berg", "ingrid.berg@example.com", "Oslo", "Norway", "consumer", date(2024, 5, 14))
    add_customer(w, "Tidewater Software AS", None, "Bergen", "Norway", "smb", date(2024, 8, 1))
    only_cancelled = add_customer(
        w, "Lotte Visser", "lotte.visser@example.net", "Utrecht", "Netherlands", "consumer", date(2023, 11, 2)
    )
    add_order(w, only_cancelled, date(2023, 11, 20), [(34, 2, "0")], status="cancelled")
    add_order(
        w, only_cancelled, date(2024, 1, 9), [], status="cancelled"
    )  # cancelled before any line was added
    # delivered with the invoice unpaid; returned before it was paid
    add_order(w, 2, date(2024, 10, 7), [(21, 40, "0.05"), (22, 20, "0.05")], pays=[])
    add_order(w, 2, date(2024, 6, 18), [(23, 10, "0.05")], status="returned", pays=[])
    # empty months: nothing ordered in March or August 2024; May 2024 has orders but all cancelled
    for o in list(w.orders):
        d: date = o["order_date"]  # type: ignore[assignment]
        if (d.year, d.month) in ((2024, 3), (2024, 8)):
            move_order(w, int(o["order_id"]), date(d.year, d.month - 1, min(d.day, 28)))
        elif (d.year, d.month) == (2024, 5):
            cancel_order(w, int(o["order_id"]))
    reid_orders(w)
    return w


def duplicates() -> World:
    w = mini(SEED + 400)
    w.departments.append({"dept_id": 6, "name": "Sales", "location": "Austin", "budget": money("600000")})
    vp_sales = _by_title(w, "VP of Sales")[0]["emp_id"]
    austin = add_employee(w, "Marcus", "Brooks", 6, vp_sales, "Sales Manager", date(2022, 5, 2), "98000")  # type: ignore[arg-type]
    london_ae = _by_title(w, "Account Executive")[0]
    engineer = _by_title(w, "Software Engineer")[0]
    london_ae.update(first_name="Sam", last_name="Taylor", email="sam.taylor@meridian.example")
    engineer.update(first_name="Alex", last_name="Morgan", email="alex.morgan@meridian.example")
    add_employee(w, "Sam", "Taylor", 6, austin, "Account Executive", date(2023, 4, 3), "57000")
    add_employee(w, "Alex", "Morgan", 6, austin, "Senior Account Executive", date(2022, 9, 5), "74000")
    # a pay record that repeats the current salary (a title change without a raise)
    veteran = max(w.employees, key=lambda e: (len(w.history_of(int(e["emp_id"]))), -int(e["emp_id"])))
    w.salary_history.append(
        {"emp_id": veteran["emp_id"], "effective_date": date(2024, 10, 1), "salary": veteran["salary"]}
    )
    # namesakes: two Maria Silvas, two Acme Supplies, and Londons and Parises in different countries
    silva_1 = add_customer(
        w, "Maria Silva", "maria.silva@example.com", "Lisbon", "Portugal", "consumer", date(2023, 2, 6)
    )
    silva_2 = add_customer(
        w, "Maria Silva", "msilva@example.org", "Porto", "Portugal", "consumer", date(2023, 9, 18)
    )
    acme_uk = add_customer(
        w,
        "Acme Supplies Ltd",
        "orders@acmesupplies.example",
        "London",
        "United Kingdom",
        "smb",
        date(2023, 1, 9),
    )
    acme_ca = add_customer(
        w, "Acme Supplies Ltd", "orders@acmesupplies-ca.example", "London", "Canada", "smb", date(2023, 5, 22)
    )
    paris_us = add_customer(
        w,
        "Jessica Clark",
        "jessica.clark@example.com",
        "Paris",
        "United States",
        "consumer",
        date(2023, 7, 7),
    )
    add_customer(
        w, "Camille Laurent", "camille.laurent@example.net", "Paris", "France", "consumer", date(2023, 8, 8)
    )
    # shared e-mail addresses: Camille signed up twice; an employee shops with the work address
    add_customer(
        w, "Camille Laurent", "camille.laurent@example.net", "Paris", "France", "consumer", date(2024, 4, 2)
    )
    add_customer(
        w,
        "Sam Taylor",
        "sam.taylor@meridian.example",
        "London",
        "United Kingdom",
        "consumer",
        date(2023, 10, 16),
    )
    # products sold under the same name: a relaunched mug and a travel mug in two categories
    next(p for p in w.products if p["product_id"] == 34)["discontinued"] = True
    add_product(w, 63, "Ceramic Mug", "Kitchen", "14.00")
    add_product(w, 64, "Travel Mug", "Kitchen", "18.00")
    add_product(w, 65, "Travel Mug", "Outdoor", "22.00")
    # orders: the same product on two lines, a double charge, instalments, two identical orders in one day
    add_order(w, silva_1, date(2024, 3, 11), [(63, 2, "0"), (64, 1, "0"), (63, 1, "0.10")])
    add_order(w, silva_2, date(2024, 3, 11), [(34, 4, "0"), (65, 1, "0")])
    charged = datetime(2024, 5, 20, 14, 2, 31)
    double = add_order(
        w,
        acme_uk,
        date(2024, 5, 20),
        [(21, 30, "0.05"), (21, 10, "0.10"), (65, 5, "0.05")],
        pays=[(charged, None, "card")],
    )
    first_pay = w.payments_of(double)[0]
    w.payments.append({**first_pay, "payment_id": next_id(w.payments, "payment_id")})  # charged twice
    add_order(
        w,
        acme_ca,
        date(2024, 6, 3),
        [(12, 2, "0.05"), (11, 4, "0.05")],
        rep=austin,
        pays=[
            (datetime(2024, 6, 3, 9, 30), Decimal("500.00"), "transfer"),
            (datetime(2024, 7, 1, 9, 30), Decimal("500.00"), "transfer"),
            (datetime(2024, 8, 1, 9, 30), None, "transfer"),
        ],
    )
    for _ in range(2):
        add_order(w, paris_us, date(2024, 7, 15), [(64, 2, "0"), (22, 1, "0")])
    reid_orders(w)
    return w


# (order date, customer by signup rank): each customer's orders sit on a boundary, e.g. customer 7's only 2024
# order is on 2024-01-01 and customer 8's only order after 2023 is on 2025-01-01; customers 14 and 15 never order.
BOUNDARY_ORDERS = (
    (date(2021, 12, 31), 1), (date(2022, 1, 1), 1), (date(2022, 6, 30), 2), (date(2022, 7, 1), 2),
    (date(2022, 12, 31), 3), (date(2023, 1, 1), 4), (date(2023, 1, 31), 5), (date(2023, 2, 1), 5),
    (date(2023, 2, 28), 6), (date(2023, 3, 1), 6), (date(2023, 3, 31), 7), (date(2023, 6, 30), 8),
    (date(2023, 7, 1), 9), (date(2023, 9, 30), 10), (date(2023, 12, 31), 4), (date(2024, 1, 1), 7),
    (date(2024, 1, 31), 9), (date(2024, 2, 1), 10), (date(2024, 2, 28), 11), (date(2024, 2, 29), 6),
    (date(2024, 3, 1), 11), (date(2024, 6, 30), 12), (date(2024, 9, 30), 13), (date(2024, 10, 1), 13),
    (date(2024, 12, 31), 3), (date(2025, 1, 1), 8),
)  # fmt: skip


# Signup day of each customer by signup rank: leap days, year ends, the same day as the first order, and
# (customer 15, who never orders) 2025-01-01, just after the data ends.
BOUNDARY_SIGNUPS = (
    date(2020, 2, 29), date(2021, 12, 31), date(2022, 1, 1), date(2022, 12, 31), date(2023, 1, 1),
    date(2023, 2, 28), date(2023, 3, 31), date(2023, 6, 30), date(2023, 7, 1), date(2023, 9, 30),
    date(2023, 12, 31), date(2024, 2, 29), date(2024, 3, 1), date(2024, 12, 31), date(2025, 1, 1),
)  # fmt: skip


def boundary_dates() -> World:
    w = mini(SEED + 500)
    orders = sorted(w.orders, key=lambda o: (o["order_date"], o["order_id"]))
    customers = sorted(int(c["customer_id"]) for c in w.customers)
    while len(orders) < len(BOUNDARY_ORDERS):  # the generator made fewer orders than there are dates
        add_order(w, customers[0], date(2024, 5, 15), [(21, 2, "0")])
        orders.append(w.orders[-1])
    for o in orders[len(BOUNDARY_ORDERS) :]:  # or more: drop the extra ones
        w.order_items[:] = [i for i in w.order_items if i["order_id"] != o["order_id"]]
        w.payments[:] = [p for p in w.payments if p["order_id"] != o["order_id"]]
        w.orders.remove(o)
    for n, (o, (day, rank)) in enumerate(zip(orders, BOUNDARY_ORDERS, strict=False)):
        o["customer_id"] = customers[rank - 1]
        _boundary_order(w, o, day, n)
    # every customer signs up on a boundary day, no later than their first order
    first_order: dict[object, date] = {}
    for o in w.orders:
        first_order[o["customer_id"]] = min(o["order_date"], first_order.get(o["customer_id"], date.max))  # type: ignore[type-var]
    for c, signup in zip(sorted(w.customers, key=lambda c: c["customer_id"]), BOUNDARY_SIGNUPS, strict=True):
        assert signup <= first_order.get(c["customer_id"], date.max), (c, signup)
        c["signup_date"] = signup
    # staff: leap-day and year-boundary hires, reviews on the first and last day of a year
    hires = (
        date(2020, 2, 29),
        date(2024, 2, 29),
        date(2023, 12, 31),
        date(2024, 1, 1),
        date(2024, 12, 31),
        date(2022, 12, 31),
    )
    staff = [e for e in sorted(w.employees, key=lambda e: e["emp_id"]) if e["manager_id"] is not None]
    for e, day in zip(staff[2::3], hires, strict=False):
        set_hire_date(w, int(e["emp_id"]), day)
    reviewed = [e for e in staff if len(w.history_of(int(e["emp_id"]))) >= 3][:2]
    for e, day in zip(reviewed, (date(2024, 1, 1), date(2023, 12, 31)), strict=True):
        w.history_of(int(e["emp_id"]))[-1]["effective_date"] = day
    reid_orders(w)
    return w


def _boundary_order(w: World, order: dict, day: date, n: int) -> None:
    """Put an order on a boundary day, ship it across the boundary and pay at 00:00:00 or 23:59:59."""
    move_order(w, int(order["order_id"]), day)
    if day >= SNAPSHOT:
        order.update(status="pending", shipped_date=None)
    elif order["shipped_date"] is not None:
        order["shipped_date"] = day + timedelta(days=(1, 2, 0)[n % 3])
    rep = order["sales_rep_id"]
    if rep is not None and w.employee(int(rep))["hire_date"] > day:
        order["sales_rep_id"] = None  # the rep had not joined yet: a web order
    month_end = (day + timedelta(days=1)).day == 1
    for k, p in enumerate(sorted(w.payments_of(int(order["order_id"])), key=lambda p: p["payment_id"])):
        if month_end:  # the last second of the month, or the first second of the next one
            last_second = datetime.combine(day, time(23, 59, 59))
            p["paid_at"] = last_second if (n + k) % 2 == 0 else last_second + timedelta(seconds=1)
        else:
            p["paid_at"] = datetime.combine(day, time(0, 0, 0)) + timedelta(days=k)


VARIANTS: dict[str, Callable[[], World]] = {
    "nulls": nulls,
    "ties": ties,
    "empty_groups": empty_groups,
    "duplicates": duplicates,
    "boundary_dates": boundary_dates,
}
DESCRIPTIONS = {
    "nulls": "Hidden variant: NULL e-mails, departments, managers, titles, cities, locations, budgets, reps, "
    "shipped dates.",
    "ties": "Hidden variant: equal salaries, order totals, customer spend, prices, quantities and dates at "
    "rank boundaries.",
    "empty_groups": "Hidden variant: departments, customers, products, categories, countries and months "
    "with nothing on the other side.",
    "duplicates": "Hidden variant: namesakes (people, customers, departments, cities, products), repeated "
    "lines, several payments per order.",
    "boundary_dates": "Hidden variant: first/last days of months and years, leap day 2024-02-29, 23:59:59 "
    "payments, dates just outside 2022-2024.",
}
