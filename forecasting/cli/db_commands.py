"""Database commands: init, load-demo, create-client, import-sales, import-inventory,
create-user, policy, runs; and the database mode of ``forecast`` and ``reorder`` (``--client``).

Every command takes ``--database-url`` (default ``$DATABASE_URL``, else the
SQLite file data/app.db under the project root) and brings the schema up to
date before it runs. Clients are named on the command line; an unknown client
or item is a NotFoundError (exit code 2).
"""
from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date
from pathlib import Path

from typing import TYPE_CHECKING

from forecasting.cli import FREQ_CHOICES, plan_commands, service_level
from forecasting.core.errors import ForecastingError

if TYPE_CHECKING:  # the storage layer (SQLAlchemy) is imported on use: file-mode commands stay fast
    from forecasting.services.container import Services

#: forecasting.storage.models.ROLES, repeated here so that building the parser imports no SQLAlchemy
ROLES = ("planner", "admin")


def database_command(
    subparsers: argparse._SubParsersAction, name: str, help_text: str, handler
) -> argparse.ArgumentParser:
    """A subcommand that works on a database (``--database-url``) and runs ``handler(args)``."""
    p = subparsers.add_parser(name, help=help_text, description=help_text)
    p.add_argument("--database-url", default=None, help="default: $DATABASE_URL, else sqlite:///data/app.db")
    p.set_defaults(handler=handler)
    return p


def services_from_args(args: argparse.Namespace) -> Services:
    """The services over the database named by ``--database-url`` (or the default), schema up to date."""
    from forecasting.services.container import build_services

    return build_services(getattr(args, "database_url", None))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the database commands to the ``python -m forecasting`` parser."""

    def command(name: str, help_text: str, handler) -> argparse.ArgumentParser:
        return database_command(subparsers, name, help_text, handler)

    command("init", "create the database or migrate it to the newest schema", _init)
    p = command("load-demo", "load the demo clients, their data and demo users (idempotent)", _load_demo)
    p.add_argument("--folder", type=Path, default=None, help="where the demo CSVs are generated (default data/demo)")
    p = command("create-client", "add a client (tenant)", _create_client)
    p.add_argument("name", help="client name, e.g. 'Acme Foods'")
    p = command("import-sales", "import a sales CSV for a client (re-imported days are replaced)", _import_sales)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("file", help="sales CSV: item_id,date,quantity[,covariates]")
    p.add_argument("--freq", choices=FREQ_CHOICES, type=str.upper, default=None,
                   help="the file's bucket, D, W or M (default: the client's, or detected at the first import); "
                        "declaring another one changes the client's bucket")
    p.add_argument("--move-as-of", action="store_true",
                   help="confirm an import that moves the data's as-of date for items not in the file "
                        "(they get zero-sales days); without it such an import is refused")
    p = command("import-inventory", "import an inventory CSV (stock positions and parameters)", _import_inventory)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("--as-of", type=_iso_date, default=None, help="date of the stock positions (default: today)")
    p.add_argument("--service-level", type=service_level, default=None,
                   help="for rows without one (default: none stored, the item's class cell applies)")
    p.add_argument("file", help="inventory CSV: item_id,on_hand,on_order,lead_time_days,...")
    p = command("create-user", "add a user to a client (password from a prompt or stdin)", _create_user)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("--username", required=True)
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--name", default="", help="full name shown in the app")
    p.add_argument("--email", default="")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    p = command("exceptions", "what needs attention today: the client's ranked exception queue (CSV)", _exceptions)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("--model", default=None,
                   help="the demand model of the reorder rules (default: the published plan with its overrides, "
                        "else ma7)")
    p.add_argument("--output", default=None, help="CSV file to write (default: stdout)")
    p = command("policy", "show or change a client's service levels by ABC x XYZ class (CSV)", _policy)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("--set", dest="changes", default=None,
                   help="cells to change, e.g. AX=0.99,BY=fill (a level 0.5-0.999, or cycle / fill)")
    p.add_argument("--abc", default=None, help="ABC thresholds as cumulative value shares, e.g. 0.8,0.95")
    p = command("runs", "a client's recent forecast runs (CSV)", _runs)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("--limit", type=int, default=50, help="how many runs, newest first (default 50)")
    p.add_argument("--output", default=None, help="CSV file to write (default: stdout)")
    plan_commands.register(command)
    p = command("prune-runs", "delete a client's runs (and their stored results) older than some days", _prune_runs)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("--older-than-days", type=int, default=90, help="runs created longer ago than this (default 90)")


def forecast_from_db(args: argparse.Namespace) -> int:
    """``forecast --client NAME``: the forecast CSV (or Parquet), and ``run N (cached|computed)`` on stderr.

    The client's items in chunks, recorded as one run (see :mod:`forecasting.batch.runner`).
    """
    from forecasting.batch.plan import BatchJob

    job = BatchJob("forecast", (args.model,), args.horizon, args.quantiles, chunk_items=args.chunk_items)
    outcome, as_of = _batch(args, job, f"forecast {args.model}")
    print(f"run {outcome.run_id} ({'cached' if outcome.cached else 'computed'}); data as of {as_of}", file=sys.stderr)
    return 0


def backtest_from_db(args: argparse.Namespace) -> int:
    """``backtest --client NAME``: the metrics of the client's items (or ``--items``), recorded as a run."""
    from forecasting.batch.plan import BatchJob
    from forecasting.modes.factory import ModelFactory

    job = BatchJob("backtest", tuple(ModelFactory.parse_names(args.model)), args.horizon, args.quantiles,
                   windows=args.windows, chunk_items=args.chunk_items)
    outcome, as_of = _batch(args, job, "backtest")
    print(f"run {outcome.run_id} (computed); data as of {as_of}", file=sys.stderr)
    return 0


