"""``backchannel token``: mint a chat token, or inspect one a client was refused with.

The credentials come from the variables the access-token guide uses (``TWILIO_ACCOUNT_SID``,
``TWILIO_API_KEY``, ``TWILIO_API_SECRET``, ``TWILIO_CHAT_SERVICE_SID``) or from flags; every
other flag can be set from a ``BACKCHANNEL_TOKEN_*`` variable. The API key secret is never
printed, not even in an error.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

import click

from backchannel.cli import inspection
from backchannel.cli.errors import CommandError
from backchannel.cli.inspection import UNCHECKED_HINT, Inspection, expiry_words, iso
from backchannel.tokens import AccessToken, TokenError, codec
from backchannel.tokens.grants import ChatGrant


@click.group()
def token() -> None:
    """Mint and inspect Access Tokens."""


def _required(value: str | None, flag: str, envvar: str, what: str) -> str:
    if not value:
        raise click.UsageError(f"no {what}: pass {flag} or set {envvar}")
    return value


def _redact(message: str, secret: str) -> str:
    return message.replace(secret, "<secret>") if secret else message


@token.command()
@click.option("--identity", envvar="BACKCHANNEL_TOKEN_IDENTITY", show_envvar=True,
              help="Who the token speaks for (the chat user's identity).")
@click.option("--chat-service-sid", envvar="TWILIO_CHAT_SERVICE_SID", show_envvar=True,
              metavar="IS…", help="The Chat Service the token grants access to.")
@click.option("--ttl", type=int, default=3600, show_default=True, envvar="BACKCHANNEL_TOKEN_TTL",
              show_envvar=True, help="Lifetime in seconds (at most 86400).")
@click.option("--region", envvar="BACKCHANNEL_TOKEN_REGION", show_envvar=True,
              help="Region for the token header (twr), e.g. us1.")
@click.option("--endpoint-id", envvar="BACKCHANNEL_TOKEN_ENDPOINT_ID", show_envvar=True,
              help="Endpoint id of the chat grant (one per device).")
@click.option("--json", "as_json", is_flag=True, envvar="BACKCHANNEL_TOKEN_JSON",
              show_envvar=True, help="Print a JSON object instead of the bare token.")
@click.option("--account-sid", envvar="TWILIO_ACCOUNT_SID", show_envvar=True, metavar="AC…",
              help="Account SID.")
@click.option("--api-key", envvar="TWILIO_API_KEY", show_envvar=True, metavar="SK…",
              help="API Key SID that signs the token.")
@click.option("--api-secret", envvar="TWILIO_API_SECRET", show_envvar=True, metavar="SECRET",
              help="Secret of that API key (prefer the variable: flags show in `ps`).")
def chat(
    identity: str | None,
    chat_service_sid: str | None,
    ttl: int,
    region: str | None,
    endpoint_id: str | None,
    as_json: bool,
    account_sid: str | None,
    api_key: str | None,
    api_secret: str | None,
) -> None:
    """Mint a chat token and print it (the JWT alone, on one line)."""
    identity = _required(identity, "--identity", "BACKCHANNEL_TOKEN_IDENTITY", "identity")
    service_sid = _required(
        chat_service_sid, "--chat-service-sid", "TWILIO_CHAT_SERVICE_SID", "Chat Service SID"
    )
    account_sid = _required(account_sid, "--account-sid", "TWILIO_ACCOUNT_SID", "Account SID")
    api_key = _required(api_key, "--api-key", "TWILIO_API_KEY", "API Key SID")
    secret = _required(api_secret, "--api-secret", "TWILIO_API_SECRET", "API key secret")

    access_token = AccessToken(
        account_sid, api_key, secret, identity=identity, ttl=ttl, region=region
    )
    access_token.add_grant(ChatGrant(service_sid=service_sid, endpoint_id=endpoint_id))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            jwt = access_token.to_jwt()
        except TokenError as exc:
            raise CommandError(f"{_redact(exc.message, secret)} (error {exc.code})") from None
    for warning in caught:
        message = " ".join(str(warning.message).split())
        click.echo(f"warning: {_redact(message, secret)}", err=True)

    if not as_json:
        click.echo(jwt)
        return
    expires_at = _claims_of_own_token(jwt)["exp"]
    click.echo(json.dumps({
        "token": jwt,
        "identity": identity,
        "service_sid": service_sid,
        "expires_at": iso(expires_at),
        "expires_at_epoch": expires_at,
        "ttl": ttl,
    }, indent=2))


def _claims_of_own_token(jwt: str) -> dict[str, Any]:
    # Read back what was just minted, so expires_at is exactly the token's exp.
    return codec.parse_object(codec.b64decode(jwt.split(".")[1].encode("ascii")), "payload")


@token.command()
@click.argument("jwt", metavar="JWT")
@click.option("--secret", envvar="TWILIO_API_SECRET", show_envvar=True, metavar="SECRET",
              help="Secret of the API key that signed the token, to check its signature.")
def inspect(jwt: str, secret: str | None) -> None:
    """Show a token's header, claims and times, then every check with its Twilio code.

    JWT may be - to read the token from stdin. Exits 0 only when the token is valid; without a
    secret the signature cannot be checked and the exit status is 1. Inspect does not know which
    account the API key belongs to, so it takes the token's own subject (sub) on trust.
    """
    if jwt == "-":
        jwt = sys.stdin.read().strip()
    report = inspection.inspect_token(jwt, secret or None, clock=inspection.clock)
    click.echo(_render(report))
    if not report.valid:
        raise click.exceptions.Exit(1)


def _render(report: Inspection) -> str:
    lines = []
    for title, obj in (("header", report.header), ("claims", report.claims)):
        lines.append(f"{title}:")
        if obj is None:
            lines.append("  (cannot be decoded)")
        else:
            lines.extend("  " + line for line in json.dumps(obj, indent=2).splitlines())
    if report.claims is not None:
        lines.append("times:")
        lines.extend(f"  {line}" for line in report.times)
    lines.append("checks:")
    lines.extend(str(check) for check in report.checks)
    lines.append(_verdict(report))
    return "\n".join(lines)


def _verdict(report: Inspection) -> str:
    verified = report.verified
    if verified is not None:
        expiry = expiry_words(verified.expires_at, report.now)
        return f"valid: a token for {verified.identity!r}, {expiry}"
    if report.error is not None:
        error = report.error
        return f"invalid: {type(error).__name__} ({error.code}): {error.message}"
    return f"unverified: the signature could not be checked: {UNCHECKED_HINT}"
