"""The ASGI app: Twilio-compatible REST (``/v2/…``, ``/2010-04-01/…``), client endpoints, health."""

from backchannel.api.app import create_app

__all__ = ["create_app"]
