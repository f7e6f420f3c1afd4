"""Day-to-day administration on the database: ``accounts``, ``keys`` and ``services``.

Secrets appear once, when they are created; listings never show them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from backchannel.chat import validation
from backchannel.chat.sids import ACCOUNT, API_KEY, is_sid
from backchannel.cli.envfile import check_new, emit
from backchannel.cli.server import ENV_FILE_HELP, create_tenant
from backchannel.cli.storage import database_option, load_config, run_with_store
from backchannel.store import Store, accounts, keys, services

_ALL = 1000


def _account_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--account-sid",
        envvar="TWILIO_ACCOUNT_SID",
        show_envvar=True,
        required=True,
        metavar="AC…",
        help="The account to act on.",
    )(command)


async def _require_account(store: Store, account_sid: str) -> None:
    if not is_sid(account_sid, ACCOUNT):
        raise click.UsageError(f"{account_sid!r} is not an Account SID (AC…)")
    async with store.transaction() as conn:
        if await accounts.get_account(conn, account_sid) is None:
            raise click.ClickException(f"no account {account_sid}")


@click.group("accounts")
def accounts_group() -> None:
    """Accounts (tenants)."""


@accounts_group.command("create")
@click.option("--friendly-name", default="Backchannel", show_default=True)
@click.option("--env-file", metavar="FILE", help=ENV_FILE_HELP)
@database_option
def create_account(friendly_name: str, env_file: str | None, database_url: str | None) -> None:
    """Create an account with an API key and a chat service; print their credentials."""
    check_new(env_file)
    name = validation.friendly_name(friendly_name)
    values = run_with_store(
        load_config(database_url),
        lambda store: create_tenant(store, name, service_name="Backchannel Chat"),
    )
    emit(values, env_file)


@click.group("keys")
def keys_group() -> None:
    """API keys of an account."""


@keys_group.command("create")
@_account_option
@click.option("--friendly-name", default="", help="A name for the key (at most 64 characters).")
@database_option
def create_key(account_sid: str, friendly_name: str, database_url: str | None) -> None:
    """Create an API key; its secret is printed once."""
    name = validation.text_param("--friendly-name", friendly_name, max_length=64)

    async def run(store: Store) -> dict[str, str]:
        await _require_account(store, account_sid)
        async with store.transaction() as conn:
            new = await keys.create_key(conn, store.box, account_sid, name)
        return {"TWILIO_API_KEY": new.key.sid, "TWILIO_API_SECRET": new.secret}

    emit(run_with_store(load_config(database_url), run), None)


@keys_group.command("list")
@_account_option
@database_option
def list_keys(account_sid: str, database_url: str | None) -> None:
    """List the account's API keys (SID, creation date, name)."""

    async def run(store: Store) -> list[keys.ApiKey]:
        await _require_account(store, account_sid)
        async with store.transaction() as conn:
            found, _ = await keys.list_keys(conn, account_sid, size=_ALL)
        return found

    for key in run_with_store(load_config(database_url), run):
        click.echo(f"{key.sid}  {key.date_created:%Y-%m-%d %H:%M:%S}Z  {key.friendly_name}")


@keys_group.command("revoke")
@_account_option
@click.argument("key_sid", metavar="SK…")
@database_option
def revoke_key(account_sid: str, key_sid: str, database_url: str | None) -> None:
    """Delete an API key: it and every token it signed stop working at once."""
    if not is_sid(key_sid, API_KEY):
        raise click.UsageError(f"{key_sid!r} is not an API Key SID (SK…)")

    async def run(store: Store) -> bool:
        await _require_account(store, account_sid)
        async with store.transaction() as conn:
            return await keys.delete_key(conn, account_sid, key_sid)

    if not run_with_store(load_config(database_url), run):
        raise click.ClickException(f"no API key {key_sid} in account {account_sid}")
    click.echo(f"revoked {key_sid}")


@click.group("services")
def services_group() -> None:
    """Chat services of an account."""


@services_group.command("create")
@_account_option
@click.option("--friendly-name", required=True)
@database_option
def create_service(account_sid: str, friendly_name: str, database_url: str | None) -> None:
    """Create a chat service (with its four default roles); print its SID line."""
    name = validation.friendly_name(friendly_name, name="--friendly-name", required=True)

    async def run(store: Store) -> dict[str, str]:
        await _require_account(store, account_sid)
        async with store.transaction() as conn:
            service = await services.create_service(conn, account_sid, name)
        return {"TWILIO_CHAT_SERVICE_SID": service["sid"]}

    emit(run_with_store(load_config(database_url), run), None)


@services_group.command("list")
@_account_option
@database_option
def list_services(account_sid: str, database_url: str | None) -> None:
    """List the account's chat services (SID, creation date, name)."""

    async def run(store: Store) -> list[dict[str, object]]:
        await _require_account(store, account_sid)
        async with store.transaction() as conn:
            found, _ = await services.list_services(conn, account_sid, size=_ALL)
        return found

    for service in run_with_store(load_config(database_url), run):
        click.echo(
            f"{service['sid']}  {service['date_created']:%Y-%m-%d %H:%M:%S}Z  "
            f"{service['friendly_name']}"
        )
