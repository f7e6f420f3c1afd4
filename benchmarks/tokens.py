"""Mint and verify Access Tokens with Backchannel and with twilio-python, in one run.

    python benchmarks/tokens.py [--rounds 7] [--number 20000]

Both sides mint the same chat token (same account, key, 43-byte secret, identity, service). Cold
verification gives each call a token it has not seen: tokens are minted up front, then each is
verified once. twilio-python's verifying call is ``AccessToken.from_jwt(token, secret)``. Rounds
alternate between the two libraries so machine noise hits both alike; the median round counts.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator

from twilio.jwt.access_token import AccessToken as TwilioAccessToken
from twilio.jwt.access_token.grants import ChatGrant as TwilioChatGrant

from backchannel.tokens import AccessToken, SigningKey, TokenVerifier
from backchannel.tokens.grants import ChatGrant

ACCOUNT = "AC" + "1" * 32
KEY = "SK" + "2" * 32
SERVICE = "IS" + "3" * 32
SECRET = "k" * 43  # the length of a Twilio API key secret is 32; PyJWT warns below 32 bytes


def per_call(operation: Callable[[], object], number: int) -> float:
    """Microseconds per call of ``operation``."""
    start = time.perf_counter()
    for _ in range(number):
        operation()
    return (time.perf_counter() - start) / number * 1e6


def cold(verify: Callable[[str], object], tokens: list[str]) -> Callable[[], object]:
    it: Iterator[str] = iter(tokens)
    return lambda: verify(next(it))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=20000)
    args = parser.parse_args()

    ours = AccessToken(ACCOUNT, KEY, SECRET, identity="alice", grants=[ChatGrant(SERVICE)])
    theirs = TwilioAccessToken(ACCOUNT, KEY, SECRET, identity="alice")
    theirs.add_grant(TwilioChatGrant(service_sid=SERVICE))
    verifier = TokenVerifier({KEY: SigningKey(SECRET, ACCOUNT)})

    def twilio_verify(token: str) -> object:
        return TwilioAccessToken.from_jwt(token, SECRET)

    results: dict[str, list[float]] = {
        name: [] for name in ("mint ours", "mint twilio", "verify ours", "verify twilio")
    }
    for _ in range(args.rounds):
        results["mint ours"].append(per_call(ours.to_jwt, args.number))
        results["mint twilio"].append(per_call(theirs.to_jwt, args.number))
        our_tokens = [ours.to_jwt() for _ in range(args.number)]
        their_tokens = [theirs.to_jwt() for _ in range(args.number)]
        results["verify ours"].append(per_call(cold(verifier.verify, our_tokens), args.number))
        results["verify twilio"].append(per_call(cold(twilio_verify, their_tokens), args.number))

    median = {name: statistics.median(times) for name, times in results.items()}
    print(f"{'operation':<16}{'µs/call (median)':>18}{'min':>10}{'max':>10}")
    for name, times in results.items():
        print(f"{name:<16}{median[name]:>18.2f}{min(times):>10.2f}{max(times):>10.2f}")
    mint_ratio = median["mint twilio"] / median["mint ours"]
    verify_ratio = median["verify twilio"] / median["verify ours"]
    print(f"mint:   Backchannel is {mint_ratio:.2f}x twilio-python (goal 3x)")
    print(f"verify: Backchannel is {verify_ratio:.2f}x twilio-python, cold (goal 5x)")


if __name__ == "__main__":
    main()
