"""Item collections (Sooner's "queues"): named lists of work items, in the job database.

``yard.collection("profiles")`` gives a :class:`Collection` of items
``{id, status, data, created, updated}`` that jobs insert, update, find and count. (They
are called collections so they are not confused with job queues.)

Filters on data fields run in SQL: SQLite ``json_type``/``json_extract``, PostgreSQL jsonb
containment (``data @> '{"field": value}'``, served by a GIN index) and ``#>``. A field is a
name of identifier characters, dotted for nesting (``address.city``); it is checked and
then passed as a parameter, never spliced into the SQL text. A filter value is a JSON
scalar compared with its type: ``1`` matches ``1`` and ``1.0``, not ``"1"`` or ``true``;
``None`` matches a null or missing field.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobyard.errors import InvalidInput, NotFound
from jobyard.limits import check_text, encode_json
from jobyard.model import iso

if TYPE_CHECKING:
    from jobyard.store.base import Store
    from jobyard.yard import Yard

FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
NAME = re.compile(r"^[\w.:/-]{1,200}$")
COLUMNS = ("id", "status", "created", "updated")
MAX_LIMIT = 10_000
_UNSET: Any = object()


@dataclass
class Item:
    id: int
    collection: str
    status: str
    data: Any
    created: float
    updated: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (times as ISO 8601 strings, like jobs)."""
        return {
            "id": self.id,
            "collection": self.collection,
            "status": self.status,
            "data": self.data,
            "created": iso(self.created),
            "updated": iso(self.updated),
        }