def reorder_from_db(args: argparse.Namespace) -> int:
    """``reorder --client NAME``: the reorder table from the items' stored parameters and positions; its demand is
    ``--model``'s, else the published plan with its overrides (else ma7), named on stderr (docs/planning.md)."""
    from forecasting.batch.plan import BatchJob
    from forecasting.services.planning import FALLBACK_MODEL, demand_source

    services, client_id = _client_services(args)
    # the published plan is in the data's own bucket: a --bucket view runs a model (--model, else the fallback)
    model = args.model or (FALLBACK_MODEL if args.bucket else None)
    demand = demand_source(services.data, client_id, model)
    job = BatchJob("reorder", (demand.model.name,), service_level=args.service_level,
                   service_type=args.service_type, chunk_items=args.chunk_items)
    outcome, as_of = _batch(args, job, f"reorder {demand.model.name}", demand, (services, client_id))
    print(f"demand: {demand.label}" + (", with its overrides" if demand.plan is not None else ""), file=sys.stderr)
    if outcome.skipped:
        print(f"skipped {len(outcome.skipped)} item(s) with too little sales history: "
              f"{', '.join(outcome.skipped[:10])}", file=sys.stderr)
    print(f"data as of {as_of}", file=sys.stderr)
    return 0


def _batch(args: argparse.Namespace, job, description: str, demand=None, client: tuple | None = None):
    """The job's outcome, and the client's as-of date and bucket (with ``--bucket``'s view) in the one wording."""
    from forecasting.batch.runner import run_database_job
    from forecasting.cli.progress import progress_bar
    from forecasting.core.calendar import as_of_text

    services, client_id = client or _client_services(args)
    with progress_bar(description) as progress:
        outcome = run_database_job(services, client_id, job, _items(args.items), args.output, args.engine, progress,
                                   bucket=args.bucket, demand=demand)
    client = services.data.get_client(client_id)
    return outcome, as_of_text(client.as_of, client.freq, outcome.freq)


# --- command handlers -----------------------------------------------------------------------


def _init(args: argparse.Namespace) -> int:
    from forecasting.storage.migrate import current_revision

    database = services_from_args(args).database
    print(f"database ready at {database.display_url} (schema revision {current_revision(database)})")
    return 0


def _load_demo(args: argparse.Namespace) -> int:
    from forecasting.services.demo_data import DEMO_FOLDER, demo_logins, load_demo

    for line in load_demo(services_from_args(args), args.folder or DEMO_FOLDER):
        print(line)
    print("demo logins:")
    for line in demo_logins():
        print(f"  {line}")
    return 0


def _create_client(args: argparse.Namespace) -> int:
    client = services_from_args(args).data.create_client(args.name)
    print(f"client {client.name!r} created (id {client.client_id})")
    return 0


def _import_sales(args: argparse.Namespace) -> int:
    from forecasting.core.as_of import AsOfMoveError
    from forecasting.core.calendar import as_of_text

    services = services_from_args(args)
    client_id = services.data.client_by_name(args.client).client_id
    try:
        done = services.planning.import_sales(client_id, args.file, move_as_of=args.move_as_of, freq=args.freq)
    except AsOfMoveError as exc:
        raise ForecastingError(
            f"{exc.move.message()}; nothing imported: give --move-as-of to import it anyway"
        ) from None
    print(done.result.summary())
    client = services.data.get_client(client_id)
    print(f"data as of {as_of_text(client.as_of, client.freq)}", file=sys.stderr)
    line = done.plan_line()  # a client with a published plan gets a new one on the new data (docs/planning.md)
    if line:
        print(f"warning: {line}" if done.problem else line, file=sys.stderr)
    return 0


