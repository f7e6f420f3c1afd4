"""``backchannel demo``: the chat web app on a fresh machine, in one command.

The first run creates an embedded SQLite database (``./backchannel-demo.db`` unless
``--database`` says otherwise, its master key beside it) holding an account, an API key, a chat
service with reachability on (so the app shows who is online), two token-server users, ``alice``
and ``bob``, with generated passwords, a ``#general`` channel they are both in and a welcome
message. It prints the logins (the passwords this once: only their argon2 hashes are kept), then
serves the chat service, the token server and the web app, as ``backchannel serve`` does.

Later runs reuse that database and print the logins without the passwords, and how to start
over (delete the database).
"""

from __future__ import annotations

import dataclasses
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from cryptography.fernet import InvalidToken

from backchannel.api import create_app
from backchannel.api.serving import Server, uvicorn_config
from backchannel.chat import channels as channel_rules
from backchannel.chat import membership
from backchannel.chat import messages as message_rules
from backchannel.cli.storage import run_with_store
from backchannel.config import Config
from backchannel.store import Store, accounts, keys, logins, services
from backchannel.store import channels as channel_store
from backchannel.store import members as member_store
from backchannel.store import messages as message_store
from backchannel.store.clock import utcnow
from backchannel.store.keys import signing_key
from backchannel.tokenserver import users as login_users

DEFAULT_DATABASE = "backchannel-demo.db"
ACCOUNT_NAME = "Backchannel demo"
KEY_NAME = "backchannel demo"
SERVICE_NAME = "Backchannel demo"
DEMO_USERS = ("alice", "bob")
CHANNEL = {"FriendlyName": "General", "UniqueName": "general"}
WELCOME_AUTHOR = "backchannel"
WELCOME = (
    "Welcome to Backchannel! Sign in as alice here and as bob in a private window (or another "
    "browser), and chat: messages, typing, unread counts and who is online are live. "
    "Create or join more channels from the channel list."
)


@dataclass(frozen=True)
class Demo:
    """What a demo database holds. ``passwords`` and ``auth_token`` only when just created."""

    account_sid: str
    api_key: str
    api_secret: str = field(repr=False)
    service_sid: str
    channel_sid: str
    created: bool
    passwords: dict[str, str] = field(default_factory=dict, repr=False)
    auth_token: str | None = field(default=None, repr=False)

    def configure(self, config: Config) -> Config:
        """``config`` with the token server minting for this demo's service."""
        return dataclasses.replace(
            config,
            twilio_account_sid=self.account_sid,
            twilio_api_key=self.api_key,
            twilio_api_secret=self.api_secret,
            twilio_chat_service_sid=self.service_sid,
        )


def new_password() -> str:
    """12 characters from an alphabet without look-alikes (0/O, 1/l/I): about 70 bits."""
    alphabet = "23456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(12))


async def _existing(store: Store) -> Demo | None:
    async with store.transaction() as conn:
        found = await accounts.list_accounts(conn)
        account = next((a for a in found if a.friendly_name == ACCOUNT_NAME), None)
        if account is None:
            if found:
                raise click.ClickException(
                    "this database was not made by `backchannel demo`; "
                    "pass another --database (or use `backchannel serve` with it)"
                )
            return None
        listed, _ = await keys.list_keys(conn, account.sid, size=50)
        key = next((k for k in listed if k.friendly_name == KEY_NAME), None)
        service_list, _ = await services.list_services(conn, account.sid, size=50)
        service = next((s for s in service_list if s["friendly_name"] == SERVICE_NAME), None)
        if key is None or service is None:
            raise click.ClickException(
                "the demo database is incomplete; delete it and run `backchannel demo` again"
            )
        try:
            signing = await signing_key(conn, store.box, key.sid)
        except InvalidToken:
            raise click.ClickException(
                "the master key does not open this demo database; delete the database and its "
                "key file and run `backchannel demo` again"
            ) from None
        assert signing is not None
        channel = await channel_store.get_channel(conn, service["sid"], CHANNEL["UniqueName"])
    secret = signing.secret if isinstance(signing.secret, str) else signing.secret.decode()
    return Demo(
        account_sid=account.sid,
        api_key=key.sid,
        api_secret=secret,
        service_sid=service["sid"],
        channel_sid=channel["sid"] if channel else "",
        created=False,
    )


async def _missing_users(store: Store) -> list[str]:
    async with store.transaction() as conn:
        return [name for name in DEMO_USERS if await logins.get_user(conn, name) is None]


