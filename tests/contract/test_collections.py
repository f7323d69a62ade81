"""Item collections on every backend: CRUD, filters done in SQL, sorting, paging."""

from __future__ import annotations

import pytest

from jobyard import InvalidInput, NotFound, Yard
from jobyard.collections import names, script_call


@pytest.fixture
def people(yard: Yard) -> list[int]:
    coll = yard.collection("people")
    rows = [
        ({"name": "ann", "age": 30, "admin": True, "city": {"name": "Paris"}}, "new"),
        ({"name": "bob", "age": 25.0, "admin": False, "city": {"name": "Lyon"}}, "done"),
        ({"name": "cy", "age": "30", "admin": 1}, "new"),
        ({"name": "dee", "age": None}, "failed"),
        ({"name": "eve", "age": 41, "city": {"name": "Paris"}}, "done"),
    ]
    return [coll.insert(data, status).id for data, status in rows]


def test_insert_get_update_delete(yard: Yard) -> None:
    coll = yard.collection("profiles")
    item = coll.insert({"url": "https://example.org", "tags": ["a", "b"]})
    assert item.status == "new" and item.collection == "profiles"
    assert item.created == item.updated
    got = coll.get(item.id)
    assert got.data == {"url": "https://example.org", "tags": ["a", "b"]}
    changed = coll.update(item.id, status="done")
    assert changed.status == "done" and changed.data == got.data
    assert changed.updated >= got.updated
    assert coll.update(item.id, data={"url": "x"}).data == {"url": "x"}
    assert coll.update(item.id, data=None).data is None  # null, not "unchanged"
    assert coll.get(item.id).status == "done"
    assert coll.delete(item.id) is True
    assert coll.delete(item.id) is False
    with pytest.raises(NotFound):
        coll.get(item.id)
    with pytest.raises(NotFound):
        coll.update(item.id, status="x")
    assert item.to_dict()["created"].endswith("+00:00")


def test_collections_are_separate(yard: Yard) -> None:
    a, b = yard.collection("a"), yard.collection("b")
    item = a.insert(1)
    b.insert(2)
    b.insert(3, status="done")
    with pytest.raises(NotFound):
        b.get(item.id)
    assert b.delete(item.id) is False
    assert (a.count(), b.count(), len(b)) == (1, 2, 2)
    assert names(yard) == [
        {"name": "a", "items": 1, "statuses": {"new": 1}},
        {"name": "b", "items": 2, "statuses": {"done": 1, "new": 1}},
    ]


def test_find_by_status(yard: Yard, people: list[int]) -> None:
    coll = yard.collection("people")
    assert [i.id for i in coll.find(status="new")] == [people[0], people[2]]
    assert [i.id for i in coll.find(status=["done", "failed"])] == [people[i] for i in (1, 3, 4)]
    assert coll.count(status="done") == 2


def test_where_compares_json_values_with_their_type(yard: Yard, people: list[int]) -> None:
    coll = yard.collection("people")

    def ids(**where: object) -> list[int]:
        return [people.index(i.id) for i in coll.find(where=where)]

    assert ids(age=30) == [0]  # not "30" (a string), and 25.0 is not 30
    assert ids(age=25) == [1]  # 25 matches 25.0
    assert ids(age="30") == [2]
    assert ids(admin=True) == [0]  # not 1
    assert ids(admin=1) == [2]  # not true
    assert ids(admin=False) == [1]
    assert ids(age=None) == [3]  # null ...
    assert ids(admin=None) == [3, 4]  # ... or missing
    assert ids(**{"city.name": "Paris"}) == [0, 4]
    assert ids(name="eve", age=41) == [4]
    assert [people.index(i.id) for i in coll.find("done", {"city.name": "Paris"})] == [4]
    assert coll.count(where={"city.name": "Paris"}) == 2


