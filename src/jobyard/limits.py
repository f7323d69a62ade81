"""What a user or a handler may write: finite numbers that fit the store, bounded sizes,
and text that every backend can hold.

One policy for every face (Python API, CLI, HTTP, workers):
- numbers given by a user are finite and fit a signed 64-bit column; timestamps lie
  inside ``TS_MIN``..``TS_MAX`` (what ``datetime`` and both backends can represent);
- user input containing NUL characters is refused (PostgreSQL text and jsonb cannot
  hold them); text *produced* by handlers and scripts (log lines, error messages,
  output) has each NUL replaced by the visible ``\\x00`` so nothing of it is lost.
"""

from __future__ import annotations

from typing import Final

# Counts and priorities live in 32-bit columns on PostgreSQL (INTEGER), ids in 64-bit ones.
INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
TS_MIN: Final = 0.0  # 1970-01-01T00:00:00Z
TS_MAX: Final = 253_402_300_799.0  # 9999-12-31T23:59:59Z, the last second datetime can show

NUL: Final = "\x00"
NUL_SHOWN: Final = "\\x00"


def scrub_nul(text: str) -> str:
    """Handler-produced text made storable everywhere: NUL becomes the visible ``\\x00``."""
    return text.replace(NUL, NUL_SHOWN) if NUL in text else text


def in_window(ts: float) -> bool:
    """A timestamp both backends and ``datetime`` can hold."""
    return TS_MIN <= ts <= TS_MAX
