"""``backchannel tokenserver``: the token server alone, at the same ``/auth/…`` paths.

It reads the users from the database (``--database-url``) and mints with the access-token
guide's variables, as ``backchannel serve`` does; the chat service may run elsewhere.
"""

from __future__ import annotations

import click
import uvicorn

from backchannel.cli.envfile import read_env_file
from backchannel.cli.server import READ_ENV_FILE_HELP
from backchannel.cli.storage import database_option, load_config
from backchannel.tokenserver import create_standalone_app


@click.command("tokenserver")
@click.option("--host", envvar="BACKCHANNEL_HOST", show_envvar=True, help="Interface to bind.")
@click.option("--port", type=int, envvar="BACKCHANNEL_PORT", show_envvar=True, help="TCP port.")
@click.option("--env-file", metavar="FILE", help=READ_ENV_FILE_HELP)
@database_option
def tokenserver(
    host: str | None, port: int | None, env_file: str | None, database_url: str | None
) -> None:
    """Run the token server alone: login, API tokens, POST /auth/token."""
    values = read_env_file(env_file)
    config = load_config(database_url, env_file_values=values, host=host, port=port)
    config.load_master_key()  # fail here, in one line, rather than inside the server
    app = create_standalone_app(config)  # ConfigError for half-given TWILIO_* settings
    server = uvicorn.Server(
        uvicorn.Config(app, host=config.host, port=config.port, log_level="info", lifespan="on")
    )
    server.run()
    if not server.started:
        raise click.ClickException(f"the server could not start on {config.host}:{config.port}")
