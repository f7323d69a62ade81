"""Form-encoded bodies (``application/x-www-form-urlencoded``), for the web UI's plain
HTML forms: an endpoint declared with ``form=True`` takes them beside JSON.

A form is a flat object of strings; its ``csrf_token`` field is the session's CSRF token
(a form cannot set the ``X-CSRF-Token`` header), taken out before the body's fields are
checked against the endpoint's schema like a JSON body's.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from jobyard.api import errors as api_errors
from jobyard.i18n import _

FORM_TYPE = "application/x-www-form-urlencoded"
CSRF_FORM_FIELD = "csrf_token"
MAX_FIELDS = 200


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def parse_form(raw: bytes) -> tuple[dict[str, str], str | None]:
    """The fields of a form body and its CSRF token (None when it has none)."""
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise api_errors.bad_request(_("the form is not UTF-8")) from None
    except ValueError:
        raise api_errors.bad_request(
            _("a form may have at most {MAX_FIELDS} fields", MAX_FIELDS=MAX_FIELDS)
        ) from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise api_errors.bad_request(
                _("form field {key!r} given more than once", key=key[:40]), key
            )
        fields[key] = value
    return fields, fields.pop(CSRF_FORM_FIELD, None)
