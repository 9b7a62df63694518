"""Demo data: two clients that look like real shops, generated from a fixed seed.

"Demo Foods" is a grocery store with about 200 items over 3 years of daily
sales: weekly and yearly seasonality by category, trends, promotion weeks
(the ``promo`` column, which lifts sales), intermittent slow movers, items
launched in the last months and items discontinued months ago, a store closed
on Christmas Day (no rows: missing days count as zero), and an inventory file
with stock positions and replenishment parameters. "Northwind Retail" is a
smaller hardware shop (no promotions) so that tenant isolation can be seen.

The demo ends yesterday (:func:`demo_end`), the day it is loaded, so a
newcomer's first screen shows current data, not a "340 days old" warning.
Files are written to ``data/demo/`` (git-ignored), regenerated when they end
before that day, and imported through the same readers and import path as any
upload. :func:`load_demo` is idempotent; a demo loaded on an earlier day is
brought up to yesterday by importing the days after its as-of date.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.core.errors import ForecastingError, NotFoundError
from forecasting.services.container import Services
from forecasting.services.data_access import DataAccess
from forecasting.storage.database import PROJECT_ROOT

DEMO_FOLDER = PROJECT_ROOT / "data" / "demo"
#: the seed of every demo client's random numbers (the same end date gives the same data)
SEED = 20251231


@dataclass(frozen=True)
class DemoClient:
    name: str
    slug: str
    prefix: str
    n_items: int
    days: int
    categories: tuple[str, ...]
    promotions: bool
    seed: int


@dataclass(frozen=True)
class DemoUser:
    client: str
    username: str
    password: str
    role: str
    name: str


DEMO_CLIENTS = (
    DemoClient(
        "Demo Foods", "demo_foods", "DF", 200, 3 * 365,
        ("Bakery", "Dairy", "Beverages", "Produce", "Frozen", "Pantry", "Snacks", "Household"), True, SEED,
    ),
    DemoClient("Northwind Retail", "northwind", "NW", 40, 2 * 365, ("Hardware", "Garden", "Paint", "Tools"), False,
               SEED + 1),
)
#: printed by the README and ``load-demo``; demo only, never for real data
DEMO_USERS = (
    DemoUser("Demo Foods", "planner", "planner-demo-1", "planner", "Pat Planner"),
    DemoUser("Demo Foods", "admin", "admin-demo-1", "admin", "Alex Admin"),
    DemoUser("Northwind Retail", "northwind", "northwind-demo-1", "planner", "Nora Northwind"),
)

_WORDS = {
    "Bakery": ("Sourdough", "Rye Loaf", "Baguette", "Croissant", "Bagel", "Muffin", "Brioche", "Pita"),
    "Dairy": ("Milk", "Yogurt", "Butter", "Cheddar", "Cream", "Kefir", "Mozzarella", "Skyr"),
    "Beverages": ("Cola", "Orange Juice", "Sparkling Water", "Iced Tea", "Lemonade", "Coffee Beans", "Energy Drink"),
    "Produce": ("Bananas", "Apples", "Tomatoes", "Lettuce", "Carrots", "Avocados", "Strawberries", "Onions"),
    "Frozen": ("Ice Cream", "Pizza", "Peas", "Fish Fingers", "Berries", "Dumplings", "Fries"),
    "Pantry": ("Pasta", "Rice", "Olive Oil", "Tomato Sauce", "Flour", "Lentils", "Oats", "Honey"),
    "Snacks": ("Crisps", "Pretzels", "Chocolate Bar", "Popcorn", "Nuts", "Cookies", "Granola Bar"),
    "Household": ("Dish Soap", "Paper Towels", "Laundry Pods", "Sponges", "Bin Bags", "Candles"),
    "Hardware": ("Screws", "Nails", "Hinges", "Anchors", "Brackets", "Bolts"),
    "Garden": ("Potting Soil", "Seeds", "Hose", "Gloves", "Fertiliser", "Planter"),
    "Paint": ("Primer", "Wall Paint", "Brush", "Roller", "Masking Tape", "Varnish"),
    "Tools": ("Hammer", "Screwdriver", "Tape Measure", "Saw", "Drill Bits", "Pliers"),
}
_VARIANTS = ("", " 500g", " 1kg", " Family Pack", " Organic", " Light", " Large", " Mini")
#: yearly peak (day of year) per category; None = no yearly pattern
_PEAK = {"Beverages": 200, "Frozen": 205, "Produce": 180, "Garden": 130, "Paint": 110, "Pantry": 15,
         "Household": 340, "Snacks": 355}
#: weekday multipliers Mon..Sun
_WEEK = {
    "default": (0.9, 0.85, 0.9, 0.95, 1.1, 1.3, 1.0),
    "Beverages": (0.8, 0.8, 0.85, 0.9, 1.2, 1.5, 1.2),
    "Snacks": (0.8, 0.8, 0.85, 0.9, 1.25, 1.5, 1.1),
    "Hardware": (1.0, 0.95, 0.95, 1.0, 1.05, 1.4, 0.6),
}


def demo_end(today: date | None = None) -> date:
    """The demo's last sales day (and the day its stock positions are as of): yesterday, in UTC."""
    return (today or datetime.now(timezone.utc).date()) - timedelta(days=1)


