"""`riposte serve` (the API and console) and `riposte token create` (credentials for them)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from riposte.cli import common


def register(sub: Any) -> None:
    serve = sub.add_parser("serve", help="serve the HTTP API and the web console")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    common.add_data_dir(serve)
    serve.set_defaults(func=_serve)

    token = sub.add_parser("token", help="API tokens: mint one, or list who holds them")
    verbs = token.add_subparsers(dest="verb", required=True, metavar="VERB")
    create = verbs.add_parser("create", help="mint a token and print it, once")
    create.add_argument("--role", required=True, choices=["sender", "approver", "auditor", "admin"])
    create.add_argument("--name", required=True, help="who holds it; the audit names them")
    common.add_data_dir(create)
    create.set_defaults(func=_create_token)
    listing = verbs.add_parser("list", help="list tokens by holder and role (never the tokens)")
    common.add_data_dir(listing)
    common.add_format(listing)
    listing.set_defaults(func=_list_tokens)


def _serve(args: argparse.Namespace) -> int:
    from riposte.api.server import serve
    from riposte.cli.stack import until_signalled
    from riposte.errors import RiposteError
    from riposte.logging import configure_logging
    from riposte.service import connect

    settings = common.settings_from(args)
    configure_logging(settings.log_format)

    async def go(stop: asyncio.Event) -> None:
        client = await connect(settings)
        await serve(settings, client, args.host, args.port, stop)

    try:
        asyncio.run(until_signalled(go))
    except RiposteError as err:
        return common.fail(str(err))
    return common.OK


def _create_token(args: argparse.Namespace) -> int:
    from riposte.api.tokens import Role, TokenStore
    from riposte.errors import InvalidInput

    settings = common.settings_from(args)
    try:
        token = TokenStore.in_data_dir(settings.data_dir).create(Role(args.role), args.name)
    except InvalidInput as err:
        return common.fail(str(err), common.USAGE)
    print(token)
    return common.OK


def _list_tokens(args: argparse.Namespace) -> int:
    from riposte.api.tokens import TokenStore

    records = TokenStore.in_data_dir(common.settings_from(args).data_dir).records()
    shown = [{"name": r.name, "role": r.role.value, "created": r.created} for r in records]
    if args.format == "json":
        common.print_json(shown)
    else:
        for row in shown:
            print(f"{row['name']:<24} {row['role']:<9} {row['created']:%Y-%m-%d %H:%M:%S}Z")
    return common.OK
