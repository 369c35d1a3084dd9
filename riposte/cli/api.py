"""`riposte serve` (the API and console) and `riposte token create|list|revoke` (credentials)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from riposte.cli import common


def register(sub: Any) -> None:
    serve = sub.add_parser("serve", help="serve the HTTP API and the web console")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    common.add_data_dir(serve)
    serve.set_defaults(func=_serve)

    token = sub.add_parser("token", help="API tokens: mint, list or revoke them")
    verbs = token.add_subparsers(dest="verb", required=True, metavar="VERB")
    create = verbs.add_parser("create", help="mint a token and print it, once")
    create.add_argument("--role", required=True, choices=["sender", "approver", "auditor", "admin"])
    create.add_argument("--name", required=True, help="who holds it (unique); the audit names them")
    create.add_argument(
        "--source",
        action="append",
        default=[],
        help="an alert source a sender may claim (repeat for more; * for any); senders need one",
    )
    create.add_argument(
        "--expires", default="90d", help="lifetime, like 90d or 12h, or 'never' (90d)"
    )
    common.add_data_dir(create)
    create.set_defaults(func=_create_token)
    listing = verbs.add_parser("list", help="list tokens by holder and role (never the tokens)")
    common.add_data_dir(listing)
    common.add_format(listing)
    listing.set_defaults(func=_list_tokens)
    revoke = verbs.add_parser("revoke", help="revoke a token by its holder's name, at once")
    revoke.add_argument("name", help="the token's name")
    common.add_data_dir(revoke)
    revoke.set_defaults(func=_revoke_token)


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
    from riposte.policy.durations import parse_duration

    settings = common.settings_from(args)
    role = Role(args.role)
    if role is Role.SENDER and not args.source:
        return common.fail(
            "a sender token names the sources it may claim: --source darktrace (or --source '*')",
            common.USAGE,
        )
    if args.source and role not in (Role.SENDER, Role.ADMIN):
        return common.fail(f"--source binds senders; the {role.value} role sends no alerts", 2)
    try:
        expires_in = (
            None if args.expires == "never" else timedelta(seconds=parse_duration(args.expires))
        )
    except ValueError as err:
        return common.fail(f"--expires: {err}", common.USAGE)
    try:
        token = TokenStore.in_data_dir(settings.data_dir).create(
            role, args.name, sources=tuple(args.source), expires_in=expires_in
        )
    except InvalidInput as err:
        return common.fail(str(err), common.USAGE)
    print(token)
    return common.OK


def _list_tokens(args: argparse.Namespace) -> int:
    from riposte.api.tokens import TokenStore

    now = datetime.now(UTC)
    records = TokenStore.in_data_dir(common.settings_from(args).data_dir).records()
    shown = [
        {
            "name": r.name,
            "role": r.role.value,
            "state": r.state(now).value,
            "sources": list(r.sources),
            "created": r.created,
            "expires": r.expires,
            "revoked": r.revoked,
        }
        for r in records
    ]
    if args.format == "json":
        common.print_json(shown)
        return common.OK
    for r in records:
        expires = f"{r.expires:%Y-%m-%d}" if r.expires else "never"
        sources = ",".join(r.sources) or "-"
        print(
            f"{r.name:<24} {r.role.value:<9} {r.state(now).value:<8} "
            f"created {r.created:%Y-%m-%d %H:%M}Z  expires {expires:<10}  sources {sources}"
        )
    return common.OK


def _revoke_token(args: argparse.Namespace) -> int:
    from riposte.api.tokens import TokenStore, UnknownToken

    try:
        record = TokenStore.in_data_dir(common.settings_from(args).data_dir).revoke(args.name)
    except UnknownToken as err:
        return common.fail(str(err))
    assert record.revoked is not None
    print(f"revoked {record.name} ({record.role.value}) at {record.revoked:%Y-%m-%d %H:%M:%S}Z")
    return common.OK
