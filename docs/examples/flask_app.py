"""A Flask backend that already logs its users in hands them chat tokens."""

import os

from flask import Flask, jsonify, session

from backchannel.tokens import AccessToken
from backchannel.tokens.grants import ChatGrant

app = Flask(__name__)
app.secret_key = os.environ["FLASK_SECRET_KEY"]  # your app's own session key
app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")


def chat_token(identity):
    token = AccessToken(
        os.environ["TWILIO_ACCOUNT_SID"],
        os.environ["TWILIO_API_KEY"],
        os.environ["TWILIO_API_SECRET"],
        identity=identity,
        ttl=3600,
    )
    token.add_grant(ChatGrant(service_sid=os.environ["TWILIO_CHAT_SERVICE_SID"]))
    return {"token": token.to_jwt(), "identity": identity}


@app.post("/token")
def token():
    identity = session.get("username")  # set by your existing login view
    if identity is None:
        return jsonify(error="unauthenticated"), 401
    return jsonify(chat_token(identity))
