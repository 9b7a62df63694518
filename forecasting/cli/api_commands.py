"""REST API commands: create-api-key, revoke-api-key, list-api-keys and serve-api.

``create-api-key`` prints the new key once, alone on stdout (so that a script
can capture it); the database keeps only its SHA-256 digest. Like the other
database commands each takes ``--database-url`` and migrates the schema first.
"""
from __future__ import annotations

import argparse
import os
import sys

from forecasting.cli import positive_int
from forecasting.cli.db_commands import database_command, services_from_args
from forecasting.core.errors import ForecastingError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
KEY_COLUMNS = ["key_id", "name", "prefix", "status", "created_at", "last_used_at", "revoked_at"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the API commands to the ``python -m forecasting`` parser."""

    def command(name: str, help_text: str, handler) -> argparse.ArgumentParser:
        return database_command(subparsers, name, help_text, handler)

    p = command("create-api-key", "create a service API key for a client (printed once)", _create_key)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("--name", default="", help="label, e.g. 'ERP nightly job'")
    p = command("revoke-api-key", "revoke a client's API key (it stops working at once)", _revoke_key)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("key_id", type=int, help="the key's id (see list-api-keys)")
    p = command("list-api-keys", "a client's API keys (CSV; never the keys themselves)", _list_keys)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("--output", default=None, help="CSV file to write (default: stdout)")
    p = command("serve-api", "run the REST API with uvicorn (docs at /docs)", _serve)
    p.add_argument("--host", default=DEFAULT_HOST, help=f"interface to listen on (default {DEFAULT_HOST})")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    p.add_argument(
        "--workers", type=positive_int, default=1,
        help="worker processes (about one per CPU core; more than one needs FORECASTING_JWT_SECRET)",
    )


def _create_key(args: argparse.Namespace) -> int:
    keys, client_id, client_name = _keys(args)
    created = keys.create(client_id, args.name)
    print(created.key)
    print(
        f"API key {created.key_id} created for client {client_name!r}: store it now, it is not shown again "
        "(send it as the X-API-Key header)",
        file=sys.stderr,
    )
    return 0


def _revoke_key(args: argparse.Namespace) -> int:
    keys, client_id, client_name = _keys(args)
    info = keys.revoke(client_id, args.key_id)
    print(f"API key {info.key_id} ({info.prefix}...) of client {client_name!r} is revoked")
    return 0


def _list_keys(args: argparse.Namespace) -> int:
    import pandas as pd

    from forecasting.io.csv_export import write_csv

    keys, client_id, _ = _keys(args)
    rows = [
        {
            "key_id": k.key_id,
            "name": k.name,
            "prefix": k.prefix,
            "status": "active" if k.active else "revoked",
            "created_at": k.created_at,
            "last_used_at": k.last_used_at,
            "revoked_at": k.revoked_at,
        }
        for k in keys.list_keys(client_id)
    ]
    write_csv(pd.DataFrame(rows, columns=KEY_COLUMNS), args.output)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    if args.workers == 1:
        from forecasting.api.app import create_app

        uvicorn.run(create_app(args.database_url), host=args.host, port=args.port)
        return 0
    if not os.environ.get("FORECASTING_JWT_SECRET"):
        raise ForecastingError(
            "--workers > 1 needs FORECASTING_JWT_SECRET: each worker would otherwise sign tokens with its own secret"
        )
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url  # the workers build the app from the environment
    uvicorn.run(
        "forecasting.api.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers
    )
    return 0


def _keys(args: argparse.Namespace):
    services = services_from_args(args)
    client = services.data.client_by_name(args.client)
    return services.api_keys, client.client_id, client.name


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be a whole number from 1 to 65535, got {text!r}")
    return value

