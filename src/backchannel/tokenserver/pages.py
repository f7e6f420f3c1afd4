"""The two HTML pages of the token server: the login form and the signed-in page.

Plain HTML with no script, so the strict Content-Security-Policy of ``SECURITY_HEADERS`` holds.
Every value is escaped. ``safe_next`` keeps redirects on this site (no open redirect).
"""

from __future__ import annotations

from html import escape

from starlette.responses import HTMLResponse

from backchannel.tokenserver.csrf import FIELD

_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}"
    "label,input,button{display:block;width:100%;box-sizing:border-box}"
    "input{margin:.25rem 0 1rem;padding:.5rem}button{padding:.5rem}"
    ".error{color:#a00}"
)

HTML_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
}


def safe_next(next_url: str | None, default: str) -> str:
    """``next_url`` when it is a path on this site; ``default`` otherwise."""
    if (
        not next_url
        or not next_url.startswith("/")
        or next_url.startswith(("//", "/\\"))
        or any(ord(c) < 0x21 or c == "\\" for c in next_url)
    ):
        return default
    return next_url


def _page(title: str, body: str, status: int, headers: dict[str, str] | None) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    headers = {**HTML_SECURITY_HEADERS, **(headers or {})}
    return HTMLResponse(html, status_code=status, headers=headers)


def login_page(
    base: str,
    next_url: str,
    *,
    error: str | None = None,
    username: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        f"<h1>Sign in</h1>{alert}"
        f'<form method="post" action="{escape(base)}/login">'
        f'<label for="username">Username</label>'
        f'<input id="username" name="username" autocomplete="username" required '
        f'value="{escape(username)}">'
        f'<label for="password">Password</label>'
        f'<input id="password" name="password" type="password" '
        f'autocomplete="current-password" required>'
        f'<input type="hidden" name="next" value="{escape(next_url)}">'
        f'<button type="submit">Sign in</button></form>'
    )
    return _page("Sign in", body, status, headers)


def home_page(base: str, identity: str, csrf_token: str) -> HTMLResponse:
    body = (
        f"<h1>Signed in</h1><p>You are signed in as <strong>{escape(identity)}</strong>. "
        f"Chat clients get their token from <code>POST {escape(base)}/token</code>.</p>"
        f'<form method="post" action="{escape(base)}/logout">'
        f'<input type="hidden" name="{FIELD}" value="{escape(csrf_token)}">'
        f'<button type="submit">Sign out</button></form>'
    )
    return _page("Signed in", body, 200, None)
