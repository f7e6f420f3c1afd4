"""Cross-site request forgery: two checks, both on every state-changing request.

1. **Same origin** (every POST: login, logout, token). A current browser says where a request
   comes from: ``Sec-Fetch-Site`` must be ``same-origin`` (or ``none``: typed by the user); a
   browser that sends no ``Sec-Fetch-Site`` must send an ``Origin`` whose host is the request's
   ``Host`` or the origin of ``public_url``. ``Origin: null`` is refused. A request with
   neither header does not come from a current browser (curl, a mobile app) and goes on to
   check 2 and to authentication.
2. **Synchronizer token** (every POST authenticated by the session cookie: logout, token). The
   session's random CSRF token, given out by ``POST /login`` and ``GET /me``, must come back in
   the ``X-CSRF-Token`` header (or a ``csrf_token`` form field); it is compared in constant time.

Requests authenticated with ``Authorization: Bearer`` need no CSRF token: a browser never adds
that header on its own. The session cookie is also ``SameSite=Lax``, so cross-site POSTs do not
carry it in the first place; the checks above do not rely on that.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import Request

from backchannel.tokenserver.errors import CsrfError

HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
_ALLOWED_SITES = frozenset({"same-origin", "none"})


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]`` of a URL, lower-cased; None for anything else."""
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_same_origin(request: Request, trusted_origin: str | None) -> None:
    """Refuse (403) a request a browser sent from another site."""
    origin = request.headers.get("origin")
    if origin is not None and trusted_origin is not None and origin.lower() == trusted_origin:
        return
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site.lower() not in _ALLOWED_SITES:
            raise CsrfError(f"cross-site request refused (Sec-Fetch-Site: {site})")
        return
    if origin is None:
        return  # not a browser, or one too old to say: the CSRF token and SameSite remain
    host = request.headers.get("host", "").lower()
    if origin == "null" or not host or urlsplit(origin).netloc.lower() != host:
        raise CsrfError(f"cross-origin request refused (Origin: {origin})")


def check_token(expected: str, given: str | None) -> None:
    """Refuse (403) a cookie-authenticated request without the session's CSRF token."""
    if not given:
        raise CsrfError(f"the {HEADER} header (or the {FIELD} form field) is required")
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass")):
        raise CsrfError("the CSRF token does not match this session")