def test_order_by_columns_and_data_fields(yard: Yard, people: list[int]) -> None:
    coll = yard.collection("people")

    def order(by: str) -> list[int]:
        return [people.index(i.id) for i in coll.find(order_by=by)]

    assert order("created") == [0, 1, 2, 3, 4]
    assert order("-id") == [4, 3, 2, 1, 0]
    coll.update(people[2], status="seen")
    assert order("-updated")[0] == 2
    assert order("name") == [0, 1, 2, 3, 4]
    assert order("-data.name") == [4, 3, 2, 1, 0]
    # Numbers sort as numbers; missing fields come last either way.
    assert order("city.name") == [1, 0, 4, 2, 3]  # Lyon, Paris, Paris (by id), missing
    assert order("-city.name") == [4, 0, 1, 3, 2]
    numeric = [people.index(i.id) for i in coll.find(where={"admin": None}, order_by="-age")]
    assert numeric == [4, 3]


def test_limit_and_offset_page_through(yard: Yard) -> None:
    coll = yard.collection("many")
    ids = [coll.insert({"n": n}).id for n in range(25)]
    pages = [coll.find(limit=10, offset=o) for o in (0, 10, 20)]
    assert [[i.id for i in p] for p in pages] == [ids[0:10], ids[10:20], ids[20:25]]
    assert [i.data["n"] for i in coll.find(order_by="-n", limit=3)] == [24, 23, 22]
    assert len(coll.find(limit=None, offset=5)) == 20
    assert coll.find(limit=0) == []


@pytest.mark.parametrize(
    "field",
    ["a') OR 1=1 --", "a b", "1abc", "a..b", "$.a", "a[0]", "", "a;DROP TABLE jobs"],
)
def test_field_names_are_checked(yard: Yard, people: list[int], field: str) -> None:
    coll = yard.collection("people")
    with pytest.raises(InvalidInput, match="invalid data field"):
        coll.find(where={field: 1})
    with pytest.raises(InvalidInput):
        coll.find(order_by=field or "-")
    assert coll.count() == 5


def test_bad_arguments(yard: Yard) -> None:
    coll = yard.collection("c")
    for bad in ([1], {"a": 1}, float("nan")):
        with pytest.raises(InvalidInput, match="give a string, number"):
            coll.find(where={"a": bad})
    with pytest.raises(InvalidInput, match="limit"):
        coll.find(limit=-1)
    with pytest.raises(InvalidInput, match="offset"):
        coll.find(offset=-2)
    with pytest.raises(InvalidInput, match="status"):
        coll.insert({}, status="")
    with pytest.raises(InvalidInput, match="NUL"):
        coll.insert({"a": "x\x00y"})
    with pytest.raises(InvalidInput, match="JSON"):
        coll.insert({"a": object()})
    with pytest.raises(InvalidInput, match="collection name"):
        yard.collection("has space")
    with pytest.raises(InvalidInput, match="item id"):
        coll.get(0)


def test_script_call_speaks_json(yard: Yard) -> None:
    item = script_call(yard, ["jobs-to-do", "insert", {"url": "u"}, "todo"])
    assert item["status"] == "todo" and item["data"] == {"url": "u"}
    assert script_call(yard, ["jobs-to-do", "get", item["id"]])["id"] == item["id"]
    done = script_call(yard, ["jobs-to-do", "update", item["id"], {"status": "done"}])
    assert done["status"] == "done" and done["data"] == {"url": "u"}
    found = script_call(yard, ["jobs-to-do", "find", {"status": "done", "where": {"url": "u"}}])
    assert [f["id"] for f in found] == [item["id"]]
    assert script_call(yard, ["jobs-to-do", "count", {}]) == 1
    assert script_call(yard, ["jobs-to-do", "delete", item["id"]]) is True
    for bad in (["x"], ["x", "explode"], ["x", "find", {"evil": 1}], ["x", "update", 1, {"id": 2}]):
        with pytest.raises(InvalidInput):
            script_call(yard, bad)
