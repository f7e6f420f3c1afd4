"""Backchannel: a self-hosted chat service for Twilio-compatible Access Tokens."""

__version__ = "0.1.0"
