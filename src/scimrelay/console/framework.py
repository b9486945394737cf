"""Request handling of console pages: sign-in, role and CSRF checks, then the handler.

Handlers are plain functions run in a worker thread, since the store is
synchronous; each gets a :class:`Call` with the acting admin's operations.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import structlog
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from scimrelay.admin import csrf
from scimrelay.admin.access import Actor
from scimrelay.admin.accounts import AdminView
from scimrelay.admin.operations import Admin, AdminOperations
from scimrelay.admin.sessions import SessionStore
from scimrelay.admin.throttle import LoginThrottle
from scimrelay.console import filters
from scimrelay.errors import AccessDenied, ConfigurationError, NotFoundError
from scimrelay.settings import Settings

logger = structlog.get_logger(__name__)

SESSION_COOKIE = "scimrelay_session"
# One-time messages across a redirect, such as a new SCIM API key: encrypted
# under the master key, short-lived, and deleted when shown.
FLASH_COOKIE = "scimrelay_flash"
FLASH_LIFETIME = 300
PREFIX = "/admin"
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


@dataclass
class Console:
    """The console's shared parts, one per process."""

    admin: Admin
    settings: Settings
    sessions: SessionStore
    throttle: LoginThrottle = field(init=False)
    templates: Jinja2Templates = field(init=False)

    def __post_init__(self) -> None:
        self.throttle = LoginThrottle(self.admin.context.store)
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        filters.install(self.templates.env)

    def secure_cookies(self, request: Request) -> bool:
        """Return whether cookies get the Secure flag, which they do behind HTTPS."""
        public = self.settings.public_url or ""
        return request.url.scheme == "https" or public.startswith("https://")

    def public_base(self, request: Request) -> str:
        if self.settings.public_url:
            return self.settings.public_url
        return str(request.base_url).rstrip("/")


@dataclass
class Call:
    """One console request: the admin, their operations and the parsed form."""

    console: Console
    request: Request
    csrf_token: str
    form: FormData | None = None
    user: AdminView | None = None
    ops: AdminOperations = field(init=False)
    flash_taken: bool = False

    @property
    def actor(self) -> Actor:
        assert self.user is not None
        client = self.request.client.host if self.request.client else None
        return self.user.actor("console", client)

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else default

    def fields(self, name: str) -> list[str]:
        if self.form is None:
            return []
        return [value for value in self.form.getlist(name) if isinstance(value, str)]

    def param(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)

    def redirect_with(self, path: str, **message: Any) -> Response:
        """Redirect, carrying ``message`` to the next page in a flash cookie."""
        response = redirect(path)
        message["expires"] = time.time() + FLASH_LIFETIME
        sealed = self.console.admin.context.keyring.encrypt(orjson.dumps(message))
        response.set_cookie(
            FLASH_COOKIE,
            sealed.decode(),
            max_age=FLASH_LIFETIME,
            httponly=True,
            samesite="strict",
            secure=self.console.secure_cookies(self.request),
            path=PREFIX,
        )
        return response

    def pop_flash(self) -> dict[str, Any]:
        """Return the flash message, if any, and delete it with this response."""
        sealed = self.request.cookies.get(FLASH_COOKIE)
        if not sealed:
            return {}
        self.flash_taken = True
        try:
            message = orjson.loads(
                self.console.admin.context.keyring.decrypt(sealed.encode())
            )
        except (ConfigurationError, orjson.JSONDecodeError):
            return {}
        if not isinstance(message, dict) or message.get("expires", 0) < time.time():
            return {}
        return message

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        context.update(
            user=self.user,
            csrf_token=self.csrf_token,
            path=self.request.url.path,
        )
        return self.console.templates.TemplateResponse(
            self.request, template, context, status_code=status
        )


Handler = Callable[[Call], Response]


def redirect(path: str) -> Response:
    return RedirectResponse(PREFIX + path, status_code=303)


def page(
    console: Console, handler: Handler, *, owner: bool = False, public: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with the checks every console page gets."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        token = request.cookies.get(csrf.CSRF_COOKIE) or csrf.new_token()
        form = None
        if request.method == "POST":
            form = await request.form()
            if not _csrf_ok(request, form):
                return _forbidden(
                    console,
                    request,
                    token,
                    "The form expired: reload the page and try again.",
                )
        call = Call(console, request, token, form)
        response = await run_in_threadpool(_run, console, call, handler, owner, public)
        if call.flash_taken:
            response.delete_cookie(FLASH_COOKIE, path=PREFIX)
        if request.cookies.get(csrf.CSRF_COOKIE) != token:
            _set_csrf_cookie(console, request, response, token)
        return response

    return endpoint


def _run(
    console: Console, call: Call, handler: Handler, owner: bool, public: bool
) -> Response:
    session_token = call.request.cookies.get(SESSION_COOKIE, "")
    user = console.sessions.resolve(session_token)
    if user is None and not public:
        return _login_redirect(call.request)
    if user is not None:
        call.user = user
        call.ops = console.admin.acting(call.actor)
    try:
        if owner and not call.actor.is_owner:
            raise AccessDenied("only an owner can open this page")
        return handler(call)
    except NotFoundError as error:
        return call.render("error.html", 404, title="Not found", message=str(error))
    except AccessDenied as error:
        return call.render("error.html", 403, title="Not allowed", message=str(error))


def _csrf_ok(request: Request, form: FormData) -> bool:
    submitted = form.get(csrf.CSRF_FIELD) or request.headers.get(csrf.CSRF_HEADER)
    cookie = request.cookies.get(csrf.CSRF_COOKIE)
    if not isinstance(submitted, str) or not csrf.tokens_match(cookie, submitted):
        logger.warning(
            "console form rejected: CSRF token missing or invalid",
            path=request.url.path,
        )
        return False
    return csrf.origin_allowed(
        request.headers.get("origin"), request.headers.get("host")
    )


def _forbidden(
    console: Console, request: Request, token: str, message: str
) -> Response:
    call = Call(console, request, token)
    response = call.render("error.html", 403, title="Request rejected", message=message)
    _set_csrf_cookie(console, request, response, token)
    return response


def _set_csrf_cookie(
    console: Console, request: Request, response: Response, token: str
) -> None:
    response.set_cookie(
        csrf.CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=console.secure_cookies(request),
        path=PREFIX,
    )


def _login_redirect(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET":
        target = PREFIX + "/"
    return RedirectResponse(f"{PREFIX}/login?next={quote(target)}", status_code=303)


def set_session_cookie(
    console: Console, call: Call, response: Response, token: str
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=12 * 3600,
        httponly=True,
        samesite="lax",
        secure=console.secure_cookies(call.request),
        path=PREFIX,
    )
