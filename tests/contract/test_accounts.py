"""Accounts on every backend (the store mixin store/accounts.py under jobyard.accounts):
users, tokens, sessions, setup links, login limits, audit."""

from __future__ import annotations

import time

import pytest

from jobyard import Yard, accounts
from jobyard.errors import AuthError, InvalidInput, NotFound, RateLimited


def test_users_are_hashed_with_argon2_and_unique(yard: Yard) -> None:
    store = yard.store
    u = accounts.add_user(store, "ann", "operator", "correct horse")
    assert u.password_hash.startswith("$argon2id$") and "correct horse" not in u.password_hash
    with pytest.raises(InvalidInput, match="exists already"):
        accounts.add_user(store, "ann", "viewer", "another one!")
    with pytest.raises(InvalidInput, match="at least 8"):
        accounts.add_user(store, "bob", "viewer", "short")
    with pytest.raises(InvalidInput, match="roles"):
        accounts.add_user(store, "bob", "worker", "long enough")
    with pytest.raises(InvalidInput, match="invalid user name"):
        accounts.add_user(store, "bad name\x00", "viewer", "long enough")
    assert [x.name for x in store.users()] == ["ann"]


def test_login_makes_a_session_and_logout_ends_it(yard: Yard) -> None:
    store = yard.store
    accounts.add_user(store, "ann", "admin", "correct horse")
    with pytest.raises(AuthError, match="wrong user name or password"):
        accounts.login(store, "ann", "wrong horse", "10.0.0.1")
    with pytest.raises(AuthError, match="wrong user name or password"):
        accounts.login(store, "nobody", "correct horse", "10.0.0.1")
    s = accounts.login(store, "ann", "correct horse", "10.0.0.1")
    found = accounts.check_session(store, s.secret, time.time())
    assert found is not None and found.name == "ann" and found.csrf == s.csrf
    assert accounts.check_session(store, s.secret + "x", time.time()) is None
    assert accounts.check_session(store, s.secret, s.expires + 1) is None  # expired
    accounts.logout(store, s.secret)
    assert accounts.check_session(store, s.secret, time.time()) is None


def test_failed_logins_are_rate_limited_even_with_the_right_password(yard: Yard) -> None:
    store = yard.store
    accounts.add_user(store, "ann", "admin", "correct horse")
    for _ in range(accounts.MAX_USER_FAILURES):
        with pytest.raises(AuthError):
            accounts.login(store, "ann", "guess", "10.0.0.2")
    with pytest.raises(RateLimited) as info:
        accounts.login(store, "ann", "correct horse", "10.0.0.3")
    assert info.value.retry_after > 0


def test_tokens_expire_are_revoked_and_record_last_use(yard: Yard) -> None:
    store = yard.store
    new = accounts.create_token(store, "ci", "operator", 3600)
    assert new.secret.startswith("jy_") and len(new.secret) > 40
    assert all(new.secret not in str(t) for t in store.tokens())  # only its hash is kept
    now = time.time()
    row = accounts.check_token(store, new.secret, now)
    assert row is not None and row.role == "operator"
    assert store.tokens()[0].last_used is not None
    assert accounts.check_token(store, new.secret, now + 7200) is None  # expired
    assert accounts.check_token(store, "jy_" + "x" * 43, now) is None
    accounts.revoke_token(store, new.row.id)
    assert accounts.check_token(store, new.secret, now) is None
    with pytest.raises(NotFound):
        accounts.revoke_token(store, 999)


def test_removing_a_user_removes_their_sessions_and_tokens(yard: Yard) -> None:
    store = yard.store
    accounts.add_user(store, "ann", "operator", "correct horse")
    s = accounts.login(store, "ann", "correct horse", None)
    t = accounts.create_token(store, "mine", "viewer", None, user="ann")
    accounts.remove_user(store, "ann")
    assert accounts.check_session(store, s.secret, time.time()) is None
    assert accounts.check_token(store, t.secret, time.time()) is None


