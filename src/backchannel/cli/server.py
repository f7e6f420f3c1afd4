"""``backchannel init`` (first account, key and chat service) and ``backchannel serve``."""

from __future__ import annotations

import signal

import click
from sqlalchemy import func, select

from backchannel.api import create_app
from backchannel.api.serving import Server, uvicorn_config
from backchannel.cli.envfile import check_new, emit, read_env_file
from backchannel.cli.storage import database_option, load_config, run_with_store
from backchannel.store import Store, accounts, keys, services
from backchannel.store.tables import accounts as accounts_table

ENV_FILE_HELP = "Also write the lines to this file (mode 0600; it must not exist yet)."
READ_ENV_FILE_HELP = (
    "Read TWILIO_*/BACKCHANNEL_* lines from this file (as `init --env-file` writes them); "
    "variables already in the environment win."
)


async def create_tenant(store: Store, friendly_name: str, *, service_name: str) -> dict[str, str]:
    """A new account with one API key and one chat service, as the guide's variables."""
    async with store.transaction() as conn:
        account = await accounts.create_account(conn, friendly_name)
        sid = account.account.sid
        key = await keys.create_key(conn, store.box, sid, "backchannel init")
        service = await services.create_service(conn, sid, service_name)
    return {
        "TWILIO_ACCOUNT_SID": sid,
        "TWILIO_AUTH_TOKEN": account.auth_token,
        "TWILIO_API_KEY": key.key.sid,
        "TWILIO_API_SECRET": key.secret,
        "TWILIO_CHAT_SERVICE_SID": service["sid"],
    }


@click.command()
@click.option("--env-file", metavar="FILE", help=ENV_FILE_HELP)
@database_option
def init(env_file: str | None, database_url: str | None) -> None:
    """Create the database and the first account, API key and chat service."""
    check_new(env_file)
    config = load_config(database_url)

    async def first_tenant(store: Store) -> dict[str, str]:
        async with store.transaction() as conn:
            count = (await conn.execute(select(func.count()).select_from(accounts_table))).scalar()
        if count:
            raise click.ClickException(
                "this database is already initialized; use `backchannel accounts create` "
                "for another account"
            )
        return await create_tenant(store, "Backchannel", service_name="Backchannel Chat")

    emit(run_with_store(config, first_tenant), env_file)


@click.command()
@click.option("--host", envvar="BACKCHANNEL_HOST", show_envvar=True, help="Interface to bind.")
@click.option("--port", type=int, envvar="BACKCHANNEL_PORT", show_envvar=True, help="TCP port.")
@click.option("--env-file", metavar="FILE", help=READ_ENV_FILE_HELP)
@database_option
def serve(
    host: str | None, port: int | None, env_file: str | None, database_url: str | None
) -> None:
    """Run the chat service (migrations first). SIGTERM or Ctrl-C shut it down gracefully.

    The token server at /auth mints with TWILIO_ACCOUNT_SID, TWILIO_API_KEY, TWILIO_API_SECRET
    and TWILIO_CHAT_SERVICE_SID (from the environment or --env-file).
    """
    values = read_env_file(env_file)
    config = load_config(database_url, env_file_values=values, host=host, port=port)
    config.load_master_key()  # fail here, in one line, rather than inside the server
    server = Server(
        uvicorn_config(create_app(config), host=config.host, port=config.port, log_level="info"),
        tune_gc=True,
    )
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the handler
    # it found; a no-op one makes that graceful stop exit with status 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _sig, _frame: None)
    server.run()
    if not server.started:
        raise click.ClickException(f"the server could not start on {config.host}:{config.port}")