def generate(client: DemoClient, end: date | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sales, inventory) frames for one demo client ending on ``end`` (default :func:`demo_end`).

    The same seed and end date give the same frames.
    """
    end = end or demo_end()
    rng = np.random.default_rng(client.seed)
    n, days = client.n_items, client.days
    dates = pd.date_range(end=pd.Timestamp(end), periods=days, freq="D")
    category = np.array([client.categories[i % len(client.categories)] for i in range(n)], dtype=object)
    kind = rng.choice(["regular", "slow", "new", "discontinued"], size=n, p=[0.73, 0.15, 0.07, 0.05])
    level = np.where(kind == "slow", rng.uniform(0.05, 0.6, n), rng.lognormal(np.log(18), 0.9, n))

    t = np.arange(days) / days
    trend = 1 + rng.uniform(-0.25, 0.35, n)[:, None] * t[None, :]
    weekday = dates.dayofweek.to_numpy()
    week = np.array([_WEEK.get(c, _WEEK["default"]) for c in category])[:, weekday]
    doy = dates.dayofyear.to_numpy()
    peak = np.array([_PEAK.get(c, -1) for c in category])
    amplitude = np.where(peak >= 0, rng.uniform(0.15, 0.45, n), 0.0)
    yearly = 1 + amplitude[:, None] * np.cos(2 * np.pi * (doy[None, :] - peak[:, None]) / 365.25)
    promo = _promotions(rng, n, days) if client.promotions else np.zeros((n, days))
    promo[kind == "slow"] = 0
    lift = 1 + rng.uniform(0.3, 1.0, n)[:, None] * promo
    mean = level[:, None] * trend * week * yearly * lift
    # over-dispersed counts (gamma-Poisson), as real item sales are
    quantity = rng.poisson(mean * rng.gamma(8.0, 1 / 8.0, mean.shape)).astype(float)

    active = np.ones((n, days), dtype=bool)
    launch = days - rng.integers(60, 270, n)
    stop = days - rng.integers(60, 300, n)
    active[kind == "new"] = np.arange(days)[None, :] >= launch[kind == "new"][:, None]
    active[kind == "discontinued"] = np.arange(days)[None, :] < stop[kind == "discontinued"][:, None]
    closed = (dates.month == 12) & (dates.day == 25) & (dates < pd.Timestamp(end))  # open on the last day
    keep = active & ~closed[None, :] & ~((kind == "slow")[:, None] & (quantity == 0))

    ids = np.array([f"{client.prefix}-{i + 1:04d}" for i in range(n)], dtype=object)
    rows, cols = np.nonzero(keep)
    sales = pd.DataFrame(
        {"item_id": ids[rows], "date": dates[cols].strftime("%Y-%m-%d"), "quantity": quantity[rows, cols]}
    )
    if client.promotions:
        sales["promo"] = promo[rows, cols].astype(int)

    names = _names(rng, category)
    stocked = kind != "discontinued"
    daily = mean[:, -28:].mean(axis=1)
    lead = rng.choice([2, 3, 5, 7, 10, 14], size=n)
    inventory = pd.DataFrame(
        {
            "item_id": ids,
            "on_hand": np.floor(daily * rng.uniform(0, 25, n)),
            "on_order": np.where(rng.random(n) < 0.3, np.ceil(daily * lead), 0.0),
            "lead_time_days": lead,
            "review_period_days": rng.choice([1, 7, 7, 7, 14], size=n),
            "service_level": rng.choice([0.9, 0.95, 0.95, 0.98], size=n),
            "moq": rng.choice([0, 0, 12, 24, 48], size=n),
            "pack_size": rng.choice([1, 1, 6, 12, 24], size=n),
            "unit_cost": np.round(rng.lognormal(np.log(2.5), 0.7, n), 2),
            "name": names,
            "category": category,
        }
    )[stocked].reset_index(drop=True)
    return sales, inventory


def write_files(folder: Path = DEMO_FOLDER, end: date | None = None) -> dict[str, tuple[Path, Path]]:
    """Generate every demo client's sales and inventory CSVs ending on ``end`` into ``folder`` (overwriting)."""
    folder.mkdir(parents=True, exist_ok=True)
    end = end or demo_end()
    out = {}
    for client in DEMO_CLIENTS:
        sales, inventory = generate(client, end)
        sales_path, inventory_path = _paths(folder, client)
        # whole units written as integers (pandas formats those in C; "%g" floats took seconds)
        sales.astype({"quantity": np.int64}).to_csv(sales_path, index=False)
        inventory.astype({"on_hand": np.int64, "on_order": np.int64}).to_csv(inventory_path, index=False)
        out[client.name] = (sales_path, inventory_path)
    return out