class Collection:
    """One named collection. Every method is one statement (its own transaction, or the
    caller's inside ``yard.store.transaction()``)."""

    def __init__(self, yard: Yard, name: str) -> None:
        if not isinstance(name, str) or not NAME.match(name):
            raise InvalidInput(
                f"invalid collection name {name!r}: use letters, digits and _ . : / - "
                "(1 to 200 characters)"
            )
        self.yard = yard
        self.name = name

    def __repr__(self) -> str:
        return f"<Collection {self.name}>"

    @property
    def store(self) -> Store:
        return self.yard.store

    def _item(self, row: Any) -> Item:
        return Item(
            int(row["id"]),
            str(row["collection"]),
            str(row["status"]),
            self.store.decode_json(row["data"]),
            float(row["created"]),
            float(row["updated"]),
        )

    def _encode(self, data: Any) -> str:
        return encode_json(data, "item data", self.yard.config.max_data_bytes, "max_data_bytes")

    def insert(self, data: Any = None, status: str = "new") -> Item:
        """Add an item; returns it with its id."""
        row = self.store.execute(
            "collection_insert",
            {
                "collection": self.name,
                "status": _status(status),
                "data": self._encode(data),
                "now": time.time(),
            },
        ).fetchone()
        return self._item(row)

    def get(self, item_id: int) -> Item:
        row = self.store.execute(
            "collection_get", {"collection": self.name, "id": _id(item_id)}
        ).fetchone()
        if row is None:
            raise NotFound(f"no item {item_id} in collection {self.name}")
        return self._item(row)

    def update(self, item_id: int, status: str | None = None, data: Any = _UNSET) -> Item:
        """Change an item's status and/or data (``data=None`` stores null); returns it."""
        row = self.store.execute(
            "collection_update",
            {
                "collection": self.name,
                "id": _id(item_id),
                "status": None if status is None else _status(status),
                "data": None if data is _UNSET else self._encode(data),
                "now": time.time(),
            },
        ).fetchone()
        if row is None:
            raise NotFound(f"no item {item_id} in collection {self.name}")
        return self._item(row)

    def delete(self, item_id: int) -> bool:
        """Remove an item; False if there was none."""
        cur = self.store.execute("collection_delete", {"collection": self.name, "id": _id(item_id)})
        return cur.rowcount == 1

    def find(
        self,
        status: str | Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
        order_by: str = "created",
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[Item]:
        """Items by status and data-field equality, sorted by ``order_by`` (a column among
        id, status, created, updated or a data field; ``-`` first for descending)."""
        clause, params = self._filter(status, where)
        order, params = _order(self.store, order_by, params)
        sql = f"SELECT * FROM collection_items WHERE {clause} ORDER BY {order}"
        p = self.store.placeholder.format
        if limit is not None:
            params["limit"] = _count(limit, "limit", MAX_LIMIT)
            sql += f" LIMIT {p('limit')}"
        elif offset:
            sql += " LIMIT -1" if self.store.dialect == "sqlite" else " LIMIT ALL"
        if offset:
            params["offset"] = _count(offset, "offset")
            sql += f" OFFSET {p('offset')}"
        return [self._item(r) for r in self.store._execute(sql, params).fetchall()]

    def count(
        self, status: str | Sequence[str] | None = None, where: Mapping[str, Any] | None = None
    ) -> int:
        clause, params = self._filter(status, where)
        row = self.store._execute(
            f"SELECT count(*) FROM collection_items WHERE {clause}", params
        ).fetchone()
        return int(row[0])

    def __len__(self) -> int:
        return self.count()

    def _filter(
        self, status: str | Sequence[str] | None, where: Mapping[str, Any] | None
    ) -> tuple[str, dict[str, Any]]:
        store = self.store
        p = store.placeholder.format
        clauses = [f"collection = {p('collection')}"]
        params: dict[str, Any] = {"collection": self.name}
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            params["statuses"] = store.list_param([_status(s) for s in statuses])
            clauses.append(store._in_list("status", "statuses"))
        if where is not None and not isinstance(where, Mapping):
            raise InvalidInput("where must be a mapping of data field → value")
        for index, (name, value) in enumerate(sorted((where or {}).items())):
            clauses.append(_match(store, _field(name), value, f"w{index}", params))
        return " AND ".join(clauses), params


def _match(store: Store, field: str, value: Any, key: str, params: dict[str, Any]) -> str:
    """A clause: data field ``field`` equals the JSON scalar ``value``, type and all."""
    p = store.placeholder.format
    if not (value is None or isinstance(value, str | int | float)) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise InvalidInput(
            f"filter on {field!r}: give a string, number, true/false or null, not {value!r}"
        )
    if isinstance(value, str):
        check_text(value, f"filter on {field!r}")  # what no stored item can hold
    if store.dialect == "postgres":
        if value is None:
            params[key] = field.split(".")
            return f"coalesce(jsonb_typeof(data #> {p(key)}::text[]), 'null') = 'null'"
        nested: Any = value
        for part in reversed(field.split(".")):
            nested = {part: nested}
        params[key] = json.dumps(nested, ensure_ascii=False)
        return f"data @> {p(key)}::jsonb"
    params[key] = "$." + field
    kind = f"json_type(data, {p(key)})"
    if value is None:
        return f"coalesce({kind}, 'null') = 'null'"
    if isinstance(value, bool):
        return f"{kind} = '{'true' if value else 'false'}'"
    params[key + "v"] = value
    types = "'text'" if isinstance(value, str) else "'integer', 'real'"
    return f"{kind} IN ({types}) AND json_extract(data, {p(key)}) = {p(key + 'v')}"


def _order(store: Store, order_by: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if not isinstance(order_by, str) or not order_by.lstrip("-"):
        raise InvalidInput(f"invalid order_by {order_by!r}")
    direction = "DESC" if order_by.startswith("-") else "ASC"
    name = order_by.lstrip("-")
    if name in COLUMNS:
        return f"{name} {direction}, id {direction}", params
    field = _field(name.removeprefix("data."))
    p = store.placeholder.format
    if store.dialect == "postgres":
        params["order"] = field.split(".")
        expr = f"data #> {p('order')}::text[]"
    else:
        params["order"] = "$." + field
        expr = f"json_extract(data, {p('order')})"
    return f"{expr} {direction} NULLS LAST, id {direction}", params


def _field(name: Any) -> str:
    if not isinstance(name, str) or not FIELD.match(name):
        raise InvalidInput(
            f"invalid data field {name!r}: use letters, digits and _ (not first), "
            "dotted for nesting (address.city)"
        )
    return name


def _status(status: Any) -> str:
    if not isinstance(status, str) or not status.strip() or len(status) > 100:
        raise InvalidInput(f"invalid item status {status!r}: give a non-empty string")
    return check_text(status, f"item status {status!r}")


def _id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput(f"invalid item id {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"invalid item id {value!r}: ids are whole numbers") from None
    if number < 1:
        raise InvalidInput(f"invalid item id {value!r}: ids are whole numbers >= 1")
    return number


def _count(value: Any, what: str, most: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{what} must be a whole number >= 0, got {value!r}")
    if most is not None and value > most:
        raise InvalidInput(f"{what} must be at most {most}, got {value}")
    return value


def names(yard: Yard) -> list[dict[str, Any]]:
    """Every collection with its item count, in all and per status."""
    found: dict[str, dict[str, Any]] = {}
    for row in yard.store.execute("collection_names").fetchall():
        entry = found.setdefault(str(row[0]), {"name": str(row[0]), "items": 0, "statuses": {}})
        entry["items"] += int(row[2])
        entry["statuses"][str(row[1])] = int(row[2])
    return list(found.values())


def script_call(yard: Yard, args: Sequence[Any]) -> Any:
    """The collection API as one JSON call, for scripts (arguments and result are JSON):

    ``[name, "insert", data, status?]`` → item; ``[name, "get", id]`` → item;
    ``[name, "update", id, {"status"?, "data"?}]`` → item; ``[name, "delete", id]`` → bool;
    ``[name, "find", {"status"?, "where"?, "order_by"?, "limit"?, "offset"?}]`` → [item];
    ``[name, "count", {"status"?, "where"?}]`` → int. Items are ``Item.to_dict()``.
    """
    if len(args) < 2 or not isinstance(args[0], str) or not isinstance(args[1], str):
        raise InvalidInput("collection call: give [name, method, arguments...]")
    coll, method, rest = Collection(yard, args[0]), args[1], list(args[2:])

    def options(allowed: tuple[str, ...]) -> dict[str, Any]:
        given = rest[0] if rest else {}
        if len(rest) > 1 or not isinstance(given, dict) or set(given) - set(allowed):
            raise InvalidInput(f"collection {method}: give one object with {', '.join(allowed)}")
        return given

    if method == "insert" and 1 <= len(rest) <= 2:
        return coll.insert(*rest).to_dict()
    if method in ("get", "delete") and len(rest) == 1:
        return coll.get(rest[0]).to_dict() if method == "get" else coll.delete(rest[0])
    if method == "update" and len(rest) == 2 and isinstance(rest[1], dict):
        changes = rest[1]
        if set(changes) - {"status", "data"}:
            raise InvalidInput("collection update: change status and/or data")
        return coll.update(rest[0], changes.get("status"), changes.get("data", _UNSET)).to_dict()
    if method == "find":
        found = coll.find(**options(("status", "where", "order_by", "limit", "offset")))
        return [i.to_dict() for i in found]
    if method == "count":
        return coll.count(**options(("status", "where")))
    raise InvalidInput(
        f"collection call {method!r} with {len(rest)} argument(s): use insert, get, update, "
        "delete, find or count"
    )
