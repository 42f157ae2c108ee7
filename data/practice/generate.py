"""The generator behind build.py: a coherent company (org chart, pay history, customers, orders, payments)."""

from __future__ import annotations

import bisect
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import catalog as cat
from catalog import Dept, Team, Unit
from world import CENT, SEED, SNAPSHOT, Row, World, money, rounded, slug

__all__ = ["SEED", "SNAPSHOT", "World", "company", "mini", "money", "price_on", "slug"]


# --- people -------------------------------------------------------------------------------------------------
@dataclass
class _Person:
    level: int
    dept_id: int | None
    title: str
    boss: int | None  # index into the people list
    language: str
    row: Row = field(default_factory=dict)


def _org_people(org: tuple[Dept, ...], unassigned: tuple[str, ...]) -> list[_Person]:
    people: list[_Person] = []
    ceo_dept = org[0]
    assert ceo_dept.head_title is not None
    people.append(_Person(1, ceo_dept.dept_id, ceo_dept.head_title, None, ceo_dept.language))

    def add_team(team: Team, boss: int, level: int, dept: Dept) -> None:
        for k in range(team.size):
            title = team.ic_titles[k % len(team.ic_titles)]
            people.append(_Person(level, dept.dept_id, title, boss, dept.language))

    chief_of_staff = None
    for dept in org:
        if dept.head_title is None:
            continue
        if dept is ceo_dept:
            head, head_level = 0, 1
        else:
            people.append(_Person(2, dept.dept_id, dept.head_title, 0, dept.language))
            head, head_level = len(people) - 1, 2
        for unit in dept.units:
            people.append(_Person(head_level + 1, dept.dept_id, unit.manager_title, head, dept.language))
            manager = len(people) - 1
            if unit.manager_title == "Chief of Staff":
                chief_of_staff = manager
            if unit.direct is not None:
                add_team(unit.direct, manager, head_level + 2, dept)
            for team in unit.teams:
                people.append(_Person(head_level + 2, dept.dept_id, team.boss_title, manager, dept.language))
                add_team(team, len(people) - 1, head_level + 3, dept)
    for title in unassigned:
        people.append(_Person(5, None, title, chief_of_staff, "en"))
    return people