def test_setup_link_works_once_and_only_before_the_first_user(yard: Yard) -> None:
    store = yard.store
    secret = accounts.setup_link(store)
    assert secret is not None
    with pytest.raises(AuthError, match="unknown, used or expired"):
        accounts.setup_admin(store, "not-it", "root", "correct horse")
    assert store.count_users() == 0  # a refused setup writes nothing
    accounts.setup_admin(store, secret, "root", "correct horse")
    assert store.user_by_name("root").role == "admin"  # type: ignore[union-attr]
    with pytest.raises(AuthError, match="setup is done"):
        accounts.setup_admin(store, secret, "again", "correct horse")
    assert accounts.setup_link(store) is None


def test_audit_pages_newest_first(yard: Yard) -> None:
    store = yard.store
    for i in range(5):
        accounts.audit(store, "ann", "admin", "session", "POST /x", f"/x/{i}", "127.0.0.1", "ok")
    accounts.audit(store, "bob", "viewer", "token", "GET /y", "/y", None, "refused")
    rows = accounts.audit_page(store, "ann", None, None, 3)
    assert [r.target for r in rows] == ["/x/4", "/x/3", "/x/2"]
    older = accounts.audit_page(store, "ann", None, rows[-1].id, 10)
    assert [r.target for r in older] == ["/x/1", "/x/0"]
    assert accounts.audit_page(store, None, "GET /y", None, 10)[0].actor == "bob"


def test_the_last_admin_cannot_be_removed_or_demoted(yard: Yard) -> None:
    store = yard.store
    accounts.add_user(store, "root", "admin", "correct horse")
    with pytest.raises(InvalidInput, match="last admin"):
        accounts.remove_user(store, "root")
    with pytest.raises(InvalidInput, match="last admin"):
        accounts.set_role(store, "root", "viewer")
    assert store.user_by_name("root").role == "admin"  # type: ignore[union-attr]
    accounts.add_user(store, "second", "admin", "correct horse")
    accounts.set_role(store, "root", "viewer")
    assert store.count_users("admin") == 1 and store.count_users() == 2
    with pytest.raises(NotFound):
        accounts.remove_user(store, "nobody")


def test_a_new_password_ends_the_sessions_and_the_old_one_stops_working(yard: Yard) -> None:
    store = yard.store
    accounts.add_user(store, "ann", "viewer", "correct horse")
    s = accounts.login(store, "ann", "correct horse", None)
    accounts.set_password(store, "ann", "battery staple")
    assert accounts.check_session(store, s.secret, time.time()) is None
    with pytest.raises(AuthError):
        accounts.login(store, "ann", "correct horse", None)
    assert accounts.login(store, "ann", "battery staple", None).user.name == "ann"


def test_last_use_is_written_at_most_once_a_minute(yard: Yard) -> None:
    store = yard.store
    new = accounts.create_token(store, "ci", "viewer", None)
    assert store.tokens()[0].last_used is None
    t0 = time.time()
    accounts.check_token(store, new.secret, t0)
    assert store.tokens()[0].last_used == pytest.approx(t0)
    accounts.check_token(store, new.secret, t0 + 30)  # within the minute: no write
    assert store.tokens()[0].last_used == pytest.approx(t0)
    accounts.check_token(store, new.secret, t0 + accounts.TOUCH_EVERY + 1)
    assert store.tokens()[0].last_used == pytest.approx(t0 + accounts.TOUCH_EVERY + 1)


def test_retry_after_counts_from_the_oldest_failure(yard: Yard) -> None:
    store = yard.store
    now = time.time()
    key = "user:ann"
    for age in (50, 40, 30, 20, 10):  # five failures, the oldest 50 s ago
        store.add_login_failure(key, now - age)
    assert store.login_failures(key, now - accounts.FAILURE_WINDOW) == (5, pytest.approx(now - 50))
    with pytest.raises(RateLimited) as info:
        accounts.login(store, "ann", "whatever it is", None)
    assert 9 <= info.value.retry_after <= 11  # the oldest leaves the window in ~10 s
    assert store.login_failures(key, now - accounts.FAILURE_WINDOW)[0] == 5  # not counted


