"""PostgreSQL helpers: result rows, URL masking, COPY plans, connection closing."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import partial
from operator import itemgetter
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import BaseRowFactory, RowMaker, no_result
from psycopg.types.json import Json

from jobyard.store.core import dumps

CHANNEL = "jobyard"  # the LISTEN/NOTIFY channel of every wake-up
LISTEN_SQL = f"LISTEN {CHANNEL}"

_PLAIN_INSERT = re.compile(
    r"^INSERT INTO (\w+) \(([^)]*)\)\s*VALUES \((.*)\)(?:\s*RETURNING \w+)?$",
    re.IGNORECASE | re.DOTALL,
)
_PARAM = re.compile(r"^%\((\w+)\)s(?:::(\w+))?$")
_JSON_TYPES = frozenset({"json", "jsonb"})


class Row:
    """A result row readable by position (``row[0]``) and by column name (``row["id"]``),
    like :class:`sqlite3.Row`: ``keys()`` gives the names, iteration the values."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: Sequence[Any]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def items(self) -> Iterator[tuple[str, Any]]:
        return zip(self._index, self._values, strict=True)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self.keys() == other.keys() and tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Row({dict(self.items())!r})"


def _row_factory(cursor: Any) -> RowMaker[Row]:
    desc = cursor.description
    if desc is None:
        return no_result
    index = {column.name: i for i, column in enumerate(desc)}
    return partial(Row, index)


ROWS: BaseRowFactory[Row] = _row_factory


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r":[^:@/]*@", ":***@", url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
    query = re.sub(r"(?i)\b(password=)[^&]*", r"\1***", parts.query)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().replace("FATAL:  ", "")
    text = re.sub(r"^connection failed: ", "", text)
    return re.sub(r"\s*\n\s*", " ", text)


class CopyPlan(NamedTuple):
    """How a plain one-row INSERT runs as COPY: the statement, the parameter feeding each
    column, and the columns whose parameter is JSON (cast ``::json``/``::jsonb``)."""

    sql: str
    names: tuple[str, ...]
    json_columns: tuple[int, ...]

    def rows(self, rows: Iterable[Mapping[str, Any]]) -> Iterator[list[Any]]:
        """Rows as COPY values. JSON parameters become their text here, once per object:
        bulk rows share their ``props``/``depends`` objects, and dumping is the costly part."""
        get = itemgetter(*self.names)
        texts: dict[int, Any] = {}
        for row in rows:
            values = list(get(row)) if len(self.names) > 1 else [get(row)]
            for i in self.json_columns:
                value = values[i]
                if isinstance(value, Json):
                    text = texts.get(id(value))
                    if text is None:
                        text = texts[id(value)] = dumps(value.obj)
                    values[i] = text
            yield values

    def text(
        self, ids: Sequence[int], shared: Mapping[str, Any], column: str, values: Sequence[str]
    ) -> str | None:
        """COPY text of rows ``id, <shared> with <column> = value``, one per value (a bulk
        enqueue of one spec: only the data differs), formatted once here instead of each
        row being adapted on its own; None when a shared value has no plain text form."""
        if column not in self.names:
            return None
        parts: list[str] = []
        for name in self.names:
            if name == column:
                parts.append("\0")
                continue
            text = _copy_text(shared[name])
            if text is None:
                return None
            parts.append(text)
        before, _, after = "\t".join(parts).partition("\0")
        special = _COPY_SPECIAL.search
        lines = [
            f"{i}\t{before}{_copy_escape(v) if special(v) else v}{after}\n"
            for i, v in zip(ids, values, strict=True)
        ]
        return "".join(lines)


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


def _copy_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_text(value: Any) -> str | None:
    """A value in COPY's text format, or None when it has no obvious one."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Json):
        value = dumps(value.obj)
    if isinstance(value, str):
        return _copy_escape(value) if _COPY_SPECIAL.search(value) else value
    return None


class _Closer:
    """Closes a thread's connection when the thread's locals are dropped."""

    __slots__ = ("conn",)

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def __del__(self) -> None:
        try:
            self.conn.close()
        except Exception:
            pass


def copy_plan(sql: str) -> CopyPlan | None:
    """The COPY form of a plain one-row INSERT ... VALUES with one parameter per column;
    None for any other statement."""
    match = _PLAIN_INSERT.match(sql.strip())
    if not match:
        return None
    table, columns, values = match.groups()
    cols = [c.strip() for c in columns.split(",")]
    params = [_PARAM.match(v.strip()) for v in values.split(",")]
    if len(cols) != len(params) or not all(params):
        return None
    found = [m for m in params if m]
    return CopyPlan(
        f"COPY {table} ({', '.join(cols)}) FROM STDIN",
        tuple(m.group(1) for m in found),
        tuple(i for i, m in enumerate(found) if m.group(2) in _JSON_TYPES),
    )
