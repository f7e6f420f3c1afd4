"""The ``backchannel`` console script.

``main`` is the top-level group. Each subcommand group lives in a module of its own and is
registered below with one import and one ``main.add_command`` line.
"""

from __future__ import annotations

from typing import Any

import click

from backchannel import __version__
from backchannel.cli.admin import accounts_group, keys_group, services_group
from backchannel.cli.demo import demo
from backchannel.cli.errors import one_line_errors
from backchannel.cli.server import init, serve
from backchannel.cli.token import token
from backchannel.cli.tokenserver import tokenserver
from backchannel.cli.users import users_group


class _Main(click.Group):
    """The top-level group: whatever a command raises reaches the user as one ``error:`` line."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        with one_line_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        # Subcommands are parsed and run inside this call, so their errors pass through here.
        with one_line_errors():
            return super().invoke(ctx)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="backchannel")
def main() -> None:
    """Backchannel: a self-hosted chat service for Twilio-compatible Access Tokens."""


main.add_command(token)
main.add_command(init)
main.add_command(serve)
main.add_command(accounts_group)
main.add_command(keys_group)
main.add_command(services_group)
main.add_command(users_group)
main.add_command(tokenserver)
main.add_command(demo)

__all__ = ["main"]