class _Emails:
    """Hands out unique addresses: the second Anna Schmidt gets anna.schmidt2@..."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def __call__(self, local: str, domain: str) -> str:
        self.seen[local + "@" + domain] += 1
        n = self.seen[local + "@" + domain]
        return f"{local}{n if n > 1 else ''}@{domain}"


def _person_name(rng: random.Random, language: str) -> tuple[str, str]:
    firsts, lasts = cat.NAMES[language]
    first, last = rng.choice(firsts), rng.choice(lasts)
    if language == "pl" and first.endswith("a") and last.endswith(("ski", "cki")):
        last = last[:-1] + "a"  # Kowalski -> Kowalska
    return first, last


def _monday_on_or_after(d: date) -> date:
    return d + timedelta(days=(7 - d.weekday()) % 7)


def _between(rng: random.Random, start: date, end: date, mode: float = 0.5) -> date:
    """A date in [start, end], triangular with its peak at `mode` (0 = start, 1 = end)."""
    span = (end - start).days
    return start + timedelta(days=int(rng.triangular(0, span, span * mode)))


def build_staff(
    rng: random.Random, world: World, org: tuple[Dept, ...], unassigned: tuple[str, ...], first_hire: date
) -> None:
    """Departments, employees (emp_id in hiring order, a 4-5 level hierarchy) and their pay history."""
    for d in org:
        world.departments.append(
            {
                "dept_id": d.dept_id,
                "name": d.name,
                "location": d.location,
                "budget": money(d.budget) if d.budget else None,
            }
        )
    people = _org_people(org, unassigned)
    last_hire = SNAPSHOT - timedelta(days=14)
    languages = tuple(cat.NAMES)
    for idx, p in enumerate(people):
        if p.level == 1:
            hired = first_hire
        else:
            earliest = first_hire + timedelta(days=60 * p.level)
            if p.dept_id is None:
                earliest = date(SNAPSHOT.year, 1, 1)
            hired = _monday_on_or_after(
                _between(rng, earliest, last_hire, mode=(0.0, 0.0, 0.2, 0.4, 0.6, 0.85)[p.level])
            )
            hired = min(hired, last_hire)
        lang = p.language if rng.random() < 0.6 else rng.choice(languages)
        first, last = _person_name(rng, lang)
        p.row = {
            "first_name": first,
            "last_name": last,
            "dept_id": p.dept_id,
            "title": p.title,
            "hire_date": hired,
            "_idx": idx,
        }
    # emp_id follows hiring order, so the CEO is 1 and ids grow with tenure.
    ordered = sorted(people, key=lambda p: (p.row["hire_date"], p.row["_idx"]))
    for emp_id, p in enumerate(ordered, start=1):
        p.row["emp_id"] = emp_id
    emails = _Emails()
    for p in ordered:
        row = p.row
        row["manager_id"] = people[p.boss].row["emp_id"] if p.boss is not None else None
        row["email"] = emails(f"{slug(row['first_name'])}.{slug(row['last_name'])}", "meridian.example")
        base = cat.TITLE_PAY.get(p.title) or cat.LEVEL_PAY.get(p.level, 60000)
        _pay_history(rng, world, row, base * rng.uniform(0.9, 1.12))
        del row["_idx"]
        world.employees.append({c: row[c] for c in cat.SCHEMA[1][2]})


def _pay_history(rng: random.Random, world: World, row: Row, target: float) -> None:
    """A hiring salary and annual April reviews (some skipped, some promotions) ending at the current pay."""
    hired: date = row["hire_date"]  # type: ignore[assignment]
    reviews = []
    for year in range(hired.year, SNAPSHOT.year + 1):
        when = date(year, 4, 1)
        if when < hired + timedelta(days=180) or when > SNAPSHOT:
            continue
        kind = rng.random()
        if kind < 0.15:
            continue  # no raise that year
        raise_ = rng.uniform(0.10, 0.18) if kind > 0.92 else rng.uniform(0.02, 0.045 if kind < 0.7 else 0.08)
        reviews.append((when, raise_))
    growth = 1.0
    for _, r in reviews:
        growth *= 1 + r
    salary = rounded(target / growth, 500)
    world.salary_history.append({"emp_id": row["emp_id"], "effective_date": hired, "salary": salary})
    for when, r in reviews:
        salary = rounded(float(salary) * (1 + r), 100)
        world.salary_history.append({"emp_id": row["emp_id"], "effective_date": when, "salary": salary})
    row["salary"] = salary


# --- customers and products ---------------------------------------------------------------------------------
def build_customers(
    rng: random.Random,
    world: World,
    n: int,
    start: date,
    end: date,
    *,
    null_cities: int,
    null_email_share: float,
) -> None:
    signups = sorted(start + timedelta(days=int((end - start).days * rng.random() ** 0.8)) for _ in range(n))
    country_weights = [c[2] for c in cat.COUNTRIES]
    emails = _Emails()
    used_names: set[str] = set()
    no_city = set(rng.sample(range(n), null_cities))
    for i, signup in enumerate(signups):
        cid = i + 1
        segment = rng.choices(("consumer", "smb", "enterprise"), weights=(62, 28, 10))[0]
        country, lang, _, cities, suffixes = rng.choices(cat.COUNTRIES, weights=country_weights)[0]
        city = rng.choices([c for c, _ in cities], weights=[w for _, w in cities])[0]
        if segment == "consumer":
            first, last = _person_name(rng, lang)
            name = f"{first} {last}"
            local = rng.choice(
                (
                    f"{slug(first)}.{slug(last)}",
                    f"{slug(first)}{slug(last)}{rng.randint(1, 99)}",
                    f"{slug(first)[0]}{slug(last)}",
                )
            )
            email = emails(local, rng.choice(("example.com", "example.org", "example.net", "mail.example")))
        else:
            trades = cat.BUSINESS_TRADES if segment == "smb" else cat.ENTERPRISE_TRADES
            while True:
                root, trade = rng.choice(cat.BUSINESS_ROOTS), rng.choice(trades)
                name = f"{root} {trade} {rng.choice(suffixes)}"
                if name not in used_names:
                    break
            email = emails(
                rng.choice(("orders", "purchasing", "accounts", "office")),
                f"{slug(root)}{slug(trade)}.example",
            )
        used_names.add(name)
        referred = rng.randrange(1, cid) if cid > 5 and rng.random() < 0.16 else None
        world.customers.append(
            {
                "customer_id": cid,
                "name": name,
                "email": None if rng.random() < null_email_share else email,
                "city": None if i in no_city else city,
                "country": country,
                "segment": segment,
                "signup_date": signup,
                "referred_by": referred,
            }
        )


def build_products(world: World, product_ids: tuple[int, ...] | None = None) -> None:
    for pid, name, category, price, gone, _ in cat.PRODUCTS:
        if product_ids is None or pid in product_ids:
            world.products.append(
                {
                    "product_id": pid,
                    "name": name,
                    "category": category,
                    "unit_price": money(price),
                    "discontinued": gone is not None and gone <= SNAPSHOT,
                }
            )


def price_on(product_id: int, list_price: Decimal, day: date) -> Decimal:
    """The price charged on a day: products in PRICE_RISE_PRODUCTS were about 8% cheaper before the rise."""
    if product_id in cat.PRICE_RISE_PRODUCTS and day < cat.PRICE_RISE_DATE:
        return money((list_price * Decimal("0.92")).quantize(Decimal(1)) - CENT)
    return list_price


# --- orders, lines, payments --------------------------------------------------------------------------------
def company_order_dates(rng: random.Random, n: int, start: date, end: date) -> list[date]:
    """n order dates with growth, seasonality (busy Nov/Dec, quiet Feb), weekdays and a Black Friday spike."""
    month_weight = (0.85, 0.7, 0.9, 0.9, 0.95, 0.9, 0.85, 0.9, 1.0, 1.1, 1.55, 1.75)
    weekday_weight = (1.05, 1.0, 1.0, 1.0, 1.05, 0.8, 0.7)
    days, weights = [], []
    d = start
    while d <= end:
        w = month_weight[d.month - 1] * weekday_weight[d.weekday()] * (1 + 0.22 * (d.year - start.year))
        if d.month == 11 and 22 <= d.day <= 28 and d.weekday() == 4:
            w *= 4  # Black Friday
        if d.month == 12 and 24 <= d.day <= 26:
            w *= 0.25
        days.append(d)
        weights.append(w)
        d += timedelta(days=1)
    return sorted(rng.choices(days, weights=weights, k=n))


def _status(rng: random.Random, ordered: date) -> tuple[str, date | None]:
    age = (SNAPSHOT - ordered).days
    ship = ordered + timedelta(days=rng.choices((0, 1, 2, 3, 4), weights=(10, 40, 30, 15, 5))[0])
    r = rng.random()
    if age > 20:
        status = "cancelled" if r < 0.04 else "returned" if r < 0.09 else "delivered"
    elif age > 5:
        status = "cancelled" if r < 0.04 else "shipped" if r < 0.3 else "delivered"
    else:
        status = "pending" if r < 0.45 else "shipped" if r < 0.8 else "delivered" if r < 0.9 else "cancelled"
    if status in ("pending", "cancelled") or ship > SNAPSHOT:
        return ("pending" if status != "cancelled" else "cancelled"), None
    if status == "delivered" and ship + timedelta(days=2) > SNAPSHOT:
        status = "shipped"
    return status, ship


def _at(rng: random.Random, day: date, start_h: int, end_h: int) -> datetime:
    seconds = rng.randrange(start_h * 3600, end_h * 3600)
    return datetime.combine(day, time()) + timedelta(seconds=seconds)


@dataclass(frozen=True)
class OrderPlan:
    dates: list[date]
    first_order_id: int
    no_order_share: float  # customers who never order at all
    max_lines: int
    rep_cutoff: date  # reps hired on or after this day have no orders yet


def build_orders(rng: random.Random, world: World, plan: OrderPlan) -> None:
    customers = world.customers
    signups = [c["signup_date"] for c in customers]
    weights = []
    for c in customers:
        boost = {"consumer": 1.0, "smb": 2.2, "enterprise": 4.0}[c["segment"]]  # type: ignore[index]
        weights.append(0.0 if rng.random() < plan.no_order_share else boost * min(rng.paretovariate(1.6), 12))
    cum, running = [], 0.0
    for w in weights:
        running += w
        cum.append(running)
    reps = [e for e in world.employees if e["title"] in cat.AE and e["hire_date"] < plan.rep_cutoff]
    assigned: dict[object, int] = {}
    catalogue = {p[0]: p for p in cat.PRODUCTS}
    popularity = {p["product_id"]: rng.uniform(0.4, 2.5) for p in world.products}
    lists = {p["product_id"]: p["unit_price"] for p in world.products}
    order_id = plan.first_order_id
    for day in plan.dates:
        eligible = bisect.bisect_right(signups, day)
        if eligible == 0 or cum[eligible - 1] == 0:
            continue
        cust = rng.choices(customers[:eligible], cum_weights=cum[:eligible])[0]
        segment = cust["segment"]
        status, shipped = _status(rng, day)
        on_staff = [r for r in reps if r["hire_date"] <= day]
        rep = None
        if on_staff and rng.random() < {"consumer": 0.06, "smb": 0.75, "enterprise": 1.0}[segment]:  # type: ignore[index]
            key = cust["customer_id"]
            if key not in assigned or world.employee(assigned[key])["hire_date"] > day:
                assigned[key] = rng.choice(on_staff)["emp_id"]  # type: ignore[assignment]
            rep = assigned[key]
        world.orders.append(
            {
                "order_id": order_id,
                "customer_id": cust["customer_id"],
                "sales_rep_id": rep,
                "order_date": day,
                "status": status,
                "shipped_date": shipped,
            }
        )
        _order_lines(rng, world, order_id, day, str(segment), catalogue, popularity, lists, plan.max_lines)
        _order_payments(rng, world, world.orders[-1], str(segment))
        order_id += 1
    world.renumber()


def _order_lines(
    rng: random.Random,
    world: World,
    order_id: int,
    day: date,
    segment: str,
    catalogue: dict,
    popularity: dict,
    lists: dict,
    max_lines: int,
) -> None:
    available = [
        pid
        for pid in popularity
        if (catalogue[pid][5] is None or catalogue[pid][5] <= day)
        and (catalogue[pid][4] is None or day < catalogue[pid][4])
    ]
    line_weights = {
        "consumer": (40, 28, 17, 9, 4, 2),
        "smb": (20, 25, 22, 15, 10, 8),
        "enterprise": (4, 10, 20, 25, 20, 21),
    }[segment][:max_lines]
    n_lines = min(len(available), rng.choices(range(1, len(line_weights) + 1), weights=line_weights)[0])
    chosen: list[int] = []
    while len(chosen) < n_lines:
        pid = rng.choices(available, weights=[popularity[p] for p in available])[0]
        if pid not in chosen:
            chosen.append(pid)
    if segment == "consumer":
        black_friday = day.month == 11 and day.day >= 22
        order_discount = "0.20" if black_friday else "0.10" if day.month == 1 and day.day <= 15 else "0"
    elif segment == "smb":
        order_discount = rng.choices(("0", "0.05", "0.10"), weights=(60, 25, 15))[0]
    else:
        order_discount = rng.choices(("0.10", "0.15", "0.20", "0.25"), weights=(30, 35, 25, 10))[0]
    for line_no, pid in enumerate(chosen, start=1):
        category, gone = catalogue[pid][2], catalogue[pid][4]
        bulk = category == "Stationery"
        if segment == "consumer":
            qty = rng.choices((1, 2, 3, 5), weights=(75, 17, 6, 2))[0] * (2 if bulk else 1)
        elif segment == "smb":
            qty = rng.randint(5, 30) if bulk else rng.randint(1, 6)
        else:
            qty = rng.randint(20, 120) if bulk else rng.randint(3, 30)
        discount = Decimal(order_discount)
        if gone is not None and (gone - day).days <= 90:
            discount = max(discount, Decimal(rng.choice(("0.30", "0.40", "0.50"))))  # clearance
        elif segment == "consumer" and discount == 0 and rng.random() < 0.05:
            discount = Decimal("0.05")  # newsletter coupon
        world.order_items.append(
            {
                "order_id": order_id,
                "line_no": line_no,
                "product_id": pid,
                "quantity": qty,
                "unit_price": price_on(pid, lists[pid], day),
                "discount": discount.quantize(CENT),
            }
        )


def _order_payments(rng: random.Random, world: World, order: Row, segment: str) -> None:
    """None for cancelled orders and unpaid invoices, usually one, sometimes a deposit and a balance."""
    status, day = order["status"], order["order_date"]
    method = rng.choices(
        ("card", "transfer", "paypal"),
        weights={"consumer": (70, 0, 30), "smb": (45, 40, 15), "enterprise": (15, 85, 0)}[segment],
    )[0]
    if status == "cancelled" or (status == "pending" and method == "transfer"):
        return
    total = world.order_total(order["order_id"])  # type: ignore[arg-type]
    pays: list[tuple[datetime, Decimal, str]] = []
    if method == "transfer":
        if rng.random() < 0.02:
            return  # an invoice nobody ever paid
        pays.append((_at(rng, day + timedelta(days=rng.randint(3, 30)), 9, 18), total, method))  # type: ignore[operator]
    elif segment != "consumer" and status != "pending" and rng.random() < 0.12:
        deposit = money(total * Decimal(rng.choice(("0.30", "0.40", "0.50"))))
        pays.append((_at(rng, day, 8, 20), deposit, method))  # type: ignore[arg-type]
        later = order["shipped_date"] + timedelta(days=rng.randint(1, 10))  # type: ignore[operator]
        pays.append((_at(rng, later, 9, 18), total - deposit, "transfer"))
    else:
        pays.append((_at(rng, day, 7, 24), total, method))  # type: ignore[arg-type]
    for paid_at, amount, how in pays:
        if paid_at.date() <= SNAPSHOT:
            world.payments.append(
                {
                    "payment_id": len(world.payments) + 1,
                    "order_id": order["order_id"],
                    "paid_at": paid_at,
                    "amount": amount,
                    "method": how,
                }
            )


# --- the worlds ---------------------------------------------------------------------------------------------
def company() -> World:
    """The visible dataset: ~200 staff, ~500 customers, ~3,000 orders over 2022-2024."""
    world = World()
    build_staff(random.Random(SEED), world, cat.ORG, cat.UNASSIGNED_TITLES, first_hire=date(2014, 3, 3))
    build_customers(
        random.Random(SEED + 1),
        world,
        500,
        date(2020, 1, 6),
        date(2024, 12, 20),
        null_cities=5,
        null_email_share=0.07,
    )
    build_products(world)
    rng = random.Random(SEED + 2)
    dates = company_order_dates(rng, 3000, date(2022, 1, 1), SNAPSHOT)
    build_orders(
        rng, world, OrderPlan(dates, 10001, no_order_share=0.03, max_lines=6, rep_cutoff=date(2024, 12, 1))
    )
    return world


MINI_ORG: tuple[Dept, ...] = (
    Dept(
        1,
        "Executive",
        "London",
        "1200000.00",
        "Chief Executive Officer",
        (Unit("Chief of Staff", Team("", 1, ("Executive Assistant",))),),
    ),
    Dept(
        2,
        "Sales",
        "London",
        "900000.00",
        "VP of Sales",
        (Unit("Sales Manager", teams=(Team("Team Lead, Account Executives", 3, cat.AE),)),),
    ),
    Dept(
        3,
        "Engineering",
        "Berlin",
        "1500000.00",
        "VP of Engineering",
        (Unit("Engineering Manager", teams=(Team("Tech Lead", 3, cat.ENG),)),),
        language="de",
    ),
    Dept(
        4,
        "Customer Support",
        "Lisbon",
        "400000.00",
        "Head of Customer Support",
        (Unit("Support Manager", Team("", 2, cat.SUPPORT)),),
        language="pt",
    ),
    Dept(5, "Research", "Toronto", "300000.00", None),
)
MINI_PRODUCTS = (1, 3, 5, 11, 12, 15, 21, 22, 23, 31, 34, 38)


def mini(seed: int, *, customers: int = 15) -> World:
    """A small, clean company (20 staff, 15 customers, 12 products, ~27 orders 2023-07..2024-12) to add traps to."""
    world = World()
    build_staff(random.Random(seed), world, MINI_ORG, ("Contractor",), first_hire=date(2018, 1, 8))
    build_customers(
        random.Random(seed + 1),
        world,
        customers,
        date(2022, 1, 3),
        date(2024, 6, 30),
        null_cities=0,
        null_email_share=0.0,
    )
    build_products(world, MINI_PRODUCTS)
    rng = random.Random(seed + 2)
    dates = []
    for month in range(18):  # every month 2023-07 .. 2024-12 has one or two orders
        year, mon = 2023 + (6 + month) // 12, (6 + month) % 12 + 1
        for _ in range(rng.choice((1, 1, 2))):
            dates.append(date(year, mon, rng.randint(1, 28)))
    build_orders(
        rng,
        world,
        OrderPlan(sorted(dates), 1001, no_order_share=0.0, max_lines=3, rep_cutoff=date(2024, 12, 1)),
    )
    return world
