"""A FastAPI backend that already knows its users hands them chat tokens."""

import os
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backchannel.tokens import AccessToken
from backchannel.tokens.grants import ChatGrant

app = FastAPI()
bearer = HTTPBearer(auto_error=False)
API_TOKENS: dict[str, str] = {}  # stands for your user store: API token -> username


def current_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """Your existing authentication; replace it with your own dependency."""
    if credentials is None or credentials.credentials not in API_TOKENS:
        raise HTTPException(status_code=401, detail="unauthenticated")
    return API_TOKENS[credentials.credentials]


def chat_token(identity: str) -> dict[str, str]:
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
def token(identity: Annotated[str, Depends(current_user)]) -> dict[str, str]:
    return chat_token(identity)