async def _create(store: Store) -> Demo:
    """A new demo tenant: account, API key, service (reachability on), #general, a welcome."""
    now = utcnow()
    async with store.transaction() as conn:
        account = await accounts.create_account(conn, ACCOUNT_NAME)
        sid = account.account.sid
        key = await keys.create_key(conn, store.box, sid, KEY_NAME)
        service = await services.create_service(conn, sid, SERVICE_NAME)
        updated = await services.update_service(
            conn, sid, service["sid"], {"reachability_enabled": True}
        )
        assert updated is not None
        service = updated
        form = {name: [value] for name, value in {**CHANNEL, "CreatedBy": DEMO_USERS[0]}.items()}
        channel = await channel_store.create_channel(
            conn, service["sid"], channel_rules.creation(form, now)
        )
        for number, identity in enumerate(DEMO_USERS):
            role = (
                service["default_channel_creator_role_sid"]
                if number == 0
                else service["default_channel_role_sid"]
            )
            values = membership.new_member({"Identity": [identity]}, now)
            await member_store.add_member(
                conn,
                service=service,
                channel_sid=channel["sid"],
                values={**values, "role_sid": role},
                channel_members_limit=membership.channel_members_limit(service),
                user_channels_limit=membership.user_channels_limit(service),
            )
        message = message_rules.new_message({"Body": [WELCOME], "From": [WELCOME_AUTHOR]}, now)
        await message_store.create_message(conn, service["sid"], channel["sid"], message)
    return Demo(
        account_sid=sid,
        api_key=key.key.sid,
        api_secret=key.secret,
        service_sid=service["sid"],
        channel_sid=channel["sid"],
        created=True,
        auth_token=account.auth_token,
    )


async def prepare(store: Store, *, passwords: dict[str, str] | None = None) -> Demo:
    """The demo in ``store`` (migrated): the one already there, or a new one.

    A demo user that is missing (a new demo, or one removed with ``backchannel users remove``)
    is added with a new password, returned in ``passwords`` (only then). ``passwords``
    (username → password) replaces the generated ones; tests use it.
    """
    demo = await _existing(store) or await _create(store)
    chosen = {
        name: (passwords or {}).get(name) or new_password() for name in await _missing_users(store)
    }
    for name, password in chosen.items():
        await login_users.add_user(store, name, password, clock=time.time)
    return dataclasses.replace(demo, passwords=chosen)


def demo_config(database: Path, base: Config | None = None) -> Config:
    """The settings of the demo: ``base`` (the environment) on the SQLite file ``database``,
    with its master key in a file beside it unless one is given."""
    config = base or Config.from_env()
    changes: dict[str, Any] = {"database_url": f"sqlite:///{database}"}
    if not config.master_key and not config.master_key_file:
        changes["master_key_file"] = str(database.with_suffix(".key"))
    return dataclasses.replace(config, **changes)


def site_url(host: str, port: int) -> str:
    shown = "localhost" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - only shown
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def report(demo: Demo, url: str, database: Path) -> str:
    lines = ["", f"Backchannel demo: open {url}", ""]
    if demo.passwords:
        lines.append("Sign in as:")
        width = max(len(name) for name in demo.passwords)
        for name, password in demo.passwords.items():
            lines.append(f"  {name:<{width}}  password {password}")
        lines += ["", "These passwords are shown this once (only their hashes are stored)."]
    known = [name for name in DEMO_USERS if name not in demo.passwords]
    if known:
        names = " and ".join(known)
        lines += [
            f"Sign in as {names}, with the passwords printed when {database} was created.",
            f"Lost them? Stop the server, delete {database} and run `backchannel demo` again",
            "for a fresh demo with new passwords.",
        ]
    if demo.created:
        lines.append(f"New demo database: {database}")
    lines += [
        "",
        "Chat as both users at once: one in a normal window, one in a private window.",
        "Ctrl-C stops the server.",
        "",
    ]
    return "\n".join(lines)


@click.command()
@click.option(
    "--database",
    "database",
    default=DEFAULT_DATABASE,
    show_default=True,
    envvar="BACKCHANNEL_DEMO_DATABASE",
    show_envvar=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The demo's SQLite file: created on the first run, reused after.",
)
@click.option("--host", envvar="BACKCHANNEL_HOST", show_envvar=True, help="Interface to bind.")
@click.option("--port", type=int, envvar="BACKCHANNEL_PORT", show_envvar=True, help="TCP port.")
@click.option(
    "--token-ttl",
    type=click.IntRange(10, 86400),
    envvar="BACKCHANNEL_TOKENSERVER_TOKEN_TTL",
    show_envvar=True,
    help="Chat token lifetime in seconds (default 3600); try 60 to watch tokens renew.",
)
def demo(database: Path, host: str | None, port: int | None, token_ttl: int | None) -> None:
    """Create a demo (two users, a channel) on first run, then serve the chat web app."""
    if database.parent and not database.parent.exists():
        raise click.ClickException(f"the folder {database.parent} does not exist")
    flags: dict[str, Any] = {"host": host, "port": port, "chat_token_ttl": token_ttl}
    base = dataclasses.replace(
        Config.from_env(), **{k: v for k, v in flags.items() if v is not None}
    )
    config = demo_config(database, base)
    config.load_master_key()  # create it (mode 0600) or fail here, in one line
    found = run_with_store(config, prepare)
    config = found.configure(config)
    url = site_url(config.host, config.port)
    click.echo(report(found, url, database))
    server = Server(
        uvicorn_config(create_app(config), host=config.host, port=config.port, log_level="warning"),
        tune_gc=True,
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _sig, _frame: None)
    server.run()
    if not server.started:
        raise click.ClickException(
            f"the server could not start on {config.host}:{config.port} (is the port in use? "
            "try --port)"
        )
