"""Credentials as environment lines (the access-token guide's names), and the file they go to.

The file is created with mode 0600 and never overwritten: the secrets in it are shown once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import click


def env_lines(values: Mapping[str, str]) -> str:
    return "".join(f"{name}={value}\n" for name, value in values.items())


def check_new(env_file: str | None) -> None:
    """Refuse an existing file before anything is created, so no secret is lost."""
    if env_file and os.path.lexists(env_file):
        raise click.ClickException(f"{env_file} already exists; choose another --env-file")


def read_env_file(path: str | None) -> dict[str, str]:
    """The ``NAME=value`` lines of ``path``, as ``emit`` writes them; ``{}`` for no path.
    Blank lines and ``#`` comments are skipped; no quoting or expansion."""
    if not path:
        return {}
    try:
        text = open(path, encoding="utf-8").read()  # noqa: SIM115 - read at once
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not name.strip():
            raise click.ClickException(f"{path}:{number}: expected NAME=value")
        values[name.strip()] = value.strip()
    return values


def emit(values: Mapping[str, str], env_file: str | None) -> None:
    """Print the lines, and write them to ``env_file`` (which must not exist yet)."""
    text = env_lines(values)
    if env_file:
        try:
            fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise click.ClickException(
                f"{env_file} already exists; choose another --env-file"
            ) from None
        with os.fdopen(fd, "w") as file:
            file.write(text)
    click.echo(text, nl=False)
