"""Who may see the dashboard and act in it: the token, the login cookie, the bearer header,
CSRF, and the rule that only loopback may go without a token.

Pure helpers plus one ASGI middleware. The session cookie holds an HMAC of the token, never
the token itself, so a leaked cookie does not give the token away; every comparison goes
through ``hmac.compare_digest``. CSRF is a double-submit token: a random value in an HttpOnly,
SameSite=Strict cookie that every form repeats in a hidden field (htmx in a header).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from urllib.parse import parse_qs, quote

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobmodule.activities import JobModuleError

SESSION_COOKIE = "jm_session"
CSRF_COOKIE = "jm_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
TOKEN_ENV = "JOBS_DASHBOARD_TOKEN"
LOGIN_PATH = "/login"
STATIC_PREFIX = "/static/"
"""Reachable without the token: the login form and the assets it uses."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 64 * 1024
"""The dashboard's forms carry ids and a token; anything larger is not one of them."""


class HostNotAllowedError(JobModuleError):
    """A non-loopback bind without a token: anyone on the network could operate the jobs."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-loopback ``host`` unless a token protects the dashboard."""
    if not token and not is_loopback(host):
        raise HostNotAllowedError(
            f"refusing to serve the dashboard on {host}: it is not loopback and "
            f"{TOKEN_ENV} is not set. Set {TOKEN_ENV} to a long random secret (every page "
            "and action will then ask for it), or bind 127.0.0.1."
        )


def session_value(token: str) -> str:
    """What the session cookie holds for ``token``: an HMAC of it, not the token."""
    return hmac.new(token.encode(), b"jobmodule-dashboard-session", hashlib.sha256).hexdigest()


def same(given: str | None, expected: str) -> bool:
    """Constant-time equality of two secrets (False when one is missing)."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def bearer_of(headers: Headers) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def authenticated(request: Request, token: str) -> bool:
    """The request carries the token: as a bearer header or as the login cookie."""
    if same(bearer_of(request.headers), token):
        return True
    return same(request.cookies.get(SESSION_COOKIE), session_value(token))


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_of(request: Request) -> str:
    """This browser's CSRF token (the cookie's, or a new one the response will set)."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token:
        token = getattr(request.state, "new_csrf", None) or new_csrf_token()
        request.state.new_csrf = token
    return token


def csrf_ok(headers: Headers, cookies: dict[str, str], body: bytes) -> bool:
    """An unsafe request repeats the CSRF cookie in its form field or header (double submit)."""
    expected = cookies.get(CSRF_COOKIE)
    if not expected:
        return False
    given = headers.get(CSRF_HEADER)
    if not given and headers.get("content-type", "").startswith(FORM_TYPE):
        given = next(iter(parse_qs(body.decode(errors="replace")).get(CSRF_FIELD, [])), None)
    return same(given, expected)


def set_cookie(response: Response, name: str, value: str, *, secure: bool) -> None:
    """An HttpOnly, SameSite=Strict cookie for the whole dashboard."""
    response.set_cookie(
        name, value, httponly=True, samesite="strict", secure=secure, path="/", max_age=None
    )


class AuthMiddleware:
    """Token check (when a token is set) and CSRF check of every unsafe request."""

    def __init__(self, app: ASGIApp, *, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        path = request.url.path
        is_open = path == LOGIN_PATH or path.startswith(STATIC_PREFIX)
        signed_in = self.token is not None and authenticated(request, self.token)
        scope.setdefault("state", {})["signed_in"] = signed_in
        if self.token and not is_open and not signed_in:
            await _refuse(request)(scope, receive, send)
            return
        # A request authenticated by its bearer header needs no CSRF token: a browser never
        # adds that header by itself, so another site cannot forge it.
        bearer = self.token is not None and same(bearer_of(request.headers), self.token)
        if request.method in SAFE_METHODS or bearer:
            await self.app(scope, receive, _with_csrf_cookie(request, send))
            return
        body = await _read_body(receive)
        if body is None or not csrf_ok(request.headers, request.cookies, body):
            response = PlainTextResponse(
                "403: missing or wrong CSRF token; reload the page and try again",
                status_code=403,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body), _with_csrf_cookie(request, send))


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when it is larger than any form of ours."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    """A ``receive`` that hands the app the body the CSRF check already read."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _refuse(request: Request) -> Response:
    """401 for htmx, API and non-GET requests; a redirect to the login form for a page."""
    wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
    if wants_page and not request.headers.get("hx-request"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{LOGIN_PATH}?next={quote(target, safe='')}", status_code=303)
    return PlainTextResponse(
        "401: this dashboard needs its token (log in, or send Authorization: Bearer)",
        status_code=401,
        headers={"www-authenticate": "Bearer"},
    )


def _with_csrf_cookie(request: Request, send: Send) -> Send:
    """Set the CSRF cookie on the response when this request minted a new one."""

    async def sending(message: Message) -> None:
        new = getattr(request.state, "new_csrf", None)
        if message["type"] == "http.response.start" and new:
            response = Response()
            set_cookie(response, CSRF_COOKIE, new, secure=request.url.scheme == "https")
            headers = list(message.get("headers", []))
            headers += [(k, v) for k, v in response.raw_headers if k.lower() == b"set-cookie"]
            message = {**message, "headers": headers}
        await send(message)

    return sending
