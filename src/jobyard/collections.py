"""Item collections (Sooner's "queues"): named lists of work items, in the job database.

``yard.collection("profiles")`` gives a :class:`Collection` of items
``{id, status, data, created, updated}`` that jobs insert, update, find and count. (They
are called collections so they are not confused with job queues.)

Filters on data fields run in SQL (built in :mod:`jobyard.store.collections`, per
dialect). A field is a name of identifier characters, dotted for nesting
(``address.city``); it is checked here and then passed as a parameter, never spliced into
the SQL text. A filter value is a JSON scalar compared with its type: ``1`` matches ``1``
and ``1.0``, not ``"1"`` or ``true``; ``None`` matches a null or missing field.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jobyard.errors import InvalidInput, NotFound
from jobyard.i18n import _
from jobyard.limits import check_text, encode_json
from jobyard.store.collections import Item, ItemOrder

if TYPE_CHECKING:
    from jobyard.store.base import Store
    from jobyard.yard import Yard

FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
NAME = re.compile(r"^[\w.:/-]{1,200}$")
COLUMNS = ("id", "status", "created", "updated")
MAX_LIMIT = 10_000
_UNSET: Any = object()


class Collection:
    """One named collection. Every method is one statement (its own transaction, or the
    caller's inside ``yard.store.transaction()``)."""

    def __init__(self, yard: Yard, name: str) -> None:
        if not isinstance(name, str) or not NAME.match(name):
            raise InvalidInput(
                _(
                    "invalid collection name {name!r}: use letters, digits and _ . : / - (1 to "
                    "200 characters)",
                    name=name,
                )
            )
        self.yard = yard
        self.name = name

    def __repr__(self) -> str:
        return f"<Collection {self.name}>"

    @property
    def store(self) -> Store:
        return self.yard.store

    def _encode(self, data: Any) -> str:
        return encode_json(data, "item data", self.yard.config.max_data_bytes, "max_data_bytes")

    def insert(self, data: Any = None, status: str = "new") -> Item:
        """Add an item; returns it with its id."""
        return self.store.insert_item(self.name, _status(status), self._encode(data), time.time())

    def get(self, item_id: int) -> Item:
        item = self.store.get_item(self.name, _id(item_id))
        if item is None:
            raise NotFound(
                _("no item {item_id} in collection {name}", item_id=item_id, name=self.name)
            )
        return item

    def update(self, item_id: int, status: str | None = None, data: Any = _UNSET) -> Item:
        """Change an item's status and/or data (``data=None`` stores null); returns it."""
        item = self.store.update_item(
            self.name,
            _id(item_id),
            None if status is None else _status(status),
            None if data is _UNSET else self._encode(data),
            time.time(),
        )
        if item is None:
            raise NotFound(
                _("no item {item_id} in collection {name}", item_id=item_id, name=self.name)
            )
        return item

    def delete(self, item_id: int) -> bool:
        """Remove an item; False if there was none."""
        return self.store.delete_item(self.name, _id(item_id))

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
        statuses, matches = _filter(status, where)
        order = _order(order_by)
        checked = None if limit is None else _count(limit, "limit", MAX_LIMIT)
        skip = _count(offset, "offset") if offset else 0
        return self.store.find_items(self.name, statuses, matches, order, checked, skip)

    def count(
        self, status: str | Sequence[str] | None = None, where: Mapping[str, Any] | None = None
    ) -> int:
        statuses, matches = _filter(status, where)
        return self.store.count_items(self.name, statuses, matches)

    def __len__(self) -> int:
        return self.count()


def _filter(
    status: str | Sequence[str] | None, where: Mapping[str, Any] | None
) -> tuple[list[str] | None, list[tuple[str, Any]]]:
    """The checked statuses and ``(field, value)`` matches of a find or count."""
    statuses = None
    if status is not None:
        statuses = [_status(s) for s in ([status] if isinstance(status, str) else status)]
    if where is not None and not isinstance(where, Mapping):
        raise InvalidInput(_("where must be a mapping of data field → value"))
    matches = []
    for name, value in sorted((where or {}).items()):
        field = _field(name)
        matches.append((field, _value(field, value)))
    return statuses, matches


def _value(field: str, value: Any) -> Any:
    """A filter value: a JSON scalar that some stored item could hold."""
    if not (value is None or isinstance(value, str | int | float)) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise InvalidInput(
            _(
                "filter on {field!r}: give a string, number, true/false or null, not {value!r}",
                field=field,
                value=value,
            )
        )
    if isinstance(value, str):
        check_text(value, _("filter on {field!r}", field=field))  # what no stored item can hold
    return value


def _order(order_by: str) -> ItemOrder:
    if not isinstance(order_by, str) or not order_by.lstrip("-"):
        raise InvalidInput(_("invalid order_by {order_by!r}", order_by=order_by))
    descending = order_by.startswith("-")
    name = order_by.lstrip("-")
    if name in COLUMNS:
        return ItemOrder(name, True, descending)
    return ItemOrder(_field(name.removeprefix("data.")), False, descending)


def _field(name: Any) -> str:
    if not isinstance(name, str) or not FIELD.match(name):
        raise InvalidInput(
            _(
                "invalid data field {name!r}: use letters, digits and _ (not first), dotted for "
                "nesting (address.city)",
                name=name,
            )
        )
    return name


def _status(status: Any) -> str:
    if not isinstance(status, str) or not status.strip() or len(status) > 100:
        raise InvalidInput(
            _("invalid item status {status!r}: give a non-empty string", status=status)
        )
    return check_text(status, _("item status {status!r}", status=status))


def _id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput(_("invalid item id {value!r}", value=value))
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(
            _("invalid item id {value!r}: ids are whole numbers", value=value)
        ) from None
    if number < 1:
        raise InvalidInput(_("invalid item id {value!r}: ids are whole numbers >= 1", value=value))
    return number


def _count(value: Any, what: str, most: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(
            _("{what} must be a whole number >= 0, got {value!r}", what=what, value=value)
        )
    if most is not None and value > most:
        raise InvalidInput(
            _("{what} must be at most {most}, got {value}", what=what, most=most, value=value)
        )
    return value


def names(yard: Yard) -> list[dict[str, Any]]:
    """Every collection with its item count, in all and per status."""
    found: dict[str, dict[str, Any]] = {}
    for collection, status, items in yard.store.collection_counts():
        entry = found.setdefault(collection, {"name": collection, "items": 0, "statuses": {}})
        entry["items"] += items
        entry["statuses"][status] = items
    return list(found.values())


def script_call(yard: Yard, args: Sequence[Any]) -> Any:
    """The collection API as one JSON call, for scripts (arguments and result are JSON):

    ``[name, "insert", data, status?]`` → item; ``[name, "get", id]`` → item;
    ``[name, "update", id, {"status"?, "data"?}]`` → item; ``[name, "delete", id]`` → bool;
    ``[name, "find", {"status"?, "where"?, "order_by"?, "limit"?, "offset"?}]`` → [item];
    ``[name, "count", {"status"?, "where"?}]`` → int. Items are ``Item.to_dict()``.
    """
    if len(args) < 2 or not isinstance(args[0], str) or not isinstance(args[1], str):
        raise InvalidInput(_("collection call: give [name, method, arguments...]"))
    coll, method, rest = Collection(yard, args[0]), args[1], list(args[2:])

    def options(allowed: tuple[str, ...]) -> dict[str, Any]:
        given = rest[0] if rest else {}
        if len(rest) > 1 or not isinstance(given, dict) or set(given) - set(allowed):
            raise InvalidInput(
                _(
                    "collection {method}: give one object with {allowed}",
                    method=method,
                    allowed=", ".join(allowed),
                )
            )
        return given

    if method == "insert" and 1 <= len(rest) <= 2:
        return coll.insert(*rest).to_dict()
    if method in ("get", "delete") and len(rest) == 1:
        return coll.get(rest[0]).to_dict() if method == "get" else coll.delete(rest[0])
    if method == "update" and len(rest) == 2 and isinstance(rest[1], dict):
        changes = rest[1]
        if set(changes) - {"status", "data"}:
            raise InvalidInput(_("collection update: change status and/or data"))
        return coll.update(rest[0], changes.get("status"), changes.get("data", _UNSET)).to_dict()
    if method == "find":
        found = coll.find(**options(("status", "where", "order_by", "limit", "offset")))
        return [i.to_dict() for i in found]
    if method == "count":
        return coll.count(**options(("status", "where")))
    raise InvalidInput(
        _(
            "collection call {method!r} with {n_rest} argument(s): use insert, get, update, "
            "delete, find or count",
            method=method,
            n_rest=len(rest),
        )
    )
