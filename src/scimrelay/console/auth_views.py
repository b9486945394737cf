"""Setting up the first owner, signing in and signing out."""

from __future__ import annotations

from urllib.parse import urlsplit

import structlog
from starlette.responses import Response

from scimrelay.console.framework import (
    PREFIX,
    SESSION_COOKIE,
    Call,
    redirect,
    set_session_cookie,
)
from scimrelay.errors import NotFoundError, SettingsError

logger = structlog.get_logger(__name__)


def setup_form(call: Call) -> Response:
    """Show the first owner's account form, if the setup link is still valid."""
    token = call.param("token")
    accounts = call.console.admin.accounts
    if not accounts.setup_token_valid(token):
        return call.render("setup.html", 404, token="", invalid=True)
    return call.render("setup.html", token=token, email="", errors={})


def setup_submit(call: Call) -> Response:
    token = call.field("token")
    email = call.field("email")
    password = call.field("password")
    errors: dict[str, str] = {}
    if password != call.field("password_confirm"):
        errors["password_confirm"] = "does not match the password: type it again"
    try:
        if not errors:
            user = call.console.admin.accounts.complete_setup(token, email, password)
            logger.info("first owner created", admin=user.email)
            return _sign_in(call, user.id, "/integrations")
    except SettingsError as error:
        errors = {item.field: item.message for item in error.errors}
    except NotFoundError:
        return call.render("setup.html", 404, token="", invalid=True)
    return call.render("setup.html", 422, token=token, email=email, errors=errors)


def login_form(call: Call) -> Response:
    if call.user is not None:
        return redirect("/integrations")
    return call.render(
        "login.html", email="", error=None, next=_next(call.param("next"))
    )


def login_submit(call: Call) -> Response:
    email = call.field("email").strip().lower()
    password = call.field("password")
    target = _next(call.field("next"))
    client = call.request.client.host if call.request.client else "unknown"
    keys = (f"email:{email}", f"client:{client}")
    throttle = call.console.throttle
    attempt = throttle.attempt(*keys)
    if attempt.wait:
        logger.warning(
            "admin sign-in rejected: too many failures", email=email, client=client
        )
        message = f"Too many failed sign-ins. Try again in {attempt.wait} seconds."
        return call.render("login.html", 429, email=email, error=message, next=target)
    user = call.console.admin.accounts.authenticate(email, password)
    if user is None:
        logger.warning(
            "admin sign-in failed", email=email, client=client, failures=attempt.count
        )
        error = "The email or password is wrong."
        return call.render("login.html", 401, email=email, error=error, next=target)
    throttle.succeeded(*keys)
    logger.info("admin signed in", admin=user.email, client=client)
    return _sign_in(call, user.id, target[len(PREFIX) :])


def logout(call: Call) -> Response:
    call.console.sessions.end(call.request.cookies.get(SESSION_COOKIE, ""))
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


def home(call: Call) -> Response:
    return redirect("/integrations")


def _sign_in(call: Call, user_id: str, target: str) -> Response:
    token = call.console.sessions.start(user_id)
    response = redirect(target)
    set_session_cookie(call.console, call, response, token)
    return response


def _next(target: str) -> str:
    """Keep only a path inside the console, so sign-in cannot redirect away."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith(PREFIX + "/"):
        return PREFIX + "/integrations"
    if target.startswith(PREFIX + "/login") or "\\" in target:
        return PREFIX + "/integrations"
    return target
