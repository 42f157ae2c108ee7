"""Fixed reference data for build.py: the schema, names, places, products and the organisation chart.

Everything here is a tuple or an insertion-ordered literal, so iteration order never depends on hashing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# --- schema (identical in every dataset; mirrors the agreed practice schema) ---------------------------------
SCHEMA: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "departments",
        "CREATE TABLE departments (dept_id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, location VARCHAR,\n"
        "  budget DECIMAL(12,2));",
        ("dept_id", "name", "location", "budget"),
    ),
    (
        "employees",
        "CREATE TABLE employees (emp_id INTEGER PRIMARY KEY, first_name VARCHAR NOT NULL,\n"
        "  last_name VARCHAR NOT NULL, email VARCHAR, dept_id INTEGER REFERENCES departments(dept_id),\n"
        "  manager_id INTEGER, title VARCHAR, hire_date DATE NOT NULL, salary DECIMAL(10,2) NOT NULL);",
        (
            "emp_id",
            "first_name",
            "last_name",
            "email",
            "dept_id",
            "manager_id",
            "title",
            "hire_date",
            "salary",
        ),
    ),
    (
        "salary_history",
        "CREATE TABLE salary_history (emp_id INTEGER NOT NULL, effective_date DATE NOT NULL,\n"
        "  salary DECIMAL(10,2) NOT NULL, PRIMARY KEY (emp_id, effective_date));",
        ("emp_id", "effective_date", "salary"),
    ),
    (
        "customers",
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, email VARCHAR,\n"
        "  city VARCHAR, country VARCHAR NOT NULL, segment VARCHAR NOT NULL, signup_date DATE NOT NULL,\n"
        "  referred_by INTEGER);",
        ("customer_id", "name", "email", "city", "country", "segment", "signup_date", "referred_by"),
    ),
    (
        "products",
        "CREATE TABLE products (product_id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, category VARCHAR NOT NULL,\n"
        "  unit_price DECIMAL(10,2) NOT NULL, discontinued BOOLEAN NOT NULL DEFAULT FALSE);",
        ("product_id", "name", "category", "unit_price", "discontinued"),
    ),
    (
        "orders",
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY,\n"
        "  customer_id INTEGER NOT NULL REFERENCES customers(customer_id),\n"
        "  sales_rep_id INTEGER REFERENCES employees(emp_id), order_date DATE NOT NULL, status VARCHAR NOT NULL,\n"
        "  shipped_date DATE);",
        ("order_id", "customer_id", "sales_rep_id", "order_date", "status", "shipped_date"),
    ),
    (
        "order_items",
        "CREATE TABLE order_items (order_id INTEGER NOT NULL REFERENCES orders(order_id), line_no INTEGER NOT NULL,\n"
        "  product_id INTEGER NOT NULL REFERENCES products(product_id), quantity INTEGER NOT NULL,\n"
        "  unit_price DECIMAL(10,2) NOT NULL, discount DECIMAL(4,2) NOT NULL DEFAULT 0,\n"
        "  PRIMARY KEY (order_id, line_no));",
        ("order_id", "line_no", "product_id", "quantity", "unit_price", "discount"),
    ),
    (
        "payments",
        "CREATE TABLE payments (payment_id INTEGER PRIMARY KEY,\n"
        "  order_id INTEGER NOT NULL REFERENCES orders(order_id), paid_at TIMESTAMP NOT NULL,\n"
        "  amount DECIMAL(10,2) NOT NULL, method VARCHAR NOT NULL);",
        ("payment_id", "order_id", "paid_at", "amount", "method"),
    ),
)

# fmt: off
# --- people -------------------------------------------------------------------------------------------------
# (first names, last names) per language group.
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        ("Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Emily", "Charlie", "Sophie", "Thomas",
         "Grace", "James", "Lily", "William", "Chloe", "Daniel", "Hannah", "Samuel", "Lucy", "Michael", "Sarah",
         "David", "Emma", "Ryan", "Megan", "Aoife", "Conor", "Fiona", "Niamh"),
        ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
         "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Clarke", "Hughes",
         "O'Brien", "Murphy", "Kelly", "Walsh", "O'Connor", "Campbell", "Mitchell", "Patel", "Khan", "Ahmed"),
    ),
    "us": (
        ("Liam", "Olivia", "Noah", "Emma", "Ethan", "Ava", "Mason", "Sophia", "Lucas", "Isabella", "Logan",
         "Mia", "Aiden", "Harper", "Jackson", "Abigail", "Carter", "Madison", "Wyatt", "Chloe", "Jayden",
         "Priya", "Wei", "Carlos", "Aaliyah", "Marcus", "Hiro", "Ana"),
        ("Miller", "Davis", "Garcia", "Rodriguez", "Martinez", "Anderson", "Thomas", "Moore", "Jackson",
         "Martin", "Lee", "Harris", "Clark", "Lewis", "Young", "Allen", "King", "Scott", "Nguyen", "Chen",
         "Kim", "Singh", "Cohen", "Brooks", "Tremblay", "Roy", "Gagnon", "MacDonald"),
    ),
    "de": (
        ("Lukas", "Leon", "Finn", "Jonas", "Felix", "Paul", "Maximilian", "Emma", "Mia", "Hannah", "Lena",
         "Lea", "Anna", "Sophie", "Marie", "Katharina", "Julia", "Jan", "Tobias", "Moritz", "Jürgen", "Sabine"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
         "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Braun", "Zimmermann",
         "Krüger", "Hartmann", "Lange", "Yilmaz"),
    ),
    "fr": (
        ("Louis", "Gabriel", "Jules", "Arthur", "Hugo", "Lucas", "Léa", "Chloé", "Manon", "Camille", "Inès",
         "Juliette", "Élodie", "Mathieu", "Antoine", "Claire", "Nicolas", "Amélie"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
         "Simon", "Laurent", "Lefebvre", "Michel", "Fournier", "Girard", "Lambert", "Benali"),
    ),
    "nl": (
        ("Daan", "Sem", "Lars", "Bram", "Thijs", "Sanne", "Lotte", "Fleur", "Eva", "Noor", "Jesse", "Anouk",
         "Ruben", "Femke"),
        ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser", "Smit", "Meijer",
         "de Boer", "Mulder", "Bos", "Vos", "Peters"),
    ),
    "es": (
        ("Hugo", "Mateo", "Martín", "Lucía", "Sofía", "Martina", "Pablo", "Alejandro", "Carmen", "Elena",
         "Javier", "Laura", "Diego", "Paula"),
        ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez",
         "Ruiz", "Díaz", "Moreno", "Navarro", "Romero"),
    ),
    "pt": (
        ("João", "Tiago", "Rodrigo", "Beatriz", "Mariana", "Inês", "Ana", "Francisco", "Catarina", "Duarte",
         "Rita", "Pedro"),
        ("Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Martins", "Sousa",
         "Fernandes", "Gonçalves", "Almeida"),
    ),
    "it": (
        ("Leonardo", "Francesco", "Alessandro", "Lorenzo", "Giulia", "Sofia", "Aurora", "Chiara", "Matteo",
         "Giorgia", "Marco", "Elisa"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
         "Bruno", "Gallo"),
    ),
    "sv": (
        ("Erik", "Lars", "Oskar", "Elsa", "Astrid", "Maja", "Nils", "Ingrid", "Karin", "Johan", "Sara",
         "Linnea"),
        ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
         "Svensson", "Gustafsson", "Lindberg", "Berg"),
    ),
    "pl": (
        ("Jakub", "Kacper", "Szymon", "Zuzanna", "Julia", "Maja", "Piotr", "Agnieszka", "Katarzyna", "Tomasz",
         "Magdalena", "Michał"),
        ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński",
         "Szymański", "Woźniak", "Dąbrowski", "Kozłowski"),
    ),
}

# (country, language group, weight, ((city, weight), ...), company suffixes)
COUNTRIES: tuple[tuple[str, str, int, tuple[tuple[str, int], ...], tuple[str, ...]], ...] = (
    ("United Kingdom", "en", 22,
     (("London", 9), ("Manchester", 3), ("Birmingham", 3), ("Leeds", 2), ("Bristol", 2), ("Glasgow", 2),
      ("Edinburgh", 2)), ("Ltd", "Ltd", "LLP")),
    ("United States", "us", 14,
     (("New York", 4), ("Chicago", 2), ("Austin", 2), ("Seattle", 2), ("Boston", 2), ("San Francisco", 2)),
     ("Inc.", "LLC")),
    ("Germany", "de", 15,
     (("Berlin", 5), ("Munich", 3), ("Hamburg", 3), ("Cologne", 2), ("Frankfurt", 2)), ("GmbH", "GmbH", "AG")),
    ("France", "fr", 12,
     (("Paris", 6), ("Lyon", 2), ("Marseille", 1), ("Toulouse", 1), ("Lille", 1)), ("SARL", "SAS")),
    ("Netherlands", "nl", 7, (("Amsterdam", 4), ("Rotterdam", 2), ("Utrecht", 2)), ("B.V.",)),
    ("Spain", "es", 7, (("Madrid", 4), ("Barcelona", 3), ("Valencia", 1), ("Seville", 1)), ("S.L.", "S.A.")),
    ("Canada", "us", 5, (("Toronto", 3), ("Vancouver", 2), ("Montreal", 2)), ("Inc.", "Ltd.")),
    ("Italy", "it", 5, (("Milan", 3), ("Rome", 2), ("Turin", 1)), ("S.r.l.", "S.p.A.")),
    ("Ireland", "en", 4, (("Dublin", 4), ("Cork", 1)), ("Ltd", "DAC")),
    ("Portugal", "pt", 3, (("Lisbon", 3), ("Porto", 2)), ("Lda",)),
    ("Sweden", "sv", 3, (("Stockholm", 3), ("Gothenburg", 1)), ("AB",)),
    ("Poland", "pl", 3, (("Warsaw", 3), ("Krakow", 2)), ("Sp. z o.o.",)),
)

BUSINESS_ROOTS = (
    "Brightwater", "Northgate", "Silverline", "Bluepeak", "Redwood", "Oakridge", "Harbour", "Summit",
    "Clearview", "Greenfield", "Ironbridge", "Maple", "Riverside", "Westfield", "Lakeside", "Crescent",
    "Pinnacle", "Evergreen", "Granite", "Horizon", "Kestrel", "Beacon", "Foxglove", "Juniper", "Meadow",
    "Copperleaf", "Stonebridge", "Larkspur", "Alder", "Tidewater", "Marlow", "Ashford", "Highland", "Willow",
    "Falcon", "Orchard", "Cobalt", "Saffron", "Linden", "Northstar",
)
BUSINESS_TRADES = (
    "Consulting", "Design", "Logistics", "Architects", "Dental", "Media", "Analytics", "Legal", "Engineering",
    "Studios", "Labs", "Partners", "Software", "Health", "Foods", "Retail", "Print", "Ventures", "Accountants",
    "Interiors", "Clinics", "Coworking", "Travel", "Education",
)
ENTERPRISE_TRADES = ("Group", "Holdings", "Industries", "Bank", "Insurance", "Systems", "Energy", "Hotels")

# --- products -----------------------------------------------------------------------------------------------
# (product_id, name, category, unit_price, discontinued on (None: still sold), first sold on)
PRODUCTS: tuple[tuple[int, str, str, str, date | None, date | None], ...] = (
    (1, "Wireless Mouse", "Electronics", "24.99", None, None),
    (2, "Mechanical Keyboard", "Electronics", "89.00", None, None),
    (3, "USB-C Docking Station", "Electronics", "149.00", None, None),
    (4, "27-inch 4K Monitor", "Electronics", "329.00", None, None),
    (5, "Noise-Cancelling Headphones", "Electronics", "199.00", None, None),
    (6, "HD Webcam", "Electronics", "59.90", date(2023, 9, 1), None),
    (7, "Portable SSD 1TB", "Electronics", "109.00", None, None),
    (8, "Bluetooth Speaker", "Electronics", "49.50", None, None),
    (9, "Wireless Charging Pad", "Electronics", "29.99", None, date(2023, 2, 1)),
    (10, "Smart LED Desk Lamp", "Electronics", "64.00", None, None),
    (11, "Ergonomic Office Chair", "Furniture", "279.00", None, None),
    (12, "Standing Desk", "Furniture", "549.00", None, None),
    (13, "Oak Bookshelf", "Furniture", "189.00", None, None),
    (14, "Filing Cabinet", "Furniture", "149.50", None, None),
    (15, "Monitor Arm", "Furniture", "79.00", None, None),
    (16, "Footrest", "Furniture", "34.90", None, None),
    (17, "Meeting Table", "Furniture", "899.00", None, None),
    (18, "Bar Stool", "Furniture", "119.00", date(2023, 1, 1), None),
    (19, "Lounge Armchair", "Furniture", "429.00", None, date(2025, 1, 6)),
    (20, "Coat Stand", "Furniture", "59.00", date(2021, 6, 30), None),
    (21, "A5 Notebook", "Stationery", "8.50", None, None),
    (22, "Gel Pen Set", "Stationery", "12.99", None, None),
    (23, "Fountain Pen", "Stationery", "45.00", None, None),
    (24, "Desk Organizer", "Stationery", "22.00", None, None),
    (25, "Sticky Notes Pack", "Stationery", "6.49", None, None),
    (26, "Whiteboard Markers", "Stationery", "9.99", None, None),
    (27, "Leather Planner", "Stationery", "29.00", date(2024, 1, 31), None),
    (28, "Sketchbook A4", "Stationery", "14.50", None, None),
    (29, "Paper Clips Box", "Stationery", "3.99", date(2022, 10, 1), None),
    (30, "Label Printer", "Stationery", "89.99", None, date(2022, 6, 1)),
    (31, "Espresso Machine", "Kitchen", "399.00", None, None),
    (32, "Burr Coffee Grinder", "Kitchen", "129.00", None, None),
    (33, "Electric Kettle", "Kitchen", "49.00", None, None),
    (34, "Ceramic Mug", "Kitchen", "12.00", None, None),
    (35, "Insulated Water Bottle", "Kitchen", "24.50", None, None),
    (36, "French Press", "Kitchen", "34.00", None, None),
    (37, "Tea Sampler", "Kitchen", "19.90", None, None),
    (38, "Chef's Knife", "Kitchen", "79.00", None, None),
    (39, "Cast Iron Skillet", "Kitchen", "54.00", None, None),
    (40, "Glass Food Containers", "Kitchen", "29.99", None, None),
    (41, "Hiking Backpack 35L", "Outdoor", "119.00", None, None),
    (42, "Two-Person Tent", "Outdoor", "189.00", None, None),
    (43, "Sleeping Bag", "Outdoor", "99.00", None, None),
    (44, "Trekking Poles", "Outdoor", "59.00", None, None),
    (45, "Headlamp", "Outdoor", "29.00", None, None),
    (46, "Picnic Blanket", "Outdoor", "39.00", None, None),
    (47, "Folding Camp Chair", "Outdoor", "45.00", None, None),
    (48, "Rain Jacket", "Outdoor", "129.00", None, None),
    (49, "Travel Hammock", "Outdoor", "49.00", date(2023, 10, 1), None),
    (50, "Stainless Steel Flask", "Outdoor", "27.50", None, None),
    (51, "Practical SQL Patterns", "Books", "39.00", None, None),
    (52, "Designing Calm Workspaces", "Books", "29.00", None, None),
    (53, "The Remote Team Handbook", "Books", "24.00", None, None),
    (54, "The Coffee Atlas", "Books", "35.00", None, None),
    (55, "Trails of the Alps", "Books", "32.00", None, None),
    (56, "Numbers That Matter", "Books", "27.00", None, None),
    (57, "Quiet Leadership", "Books", "22.00", None, None),
    (58, "Home Office Makeover", "Books", "26.00", None, date(2023, 5, 1)),
    (59, "Cooking for One", "Books", "19.00", date(2021, 11, 30), None),
    (60, "Field Guide to Birds", "Books", "28.00", None, date(2025, 1, 6)),
)
# Products whose list price went up on PRICE_RISE_DATE; order lines before it carry the old price.
PRICE_RISE_DATE = date(2023, 3, 1)
PRICE_RISE_PRODUCTS = (2, 3, 4, 5, 11, 12, 13, 17, 31, 32, 38, 41, 42, 48)

# --- organisation -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Team:
    """A boss (team lead or manager) and the individual contributors reporting to them."""

    boss_title: str
    size: int
    ic_titles: tuple[str, ...]


@dataclass(frozen=True)
class Unit:
    """A manager with either ICs directly (one team whose boss is the manager) or team leads under them."""

    manager_title: str
    direct: Team | None = None
    teams: tuple[Team, ...] = ()


@dataclass(frozen=True)
class Dept:
    dept_id: int
    name: str
    location: str | None
    budget: str | None
    head_title: str | None  # None: a department with no staff yet
    units: tuple[Unit, ...] = ()
    language: str = "en"


AE = ("Account Executive", "Account Executive", "Senior Account Executive")
SDR = ("Sales Development Representative",)
ENG = ("Software Engineer", "Software Engineer", "Senior Software Engineer", "Senior Software Engineer",
       "Staff Engineer")
SUPPORT = ("Support Specialist", "Support Specialist", "Senior Support Specialist")

ORG: tuple[Dept, ...] = (
    Dept(1, "Executive", "London", "2400000.00", "Chief Executive Officer",
         (Unit("Chief of Staff", Team("Chief of Staff", 1, ("Executive Assistant",))),)),
    Dept(2, "Sales", "London", "5200000.00", "VP of Sales", (
        Unit("Sales Manager, UK and Ireland", teams=(Team("Team Lead, Account Executives", 7, AE),
                                                      Team("Team Lead, Sales Development", 5, SDR))),
        Unit("Sales Manager, Europe", teams=(Team("Team Lead, Account Executives", 6, AE),
                                             Team("Team Lead, Sales Development", 4, SDR))),
        Unit("Sales Manager, North America", teams=(Team("Team Lead, Account Executives", 6, AE),)),
        Unit("Sales Operations Manager", Team("Sales Operations Manager", 3, ("Sales Operations Analyst",))),
    )),
    Dept(3, "Marketing", "London", "1850000.00", "VP of Marketing", (
        Unit("Content Marketing Manager", Team("", 4, ("Content Marketer", "Copywriter", "Social Media Manager"))),
        Unit("Growth Marketing Manager", Team("", 5, ("Performance Marketer", "Marketing Analyst", "SEO Specialist"))),
    )),
    Dept(4, "Engineering", "Berlin", "6300000.00", "VP of Engineering", (
        Unit("Engineering Manager, Platform", teams=(Team("Tech Lead", 6, ENG), Team("Tech Lead", 5, ENG))),
        Unit("Engineering Manager, Storefront", teams=(Team("Tech Lead", 6, ENG), Team("Tech Lead", 5, ENG))),
        Unit("Engineering Manager, Mobile", teams=(Team("Tech Lead", 5, ENG),)),
        Unit("QA Manager", Team("", 4, ("QA Engineer", "QA Engineer", "Senior QA Engineer"))),
        Unit("Infrastructure Manager", Team("", 4, ("Site Reliability Engineer", "DevOps Engineer"))),
    ), language="de"),
    Dept(5, "Product", "Berlin", "1500000.00", "Head of Product", (
        Unit("Group Product Manager", Team("", 4, ("Product Manager", "Product Manager", "Senior Product Manager"))),
        Unit("Design Manager", Team("", 4, ("Product Designer", "UX Researcher"))),
    ), language="de"),
    Dept(6, "Customer Support", "Lisbon", "1400000.00", "Head of Customer Support", (
        Unit("Support Manager, EMEA", teams=(Team("Support Team Lead", 7, SUPPORT),
                                             Team("Support Team Lead", 6, SUPPORT))),
        Unit("Support Manager, Americas", Team("", 5, SUPPORT)),
    ), language="pt"),
    Dept(7, "Finance", "London", "1250000.00", "Chief Financial Officer", (
        Unit("Financial Controller", Team("", 4, ("Accountant", "Accountant", "Payroll Specialist"))),
        Unit("FP&A Manager", Team("", 3, ("Financial Analyst",))),
    )),
    Dept(8, "People", "London", "700000.00", "Head of People", (
        Unit("People Partner Lead", Team("", 4, ("People Partner", "Recruiter", "Recruiter"))),
    )),
    Dept(9, "Operations", "Rotterdam", "1700000.00", "Head of Operations", (
        Unit("Warehouse Manager", teams=(Team("Shift Lead", 7, ("Warehouse Associate",)),
                                         Team("Shift Lead", 7, ("Warehouse Associate",)))),
        Unit("Logistics Manager", Team("", 4, ("Logistics Coordinator", "Procurement Specialist"))),
    ), language="nl"),
    Dept(10, "Legal", "London", "650000.00", "General Counsel", (
        Unit("Senior Legal Counsel", Team("", 2, ("Legal Counsel", "Paralegal"))),
    )),
    Dept(11, "Data and Analytics", "Berlin", "1450000.00", "Head of Data", (
        Unit("Analytics Manager", Team("", 5, ("Data Analyst", "Data Analyst", "Senior Data Analyst"))),
        Unit("Data Engineering Manager", Team("", 4, ("Data Engineer", "Senior Data Engineer"))),
    ), language="de"),
    Dept(12, "Research", "Toronto", "900000.00", None),
)
# Employees with no department (dept_id NULL); they report to the Chief of Staff.
UNASSIGNED_TITLES = ("Interim Project Manager", "Contractor", "Graduate Trainee", "Graduate Trainee")

# Typical current salary by title (the generator spreads around it); levels without an entry use LEVEL_PAY.
TITLE_PAY = {
    "Chief Executive Officer": 265000, "Chief Financial Officer": 185000, "VP of Engineering": 182000,
    "VP of Sales": 175000, "VP of Marketing": 158000, "General Counsel": 168000, "Head of Product": 150000,
    "Head of Data": 145000, "Head of Customer Support": 118000, "Head of People": 120000,
    "Head of Operations": 125000, "Chief of Staff": 120000, "Executive Assistant": 52000,
    "Account Executive": 56000, "Senior Account Executive": 72000, "Sales Development Representative": 41000,
    "Sales Operations Analyst": 52000, "Content Marketer": 48000, "Copywriter": 46000,
    "Social Media Manager": 47000, "Performance Marketer": 55000, "Marketing Analyst": 52000,
    "SEO Specialist": 50000, "Software Engineer": 68000, "Senior Software Engineer": 86000,
    "Staff Engineer": 108000, "QA Engineer": 58000, "Senior QA Engineer": 72000,
    "Site Reliability Engineer": 84000, "DevOps Engineer": 78000, "Product Manager": 76000,
    "Senior Product Manager": 92000, "Product Designer": 66000, "UX Researcher": 64000,
    "Support Specialist": 34000, "Senior Support Specialist": 40000, "Accountant": 50000,
    "Payroll Specialist": 46000, "Financial Analyst": 56000, "People Partner": 54000, "Recruiter": 46000,
    "Warehouse Associate": 31000, "Logistics Coordinator": 40000, "Procurement Specialist": 46000,
    "Legal Counsel": 88000, "Paralegal": 45000, "Data Analyst": 58000, "Senior Data Analyst": 74000,
    "Data Engineer": 72000, "Senior Data Engineer": 88000, "Interim Project Manager": 78000,
    "Contractor": 60000, "Graduate Trainee": 32000,
}
LEVEL_PAY = {2: 140000, 3: 98000, 4: 80000}
# fmt: on