def _import_inventory(args: argparse.Namespace) -> int:
    data = services_from_args(args).data
    client_id = data.client_by_name(args.client).client_id
    result = data.import_inventory(client_id, args.file, as_of=args.as_of, default_service_level=args.service_level)
    print(result.summary())
    return 0


def _policy(args: argparse.Namespace) -> int:
    """Print the client's matrix (one row per cell), after applying ``--set`` / ``--abc`` if given."""
    from forecasting.applications.inventory.targets import CELLS, edited_policy

    data = services_from_args(args).data
    client_id = data.client_by_name(args.client).client_id
    policy = data.policy(client_id)
    if args.changes is not None or args.abc is not None:
        levels, types = _policy_changes(args.changes or "")
        thresholds = None if args.abc is None else tuple(_number(t, "--abc") for t in args.abc.split(","))
        if thresholds is not None and len(thresholds) != 2:
            raise ForecastingError(f"--abc takes two shares, e.g. 0.8,0.95; got {args.abc!r}")
        policy = edited_policy(policy, levels, types, thresholds)
        data.save_policy(client_id, policy)
    print("abc,xyz,service_level,service_type")
    for cell in CELLS:
        print(f"{cell[0]},{cell[1]},{policy.levels[cell]:g},{policy.types[cell]}")
    a, b = policy.abc_thresholds
    print(f"ABC thresholds: A up to {a:.0%} of value, B up to {b:.0%}", file=sys.stderr)
    return 0


def _policy_changes(text: str) -> tuple[dict[str, float], dict[str, str]]:
    """``AX=0.99,BY=fill`` as (levels, types); a malformed part is a ForecastingError."""
    levels: dict[str, float] = {}
    types: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        cell, sep, value = part.partition("=")
        if not sep:
            raise ForecastingError(f"--set takes CELL=VALUE parts, e.g. AX=0.99 or BY=fill; got {part!r}")
        cell, value = cell.strip().upper(), value.strip()
        if value in ("cycle", "fill"):
            types[cell] = value
        else:
            levels[cell] = _number(value, "--set")
    return levels, types


def _number(text: str, option: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ForecastingError(f"{option}: {text.strip()!r} is not a number") from None


def _create_user(args: argparse.Namespace) -> int:
    from forecasting.services.users import validate_password

    password = _read_password(args.password_stdin)
    validate_password(password)
    services = services_from_args(args)
    client_id = services.data.client_by_name(args.client).client_id
    user = services.users.create_user(
        client_id, args.username, password, args.role, name=args.name, email=args.email
    )
    print(f"user {user.username!r} ({user.role}) created for client {user.client_name!r}")
    return 0


def _exceptions(args: argparse.Namespace) -> int:
    from forecasting.cli.progress import progress_bar
    from forecasting.core.calendar import as_of_text
    from forecasting.io.csv_export import write_csv

    services, client_id = _client_services(args)
    with progress_bar("exceptions") as progress:
        outcome = services.forecasts.exceptions(client_id, args.model, progress=progress)
    write_csv(outcome.queue, args.output)
    print(f"run {outcome.run_id} ({'cached' if outcome.cached else 'computed'}): {len(outcome.queue)} item(s) need "
          f"attention, data as of {as_of_text(outcome.as_of, services.data.get_client(client_id).freq)}, "
          f"demand {outcome.model}", file=sys.stderr)
    return 0


def _runs(args: argparse.Namespace) -> int:
    from forecasting.io.csv_export import write_csv

    data = services_from_args(args).data
    runs = data.list_runs(data.client_by_name(args.client).client_id, args.limit)
    runs["created_at"] = runs["created_at"].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))  # the CSV keeps the time
    write_csv(runs, args.output)
    return 0


def _prune_runs(args: argparse.Namespace) -> int:
    services, client_id = _client_services(args)
    deleted = services.data.prune_runs(client_id, args.older_than_days)
    print(f"deleted {deleted} run(s) of client {args.client!r} older than {args.older_than_days} days",
          file=sys.stderr)
    return 0


# --- helpers -------------------------------------------------------------------------------


def _client_services(args: argparse.Namespace) -> tuple[Services, int]:
    """The services and the id of the ``--client`` named."""
    services = services_from_args(args)
    return services, services.data.client_by_name(args.client).client_id


def _items(text: str | None) -> list[str] | None:
    if text is None:
        return None
    items = [i.strip() for i in text.split(",") if i.strip()]
    if not items:
        raise ForecastingError("--items is empty; give item ids separated by commas")
    return items


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise ForecastingError("--password-stdin given but stdin is empty")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ForecastingError("no terminal to ask for the password: pipe it in with --password-stdin")
    first = getpass.getpass("Password (8-72 bytes): ")
    if getpass.getpass("Repeat password: ") != first:
        raise ForecastingError("the two passwords differ")
    return first
