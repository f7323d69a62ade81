"""Endpoint declarations and the one wrapper every endpoint runs in.

An endpoint is declared once (method, path, roles, parameters, body and response schemas)
with an :class:`Endpoints` table's decorators. The wrapper, for every request: finds the
caller (the app's Authenticator), refuses with 401/403 unless the caller's role is in the
endpoint's roles, checks CSRF for a browser session on a state-changing request, reads and
checks the JSON body (size, syntax, unknown fields), runs the handler (sync handlers in a
worker thread: they block on the database), writes the audit entry of a state change, and
turns any error into the JSON error body of :mod:`jobyard.api.errors`.
"""

from __future__ import annotations

import hmac
import inspect
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jobyard.api import errors as api_errors
from jobyard.api.auth import Principal, Role
from jobyard.api.forms import CSRF_FORM_FIELD as CSRF_FORM_FIELD
from jobyard.api.forms import FORM_TYPE, content_type, parse_form
from jobyard.errors import InvalidInput
from jobyard.i18n import _
from jobyard.limits import INT64_MAX, finite_json

if TYPE_CHECKING:
    from jobyard.api.app import AppState

log = logging.getLogger("jobyard.api")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Param:
    """A query or path parameter, with its JSON schema (for OpenAPI and for parsing)."""

    name: str
    where: str = "query"  # query or path
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False
    description: str = ""


@dataclass
class Call:
    """What a handler gets: the request, its caller, the app state, parsed inputs."""

    request: Request
    principal: Principal
    state: AppState
    body: Any = None

    @property
    def path(self) -> Mapping[str, Any]:
        return self.request.path_params

    def query(self, name: str, default: str | None = None) -> str | None:
        values = self.request.query_params.getlist(name)
        if len(values) > 1:
            raise api_errors.bad_request(
                _("query parameter {name!r} given more than once", name=name), name
            )
        return values[0] if values else default

    def query_list(self, name: str) -> list[str] | None:
        """A comma-separated (or repeated) query parameter; None when absent."""
        values = self.request.query_params.getlist(name)
        if not values:
            return None
        return [v.strip() for value in values for v in value.split(",") if v.strip()]

    def query_int(
        self, name: str, default: int | None, lo: int = 0, hi: int = INT64_MAX
    ) -> int | None:
        text = self.query(name)
        if text is None or text == "":
            return default
        return parse_int(text, name, lo, hi)

    def path_int(self, name: str) -> int:
        return parse_int(str(self.request.path_params[name]), name, 1, INT64_MAX)


def parse_int(text: str, name: str, lo: int, hi: int) -> int:
    try:
        if len(text) > 20:
            raise ValueError
        value = int(text)
    except ValueError:
        raise api_errors.bad_request(
            _("{name} must be a whole number, got {text!r}", name=name, text=text[:40]), name
        ) from None
    if not lo <= value <= hi:
        raise api_errors.bad_request(
            _(
                "{name} must be between {lo} and {hi}, got {value}",
                name=name,
                lo=lo,
                hi=hi,
                value=value,
            ),
            name,
        )
    return value


Handler = Callable[[Call], Any]


@dataclass
class Endpoint:
    method: str
    path: str
    roles: frozenset[Role]
    handler: Handler
    summary: str
    params: tuple[Param, ...] = ()
    body: Mapping[str, Any] | None = None  # JSON schema of the request body
    body_required: bool = True
    response: Mapping[str, Any] | None = None  # JSON schema of a success response
    status: int = 200
    tag: str = "api"
    audit: bool = True  # a state change is audited (False: high-rate worker calls)
    media: str = "application/json"  # of the success response (SSE: text/event-stream)
    errors: tuple[int, ...] = ()  # extra documented error statuses
    form: bool = False  # also takes a form-encoded body (web UI forms; see api/forms.py)

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def changes_state(self) -> bool:
        return self.method not in SAFE_METHODS


