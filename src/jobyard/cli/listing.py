"""The one meaning of ``--limit`` (and ``--offset``) in every listing command (the paging
itself is jobyard.views: ``newest_last`` and ``tail_window``, shared with the API and web).

``jobs``, ``events`` and ``collection`` print their rows oldest first, so the newest row is
the last one, next to the prompt, as in a log. ``--limit N`` keeps the N most recent rows
(the last N of that order) and ``--offset M`` first skips the M most recent (to page back).
For ``collection`` "the order" is ``--order-by`` (default: created), so the rows kept are
the last N of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

MAX_LIMIT = 10_000  # as the collections API's own bound: one range for every listing

F = TypeVar("F", bound=Callable[..., Any])


def limit_option(default: int) -> Callable[[F], F]:
    return click.option(
        "--limit",
        type=click.IntRange(1, MAX_LIMIT),
        default=default,
        show_default=True,
        help=f"Show the N most recent rows, newest last (1 to {MAX_LIMIT}).",
    )


def offset_option() -> Callable[[F], F]:
    return click.option(
        "--offset",
        type=click.IntRange(0, None),
        default=0,
        show_default=True,
        help="Skip the M most recent rows first (to page back).",
    )
