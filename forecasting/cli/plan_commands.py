"""The published plan's commands (docs/cli.md, docs/planning.md): plan, planning-model, import-overrides, overrides,
fva.

Overrides made here are recorded as made by ``cli`` (the operator of the database).
"""
from __future__ import annotations

import argparse
import sys

from forecasting.cli import _horizon

#: who the audit trail names for overrides imported on the command line
CLI_AUTHOR = "cli"


def register(command) -> None:
    """Add the plan commands; ``command(name, help, handler)`` is db_commands' database command factory."""
    p = command("plan", "make (or reuse) the client's published plan and write it as CSV", _plan)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("--model", default=None, help="the plan's model for this plan only (default: the client's "
                   "planning model, see planning-model)")
    p.add_argument("--horizon", type=_horizon, default=None, help="buckets of the client's data the plan covers "
                   "(default: the current plan's, else 91 days, 13 weeks or 3 months)")
    p.add_argument("--output", default=None, help="CSV file to write (default: stdout)")
    p = command("planning-model", "the model the client's plan is made with (default auto); --set changes it",
                _planning_model)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("--set", dest="model", default=None, help="the new planning model (used by the next plan)")
    p = command("import-overrides", "import planners' overrides of the published plan (all or nothing)",
                _import_overrides)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("file", help="override CSV: item_id,start_date,end_date,change,kind,reason,note")
    p = command("overrides", "every override of the client's plan, reverted ones included (CSV)", _overrides)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("--output", default=None, help="CSV file to write (default: stdout)")
    p = command("fva", "forecast value added: naive vs plan vs final forecast, per item, category, reason, user "
                "(CSV)", _fva)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("--output", default=None, help="CSV file to write (default: stdout)")


def _services(args: argparse.Namespace):
    from forecasting.cli.db_commands import services_from_args

    services = services_from_args(args)
    return services, services.data.client_by_name(args.client).client_id


def _plan(args: argparse.Namespace) -> int:
    from forecasting.cli.progress import progress_bar
    from forecasting.io.csv_export import write_csv
    services, client_id = _services(args)
    current = services.planning.current_plan(client_id)
    model = args.model  # None: the client's planning model
    horizon = args.horizon or (current.horizon if current else None)
    with progress_bar("plan") as progress:
        outcome = services.planning.make_plan(client_id, model, horizon, progress=progress)
    _, table = services.planning.plan_table(client_id)
    write_csv(table, args.output)
    plan = outcome.plan
    print(f"plan {plan.plan_id} ({'reused' if outcome.reused else 'made'}): {plan.model}, as of {plan.as_of}, "
          f"{plan.horizon} {services.data.get_client(client_id).freq.units}, run {plan.run_id}", file=sys.stderr)
    return 0


def _planning_model(args: argparse.Namespace) -> int:
    services, client_id = _services(args)
    if args.model is not None:
        services.planning.set_planning_model(client_id, args.model)
    print(services.planning.planning_model(client_id))
    return 0


def _import_overrides(args: argparse.Namespace) -> int:
    services, client_id = _services(args)
    ids = services.planning.import_overrides_file(client_id, args.file, CLI_AUTHOR)
    print(f"{len(ids)} override(s) imported")
    return 0


def _overrides(args: argparse.Namespace) -> int:
    import pandas as pd

    from forecasting.io.csv_export import write_csv

    services, client_id = _services(args)
    table = services.planning.overrides(client_id)
    for column in ("created_at", "reverted_at"):
        table[column] = [t.strftime("%Y-%m-%dT%H:%M:%SZ") if not pd.isna(t) else "" for t in table[column]]
    write_csv(table, args.output)
    return 0


def _fva(args: argparse.Namespace) -> int:
    from forecasting.io.csv_export import write_csv

    services, client_id = _services(args)
    write_csv(services.planning.fva(client_id), args.output)
    return 0