class Endpoints:
    """The endpoints of one module: ``@table.get(path, roles=..., ...)``."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.items: list[Endpoint] = []

    def add(
        self, method: str, path: str, roles: Iterable[Role], summary: str = "", **kw: Any
    ) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            doc = summary or (inspect.getdoc(fn) or "").split("\n")[0]
            self.items.append(
                Endpoint(method, path, frozenset(roles), fn, doc, tag=kw.pop("tag", self.tag), **kw)
            )
            return fn

        return deco

    def get(
        self, path: str, roles: Iterable[Role], summary: str = "", **kw: Any
    ) -> Callable[[Handler], Handler]:
        return self.add("GET", path, roles, summary, **kw)

    def post(
        self, path: str, roles: Iterable[Role], summary: str = "", **kw: Any
    ) -> Callable[[Handler], Handler]:
        return self.add("POST", path, roles, summary, **kw)

    def patch(
        self, path: str, roles: Iterable[Role], summary: str = "", **kw: Any
    ) -> Callable[[Handler], Handler]:
        return self.add("PATCH", path, roles, summary, **kw)

    def delete(
        self, path: str, roles: Iterable[Role], summary: str = "", **kw: Any
    ) -> Callable[[Handler], Handler]:
        return self.add("DELETE", path, roles, summary, **kw)


def error_response(err: api_errors.ApiError) -> JSONResponse:
    return JSONResponse(api_errors.body(err), err.status, headers=err.headers)


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"not JSON: {type(value).__name__}")


class JSON(JSONResponse):
    """JSON with non-ASCII kept and no NaN (a non-finite float would not be JSON)."""

    def render(self, content: Any) -> bytes:
        import json

        return json.dumps(
            content,
            ensure_ascii=False,
            allow_nan=False,
            separators=(",", ":"),
            default=_json_default,
        ).encode("utf-8")


async def read_json(request: Request, ep: Endpoint, max_bytes: int) -> Any:
    """The request's JSON body, or an ApiError: 413 past ``max_bytes`` (read no further),
    415 when it is not JSON, 400 when it does not parse, 422 for unknown top-level fields."""
    return (await read_body(request, ep, max_bytes))[0]


async def read_body(request: Request, ep: Endpoint, max_bytes: int) -> tuple[Any, str | None]:
    """Like :func:`read_json`, and a form's CSRF token when the endpoint takes forms."""
    ctype = content_type(request)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise api_errors.too_large(_("request body is over {max_bytes} bytes", max_bytes=max_bytes))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise api_errors.too_large(
                _("request body is over {max_bytes} bytes", max_bytes=max_bytes)
            )
        chunks.append(chunk)
    raw = b"".join(chunks)
    form_token = None
    if ep.form and ctype == FORM_TYPE:
        value, form_token = parse_form(raw)
    elif not raw.strip():
        if ep.body_required:
            raise api_errors.bad_request(_("a JSON body is required"))
        return {}, None
    elif ctype not in ("application/json", ""):
        raise api_errors.ApiError(
            415, "unsupported_media_type", _("send the body as application/json")
        )
    else:
        value = _parse_json(raw)
    schema = ep.body or {}
    if schema.get("type") == "object":
        if not isinstance(value, dict):
            raise api_errors.invalid(_("the body must be a JSON object"))
        known = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            for key in value:
                if key not in known:
                    raise api_errors.invalid(
                        _(
                            "unknown field {key!r}; known fields: {known}",
                            key=key,
                            known=", ".join(sorted(known)),
                        ),
                        key,
                    )
        for key in schema.get("required", ()):
            if key not in value:
                raise api_errors.invalid(_("missing field {key!r}", key=key), key)
        for key, item in value.items():
            expected = known.get(key, {}).get("type")
            if expected is not None and not _is_type(item, expected):
                want = expected if isinstance(expected, str) else " or ".join(expected)
                raise api_errors.invalid(_("field {key!r} must be {want}", key=key, want=want), key)
    return value, form_token


