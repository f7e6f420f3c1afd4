"""How the CLI fails: one line on stderr, ``error: <message>``, and a non-zero exit.

Exit status 2 for a usage error (as click does), 1 for everything else. ``one_line_errors``
turns whatever a command raises into a ``CommandError``: click's own usage errors, the
``BackchannelError`` of any layer (with its Twilio code), and, as a last resort, a bug; never a
traceback.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import click

from backchannel.errors import BackchannelError


class CommandError(click.ClickException):
    """A failure shown as the single line ``error: <message>``; exit status 1."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))  # one line, whatever the message held

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", file=file, err=file is None)


class CommandUsageError(CommandError):
    """The command line itself is wrong; exit status 2, as click gives."""

    exit_code = 2


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Re-raise any failure inside the block as a ``CommandError``."""
    try:
        yield
    except (CommandError, click.exceptions.NoArgsIsHelpError):
        raise  # already one line / the help page a bare group prints
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        raise CommandUsageError(exc.format_message() + hint) from exc
    except click.ClickException as exc:
        raise CommandError(exc.format_message()) from exc
    except BackchannelError as exc:
        raise CommandError(f"{exc.message} (error {exc.code})") from exc
    except (click.exceptions.Exit, click.Abort, EOFError):
        raise  # normal exits and interrupts: click reports them itself
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise  # click quiets a closed pipe
        raise CommandError(str(exc)) from exc
    except Exception as exc:
        raise CommandError(f"unexpected {type(exc).__name__}: {exc}") from exc
