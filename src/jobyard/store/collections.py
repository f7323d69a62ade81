"""Item collections (``jobyard.collections``): rows ``{id, status, data, created, updated}``
of named collections, and their finds by status and data-field equality.

The caller checks names, fields and values; the SQL of a filter is built here, per dialect:
SQLite ``json_type``/``json_extract``, PostgreSQL jsonb containment (``data @> ...``,
served by a GIN index) and ``#>``. Fields and values are always bound parameters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jobyard.model import iso
from jobyard.store.core import StoreCore


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


@dataclass
class ItemOrder:
    """Sort by a column (``id``, ``status``, ``created``, ``updated``) or a data field."""

    name: str
    column: bool
    descending: bool = False


class ItemsSQL:
    """How a dialect spells the data-field parts of a find."""

    no_limit = ""

    def match(self, field: str, value: Any, key: str, params: dict[str, Any]) -> str:
        raise NotImplementedError

    def order(self, field: str, params: dict[str, Any]) -> str:
        raise NotImplementedError


class SQLiteItemsSQL(ItemsSQL):
    no_limit = " LIMIT -1"

    def match(self, field: str, value: Any, key: str, params: dict[str, Any]) -> str:
        params[key] = "$." + field
        kind = f"json_type(data, :{key})"
        if value is None:
            return f"coalesce({kind}, 'null') = 'null'"
        if isinstance(value, bool):
            return f"{kind} = '{'true' if value else 'false'}'"
        params[key + "v"] = value
        types = "'text'" if isinstance(value, str) else "'integer', 'real'"
        return f"{kind} IN ({types}) AND json_extract(data, :{key}) = :{key}v"

    def order(self, field: str, params: dict[str, Any]) -> str:
        params["order"] = "$." + field
        return "json_extract(data, :order)"


class PostgresItemsSQL(ItemsSQL):
    no_limit = " LIMIT ALL"

    def match(self, field: str, value: Any, key: str, params: dict[str, Any]) -> str:
        if value is None:
            params[key] = field.split(".")
            return f"coalesce(jsonb_typeof(data #> %({key})s::text[]), 'null') = 'null'"
        nested: Any = value
        for part in reversed(field.split(".")):
            nested = {part: nested}
        params[key] = json.dumps(nested, ensure_ascii=False)
        return f"data @> %({key})s::jsonb"

    def order(self, field: str, params: dict[str, Any]) -> str:
        params["order"] = field.split(".")
        return "data #> %(order)s::text[]"


class CollectionsMixin(StoreCore):
    items_sql: ItemsSQL

    def _item(self, row: Any) -> Item:
        return Item(
            int(row["id"]),
            str(row["collection"]),
            str(row["status"]),
            self.decode_json(row["data"]),
            float(row["created"]),
            float(row["updated"]),
        )

    def _one_item(self, name: str, params: dict[str, Any]) -> Item | None:
        row = self.execute(name, params).fetchone()
        return None if row is None else self._item(row)

    def insert_item(self, collection: str, status: str, data_json: str, now: float) -> Item:
        """Add an item (its data as the JSON text the caller checked); returns it."""
        params = {"collection": collection, "status": status, "data": data_json, "now": now}
        item = self._one_item("collection_insert", params)
        assert item is not None  # RETURNING always gives the new row
        return item

    def get_item(self, collection: str, item_id: int) -> Item | None:
        return self._one_item("collection_get", {"collection": collection, "id": item_id})

    def update_item(
        self,
        collection: str,
        item_id: int,
        status: str | None,
        data_json: str | None,
        now: float,
    ) -> Item | None:
        """Change an item's status and/or data (None: unchanged); None if there is none."""
        params = {
            "collection": collection,
            "id": item_id,
            "status": status,
            "data": data_json,
            "now": now,
        }
        return self._one_item("collection_update", params)

    def delete_item(self, collection: str, item_id: int) -> bool:
        params = {"collection": collection, "id": item_id}
        return self.execute("collection_delete", params).rowcount == 1

    def collection_counts(self) -> list[tuple[str, str, int]]:
        """``(collection, status, items)`` for every collection and status, sorted."""
        rows = self.execute("collection_names").fetchall()
        return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]

    def find_items(
        self,
        collection: str,
        statuses: Sequence[str] | None,
        where: Sequence[tuple[str, Any]],
        order: ItemOrder,
        limit: int | None,
        offset: int = 0,
    ) -> list[Item]:
        """Items by status and data-field equality (``where``: checked ``(field, JSON
        scalar)`` pairs, a value matching only its own type; None matches null or missing)."""
        clause, params = self._item_filter(collection, statuses, where)
        direction = "DESC" if order.descending else "ASC"
        if order.column:
            by = f"{order.name} {direction}, id {direction}"
        else:
            by = (
                f"{self.items_sql.order(order.name, params)} {direction} NULLS LAST, id {direction}"
            )
        sql = f"SELECT * FROM collection_items WHERE {clause} ORDER BY {by}"
        p = self.placeholder.format
        if limit is not None:
            params["limit"] = limit
            sql += f" LIMIT {p('limit')}"
        elif offset:
            sql += self.items_sql.no_limit
        if offset:
            params["offset"] = offset
            sql += f" OFFSET {p('offset')}"
        return [self._item(r) for r in self._execute(sql, params).fetchall()]

    def count_items(
        self, collection: str, statuses: Sequence[str] | None, where: Sequence[tuple[str, Any]]
    ) -> int:
        clause, params = self._item_filter(collection, statuses, where)
        sql = f"SELECT count(*) FROM collection_items WHERE {clause}"
        return int(self._execute(sql, params).fetchone()[0])

    def _item_filter(
        self, collection: str, statuses: Sequence[str] | None, where: Sequence[tuple[str, Any]]
    ) -> tuple[str, dict[str, Any]]:
        clauses = [f"collection = {self.placeholder.format('collection')}"]
        params: dict[str, Any] = {"collection": collection}
        if statuses is not None:
            params["statuses"] = self.list_param(list(statuses))
            clauses.append(self._in_list("status", "statuses"))
        for index, (field, value) in enumerate(where):
            clauses.append(self.items_sql.match(field, value, f"w{index}", params))
        return " AND ".join(clauses), params
