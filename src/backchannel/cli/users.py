"""``backchannel users``: the token server's users (who may log in and get a chat token).

Passwords are prompted twice (hidden) or read from the first line of stdin with
``--password-stdin``; they are stored as argon2id hashes. An API token is printed once, alone on
stdout (its expiry goes to stderr), and only its hash is kept.
"""

from __future__ import annotations

import sys
import time

import click

from backchannel.cli.storage import database_option, load_config, run_with_store
from backchannel.tokenserver import users


@click.group("users")
def users_group() -> None:
    """Users of the token server (POST /auth/login, API tokens)."""


@users_group.command("add")
@click.argument("name")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@database_option
def add_user(name: str, password_stdin: bool, database_url: str | None) -> None:
    """Add a user; NAME is also the chat identity of its tokens."""
    problem = users.username_problem(name)
    if problem:
        raise click.UsageError(problem)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    run_with_store(
        load_config(database_url),
        lambda store: users.add_user(store, name, password, clock=time.time),
    )
    click.echo(f"added {name}")


@users_group.command("list")
@database_option
def list_users(database_url: str | None) -> None:
    """List the users: name, creation date, API tokens that have not expired."""
    found = run_with_store(
        load_config(database_url), lambda store: users.list_users(store, clock=time.time)
    )
    for user in found:
        tokens = f"{user.api_tokens} API token" + ("" if user.api_tokens == 1 else "s")
        click.echo(f"{user.username}  {user.date_created:%Y-%m-%d %H:%M:%S}Z  {tokens}")


@users_group.command("remove")
@click.argument("name")
@database_option
def remove_user(name: str, database_url: str | None) -> None:
    """Remove a user, its sessions and its API tokens (chat tokens already minted run out)."""
    run_with_store(load_config(database_url), lambda store: users.remove_user(store, name))
    click.echo(f"removed {name}")


@users_group.command("api-token")
@click.argument("name")
@click.option("--ttl-days", type=int, default=30, show_default=True,
              help=f"Days the token works (1 to {users.MAX_API_TOKEN_DAYS}).")
@database_option
def api_token(name: str, ttl_days: int, database_url: str | None) -> None:
    """Issue an API token for a user (Authorization: Bearer …); it is shown once."""
    token, expires_at = run_with_store(
        load_config(database_url),
        lambda store: users.issue_api_token(store, name, days=ttl_days, clock=time.time),
    )
    click.echo(token)
    click.echo(f"expires {expires_at:%Y-%m-%dT%H:%M:%S}Z; it is not shown again", err=True)