def load_demo(services: Services, folder: Path = DEMO_FOLDER, end: date | None = None) -> list[str]:
    """Create the demo clients, their data and users where missing; returns what was done (one line each).

    The data ends on ``end`` (default :func:`demo_end`, yesterday). Idempotent:
    a client loaded up to ``end`` is left as it is, existing users are kept. A
    client loaded on an earlier day is brought up to ``end``: the sales of its
    stocked items after its as-of date and the stock positions as of ``end`` are
    imported (its earlier history stays as it was).
    """
    data, users = services.data, services.users
    end = end or demo_end()
    report = []
    for client in DEMO_CLIENTS:
        sales_path, inventory_path = _paths(folder, client)
        if not (sales_path.exists() and inventory_path.exists()) or _files_end(sales_path) != end:
            write_files(folder, end)
        client_id = _client_id(data, client.name)
        if len(data.list_items(client_id)):
            as_of = data.get_client(client_id).as_of
            if as_of is None or as_of >= end:
                report.append(f"{client.name}: already loaded")
                continue
            inventory = pd.read_csv(inventory_path)
            sales = pd.read_csv(sales_path)
            sales = sales[(pd.to_datetime(sales["date"]).dt.date > as_of) & sales["item_id"].isin(inventory["item_id"])]
            # discontinued demo items get the days since as zero sales, as they would in real life
            imported = services.planning.import_sales(client_id, sales, move_as_of=True).result  # plan made again
            stock = data.import_inventory(client_id, inventory_path, as_of=end)
            report.append(f"{client.name}: brought up to {end:%Y-%m-%d} from {as_of:%Y-%m-%d}: "
                          f"{imported.summary()}; {stock.summary()}")
            continue
        sales = data.import_sales(client_id, sales_path)
        inventory = data.import_inventory(client_id, inventory_path, as_of=end)
        report.append(f"{client.name}: {sales.summary()}; {inventory.summary()}")
    for user in DEMO_USERS:
        try:
            users.by_username(user.username)
            continue
        except NotFoundError:
            pass
        client_id = data.client_by_name(user.client).client_id
        users.create_user(client_id, user.username, user.password, user.role, name=user.name)
        report.append(f"user {user.username} ({user.role}, {user.client}) created")
    return report


def demo_logins() -> list[str]:
    """The demo logins, for the README and the ``load-demo`` output."""
    return [f"{u.client}: {u.username} / {u.password} ({u.role})" for u in DEMO_USERS]


def _files_end(sales_path: Path) -> date:
    """The last sales day of a demo sales file (the day it was generated to end on)."""
    return pd.to_datetime(pd.read_csv(sales_path, usecols=["date"])["date"]).max().date()


def _paths(folder: Path, client: DemoClient) -> tuple[Path, Path]:
    return folder / f"{client.slug}_sales.csv", folder / f"{client.slug}_inventory.csv"


def _client_id(data: DataAccess, name: str) -> int:
    try:
        return data.client_by_name(name).client_id
    except NotFoundError:
        pass
    try:
        return data.create_client(name).client_id
    except ForecastingError:  # created by another process a moment ago
        return data.client_by_name(name).client_id


def _promotions(rng: np.random.Generator, n: int, days: int) -> np.ndarray:
    """0/1 promotion flags in whole weeks: each item is on promotion about one week in twelve."""
    weeks = -(-days // 7)
    on = rng.random((n, weeks)) < 1 / 12
    return np.repeat(on, 7, axis=1)[:, :days].astype(float)


def _names(rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
    out, seen = [], set()
    for c in category:
        words = _WORDS.get(c, (c,))
        for _ in range(100):
            name = f"{words[rng.integers(len(words))]}{_VARIANTS[rng.integers(len(_VARIANTS))]}"
            if name not in seen:
                break
        else:
            name = f"{name} {len(seen)}"
        seen.add(name)
        out.append(name)
    return np.array(out, dtype=object)
