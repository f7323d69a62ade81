"""The language of a request: ``?lang=``, else the ``jobyard_lang`` cookie (the web UI's
switch), else ``Accept-Language``; English when none is shipped. Messages made while the
request is served (errors raised deep in the library too) are in that language."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobyard import i18n

COOKIE = "jobyard_lang"
YEAR = 365 * 24 * 3600


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def from_query(scope: Scope) -> str | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    given = query.get("lang", [None])[-1]
    return i18n.normalize(given)


def from_cookie(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    try:
        morsel = SimpleCookie(raw).get(COOKIE)
    except Exception:  # a malformed Cookie header is the client's; it only loses the choice
        return None
    return i18n.normalize(morsel.value) if morsel else None


def choose(scope: Scope) -> tuple[str, bool]:
    """The request's language and whether ``?lang=`` chose it (then a page remembers it)."""
    asked = from_query(scope)
    if asked:
        return asked, True
    return from_cookie(scope) or i18n.negotiate(_header(scope, b"accept-language")), False


class Language:
    """Sets the current language for the whole request and says it in the response
    (``Content-Language``; ``Vary: Accept-Language, Cookie``). A page asked with a
    ``?lang=`` also gets the cookie, so the choice sticks."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lang, asked = choose(scope)
        remember = asked and not str(scope.get("path", "")).startswith("/api/")

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-language", lang.encode()))
                headers.append((b"vary", b"Accept-Language, Cookie"))
                if remember:
                    cookie = f"{COOKIE}={lang}; Path=/; Max-Age={YEAR}; SameSite=Lax"
                    headers.append((b"set-cookie", cookie.encode()))
                message["headers"] = headers
            await send(message)

        with i18n.use(lang):
            await self.app(scope, receive, send_with_language)