def _parse_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise api_errors.bad_request(_("the body is not UTF-8")) from None
    try:
        return finite_json(text, "the request body")
    except InvalidInput as exc:
        raise api_errors.bad_request(str(exc)) from None


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def _is_type(value: Any, expected: str | list[str]) -> bool:
    """A top-level field against its declared JSON type (the deeper rules are the spec
    builder's); a bool is not a number here, as in JSON."""
    for name in [expected] if isinstance(expected, str) else expected:
        if isinstance(value, bool) and name in ("integer", "number"):
            continue
        if isinstance(value, _JSON_TYPES.get(name, (object,))):
            return True
    return False


def _csrf_ok(request: Request, principal: Principal, form_token: str | None) -> bool:
    expected = principal.csrf
    given = request.headers.get(CSRF_HEADER) or form_token
    return bool(expected and given and hmac.compare_digest(expected, given))


def allowed(ep: Endpoint, principal: Principal) -> bool:
    return principal.via == "none" or principal.role in ep.roles


def audited(ep: Endpoint, state: AppState, principal: Principal | None) -> bool:
    return ep.changes_state and ep.audit and state.auth.enabled and principal is not None


async def _audit(
    state: AppState, principal: Principal, ep: Endpoint, request: Request, outcome: str, status: int
) -> None:
    """Never a body or a secret: who, which endpoint, the path, from where, and how it went."""
    address = request.client.host if request.client else None
    detail = {"status": status, "address": address, "outcome": outcome}
    try:
        await run_in_threadpool(state.auth.audit, principal, ep.name, request.url.path, detail)
    except Exception:  # the answer stands; a lost audit entry is logged, not turned into a 500
        if outcome == "ok":
            raise
        log.exception("audit of %s %s failed", ep.method, request.url.path)


def wrap(ep: Endpoint, state: AppState) -> Callable[[Request], Any]:
    is_async = inspect.iscoroutinefunction(ep.handler)

    async def asgi(request: Request) -> Response:
        principal: Principal | None = None
        try:
            if ep.roles:
                principal = await run_in_threadpool(state.auth.authenticate, request)
                if principal is None:
                    raise api_errors.unauthorized()
                if not allowed(ep, principal):
                    raise api_errors.forbidden(
                        _(
                            "role {role} may not {method} {path}; allowed: {roles}",
                            role=principal.role,
                            method=ep.method,
                            path=ep.path,
                            roles=", ".join(sorted(ep.roles)),
                        )
                    )
            else:
                principal = Principal(name="anonymous", role="viewer", via="none")
            # A form carries its CSRF token in the body: checked once the body is read.
            csrf = principal.via == "session" and ep.changes_state
            form = ep.form and content_type(request) == FORM_TYPE
            if csrf and not form and not _csrf_ok(request, principal, None):
                raise api_errors.forbidden(
                    _(
                        "missing or wrong CSRF token (send header {CSRF_HEADER})",
                        CSRF_HEADER=CSRF_HEADER,
                    )
                )
            call = Call(request, principal, state)
            if ep.body is not None:
                call.body, form_token = await read_body(request, ep, state.max_body)
                if csrf and form and not _csrf_ok(request, principal, form_token):
                    raise api_errors.forbidden(
                        _(
                            "missing or wrong CSRF token (send field {CSRF_FORM_FIELD})",
                            CSRF_FORM_FIELD=CSRF_FORM_FIELD,
                        )
                    )
            result = (
                await ep.handler(call) if is_async else await run_in_threadpool(ep.handler, call)
            )
            if audited(ep, state, principal):
                await _audit(state, principal, ep, request, "ok", ep.status)
            if isinstance(result, Response):
                return result
            return JSON(result, ep.status)
        except Exception as exc:  # one mapping for every error; 5xx keep their traceback in the log
            err = api_errors.from_exception(exc)
            if err.status >= 500:
                log.error("%s %s failed", ep.method, request.url.path, exc_info=exc)
            if audited(ep, state, principal) and principal is not None:
                # A refused or failed change by a known caller is kept too (an anonymous
                # 401 is not: anyone could fill the log with those).
                outcome = "refused" if err.status in (401, 403) else "failed"
                await _audit(state, principal, ep, request, outcome, err.status)
            return error_response(err)

    asgi.__name__ = ep.handler.__name__
    return asgi