def test_one_address_is_limited_across_user_names(yard: Yard) -> None:
    store = yard.store
    accounts.add_user(store, "ann", "viewer", "correct horse")
    for i in range(accounts.MAX_ADDRESS_FAILURES):
        with pytest.raises(AuthError):
            accounts.login(store, f"guess{i}", "nope nope", "10.9.9.9")
    with pytest.raises(RateLimited):
        accounts.login(store, "ann", "correct horse", "10.9.9.9")
    # ann from elsewhere is not locked out by someone else's guessing
    assert accounts.login(store, "ann", "correct horse", "10.1.1.1").user.name == "ann"


def test_an_expired_setup_link_is_refused(yard: Yard) -> None:
    store = yard.store
    secret = "s" * 43
    now = time.time()
    store.insert_setup_link(accounts.digest(secret), now - 7200, now - 3600)
    with pytest.raises(AuthError, match="unknown, used or expired"):
        accounts.setup_admin(store, secret, "root", "correct horse")
    assert store.count_users() == 0


def test_audit_filters_by_outcome_and_time(yard: Yard) -> None:
    store = yard.store
    accounts.audit(store, "ann", "admin", "token", "POST /a", "/a", None, "ok")
    accounts.audit(
        store, "ann", "admin", "token", "POST /b", "/b", None, "refused", {"status": 403}
    )
    refused = accounts.audit_page(store, None, None, None, 10, outcome="refused")
    assert [(r.target, r.detail) for r in refused] == [("/b", {"status": 403})]
    assert accounts.audit_page(store, None, None, None, 10, since=time.time() + 60) == []
    assert len(accounts.audit_page(store, None, None, None, 10, since=time.time() - 60)) == 2


def test_a_nonce_is_used_once_across_store_handles(yard: Yard, store_url: str) -> None:
    """The replay guard's nonces (Slack request signatures) are in the store: a second
    process (here a second handle on the same database) refuses what the first saw, until
    the nonce is older than its keep time."""
    other = Yard(store_url)
    try:
        assert yard.store.use_nonce("v0=abc", 1000.0, 600.0) is True
        assert other.store.use_nonce("v0=abc", 1001.0, 600.0) is False
        assert yard.store.use_nonce("v0=abc", 1599.0, 600.0) is False  # still kept
        assert other.store.use_nonce("v0=def", 1599.0, 600.0) is True
        assert yard.store.use_nonce("v0=abc", 1601.0, 600.0) is True  # pruned, then new
    finally:
        other.close()


def test_a_users_language_is_kept_checked_and_forgotten(yard: Yard) -> None:
    store = yard.store
    ann = accounts.add_user(store, "ann", "operator", "correct horse")
    assert ann.lang is None  # never chose
    assert accounts.set_language(store, "ann", "ru_RU.UTF-8").lang == "ru"
    assert store.user_by_name("ann").lang == "ru"  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match=r"unknown language 'de'; choose one of: en, ru"):
        accounts.set_language(store, "ann", "de")
    with pytest.raises(NotFound, match="no user 'bob'"):
        accounts.set_language(store, "bob", "ru")
    assert store.user_by_name("ann").lang == "ru"  # type: ignore[union-attr]
    assert accounts.set_language(store, "ann", None).lang is None
    # the web UI's switch: kept only when it is a shipped language, written only on a change
    accounts.remember_language(store, ann.id, "xx")
    assert store.user_by_name("ann").lang is None  # type: ignore[union-attr]
    accounts.remember_language(store, ann.id, "ru-RU")
    before = store.user_by_name("ann")
    assert before is not None and before.lang == "ru"
    time.sleep(0.01)
    accounts.remember_language(store, ann.id, "ru")
    assert store.user_by_name("ann") == before  # the same choice again: nothing written
    accounts.remember_language(store, 999_999, "ru")  # a user removed meanwhile: no error
