"""The views' readers on every backend: pages of the most recent jobs walk back by cursor,
a collection's window and the type table read what the store holds."""

from __future__ import annotations

from jobyard import Yard, views


def test_recent_jobs_page_back_by_cursor(yard: Yard) -> None:
    @yard.job
    def noop(job):  # type: ignore[no-untyped-def]
        return None

    ids = [noop.defer().id for _ in range(5)]
    pages, before = [], None
    while True:
        page = views.recent_jobs(yard, limit=2, before=before)
        pages.append([j.id for j in page.rows])
        if page.before is None:
            break
        before = page.before
    assert pages == [ids[3:], ids[1:3], ids[:1]]  # each page newest last


def test_a_collection_page_and_the_type_table(yard: Yard) -> None:
    coll = yard.collection("c")
    for i in range(5):
        coll.insert({"n": i})
    page = views.collection_page(coll, None, {}, "created", 2, 1)
    assert [i.data["n"] for i in page.items] == [2, 3]
    assert (page.total, page.window) == (5, views.Window(2, 4, 3))
    assert views.collections_summary(yard)[0]["items"] == 5

    @yard.job(queue="q")
    def mine(job):  # type: ignore[no-untyped-def]
        return None

    # a type of this process not recorded yet shows what recording it would store
    (row,) = views.types_table(yard)
    assert (row["name"], row["kind"], row["enabled"], row["queue"]) == ("mine", "python", True, "q")
    assert row["limit"] is None and row["retry"]["retries"] == 0
    yard.sync_types()
    (row,) = views.types_table(yard)
    assert (row["name"], row["queue"], row["on"]) == ("mine", "q", [])
