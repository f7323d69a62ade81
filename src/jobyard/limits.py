"""What a user or a handler may write: finite numbers that fit the store, bounded sizes,
and text that every backend can hold.

One policy for every face (Python API, CLI, HTTP, workers):
- numbers given by a user are finite and fit a signed 64-bit column; timestamps lie
  inside ``TS_MIN``..``TS_MAX`` (what ``datetime`` and both backends can represent);
  waits and timeouts are at most ``MAX_WAIT``, and computed retry delays are capped there;
- every JSON value a user or a handler writes (job data, props, results, log data, event
  data, collection items, jobset meta and storage) goes through :func:`encode_json`: it
  must be JSON (no NaN/Infinity, not nested past what the encoder can walk), fit its
  ``[limits]`` size in UTF-8 bytes, and hold no NUL character and no lone surrogate —
  refused with one ``InvalidInput`` line naming the field (PostgreSQL text and jsonb cannot
  hold NUL; UTF-8 cannot encode a lone surrogate);
- text *produced* by handlers and scripts (log messages, error messages, output) is never
  refused, which would lose it: :func:`clean_text` replaces each NUL by the visible
  ``\\x00`` and each lone surrogate by its ``\\udXXX`` escape, and cuts text past its
  limit with a marker saying how much was cut.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

from jobyard.errors import InvalidInput
from jobyard.i18n import _

# Counts and priorities live in 32-bit columns on PostgreSQL (INTEGER), ids in 64-bit ones.
INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
TS_MIN: Final = 0.0  # 1970-01-01T00:00:00Z
TS_MAX: Final = 253_402_300_799.0  # 9999-12-31T23:59:59Z, the last second datetime can show
# The longest retry/repeat wait or timeout, and the cap of exponential retry delays: longer
# ones are typos, and a cap keeps ``wait * 2**n`` finite for any number of failures.
MAX_WAIT: Final = 10 * 365.25 * 86400.0  # ten years

# Default [limits] sizes, in bytes of UTF-8 JSON (or of text, for log messages).
MAX_DATA_BYTES: Final = 1_048_576  # job data, event data, collection items, jobset values
MAX_PROPS_BYTES: Final = 65_536
MAX_RESULT_BYTES: Final = 1_048_576
MAX_LOG_BYTES: Final = 65_536  # one log message (longer ones are cut), or its data

NUL: Final = "\x00"
NUL_SHOWN: Final = "\\x00"
# A NUL as the JSON encoder writes it, ``\u0000``, but not an escaped backslash followed by
# the text "u0000" (``\\u0000``): an even run of backslashes before it is part of the text.
_NUL_IN_JSON: Final = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
TRUNCATED: Final = " … [cut: {size} bytes, over the limit of {limit}]"


def scrub_nul(text: str) -> str:
    """Handler-produced text made storable everywhere: NUL becomes the visible ``\\x00``."""
    return text.replace(NUL, NUL_SHOWN) if NUL in text else text


def in_window(ts: float) -> bool:
    """A timestamp both backends and ``datetime`` can hold."""
    return TS_MIN <= ts <= TS_MAX


# One encoder for every call: json.dumps with options other than its defaults builds a new
# JSONEncoder each time, a good part of the cost of a bulk enqueue's rows.
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The C encoder itself, made once: JSONEncoder.encode builds one per call (half its cost on
# a small object). Without markers it does not look for cycles: a cyclic value recurses
# until RecursionError, and _ENCODER (which does) then says which of the two it was.
_MAKE: Final = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER: Final = (
    None
    if _MAKE is None
    else _MAKE(None, _not_json, json.encoder.encode_basestring, None, ":", ",", False, False, False)
)


def _encode(value: Any) -> str:
    if _C_ENCODER is None:
        return _ENCODER.encode(value)
    try:
        return "".join(_C_ENCODER(value, 0))
    except RecursionError:
        return _ENCODER.encode(value)  # a cycle: ValueError; deep: RecursionError again


def encode_json(value: Any, what: str, limit: int, setting: str) -> str:
    """``value`` as the compact JSON text the store keeps, or InvalidInput naming ``what``
    and why it cannot be stored (``setting`` is the ``[limits]`` key of ``limit``)."""
    try:
        text = _encode(value)
    except RecursionError:
        raise InvalidInput(
            _("{what} is nested too deeply to be stored as JSON", what=what)
        ) from None
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            _("{what} is not JSON-serialisable: {exc}", what=what, exc=exc)
        ) from None
    size = utf8_size(text, what)
    if size > limit:
        raise InvalidInput(
            _(
                "{what} is {size} bytes of JSON, over the limit of {limit} bytes (set [limits] "
                "{setting} in jobyard.toml)",
                what=what,
                size=size,
                limit=limit,
                setting=setting,
            )
        )
    if "\\u0000" in text and _NUL_IN_JSON.search(text):  # the cheap test first: hot path
        raise InvalidInput(_("{what} cannot hold NUL characters (\\u0000)", what=what))
    return text


def utf8_size(text: str, what: str) -> int:
    """Bytes of ``text`` in UTF-8; InvalidInput if it holds a lone surrogate."""
    if text.isascii():  # O(1) in CPython: the common case costs nothing
        return len(text)
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.start + 1]
        raise InvalidInput(
            _(
                "{what} holds a lone surrogate ({decode}), which UTF-8 cannot encode",
                what=what,
                decode=bad.encode("unicode_escape").decode(),
            )
        ) from None


def check_text(text: str, what: str) -> str:
    """User text (names, statuses, keys, filter values) that every backend can store: no
    NUL, no lone surrogate; InvalidInput naming ``what`` otherwise."""
    if NUL in text:
        raise InvalidInput(_("{what} cannot hold NUL characters (\\x00)", what=what))
    utf8_size(text, what)
    return text


def clean_text(text: str, limit: int | None = None) -> str:
    """Handler-produced text made storable, never refused: NUL → ``\\x00``, a lone
    surrogate → its ``\\udXXX`` escape, and past ``limit`` UTF-8 bytes cut with a marker."""
    text = scrub_nul(text)
    if not text.isascii() and _SURROGATE.search(text):
        text = _SURROGATE.sub(lambda m: m.group().encode("unicode_escape").decode(), text)
    if limit is None or len(text) <= limit // 4:  # 4 bytes a character at most: fits
        return text
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    marker = TRUNCATED.format(size=len(raw), limit=limit)
    keep = max(limit - len(marker.encode("utf-8")), 0)
    return raw[:keep].decode("utf-8", errors="ignore") + marker


def finite_json(text: str, what: str) -> Any:
    """JSON text given by a user → its value; InvalidInput (one line) when it is not JSON,
    holds NaN/Infinity or a number too big to be finite, or is nested too deeply."""
    try:
        return json.loads(
            text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_int
        )
    except RecursionError:
        raise InvalidInput(_("{what} is nested too deeply", what=what)) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            _(
                "{what} is not valid JSON: {msg} (at position {pos})",
                what=what,
                msg=exc.msg,
                pos=exc.pos,
            )
        ) from None
    except ValueError as exc:  # NaN/Infinity, 1e400, an integer of too many digits
        raise InvalidInput(_("{what} is not valid JSON: {exc}", what=what, exc=exc)) from None


def json_or_text(text: str, what: str) -> Any:
    """A ``name=value`` value: its JSON value when it reads as JSON (``5``, ``true``,
    ``[1]``), else the text itself. JSON that reads as a number that is not finite
    (``NaN``, ``Infinity``, ``1e400``) or is nested too deeply is refused, not taken as
    text: the user meant a number or a structure, and a silent string would surprise."""
    try:
        return finite_json(text, what)
    except InvalidInput:
        try:
            json.loads(text, parse_constant=lambda name: None)
        except json.JSONDecodeError:
            return text  # not JSON at all: a plain string
        except (RecursionError, ValueError):
            pass
        raise


def _refuse_constant(name: str) -> Any:
    raise ValueError(_("{name} is not a finite number", name=name))


def _int(text: str) -> int:
    if len(text) > 1000:  # Python refuses past 4300 digits, with advice for programmers
        raise ValueError(_("a whole number of {n_text} digits is too long", n_text=len(text)))
    return int(text)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(_("{text} is too large to be a finite number", text=text))
    return number
