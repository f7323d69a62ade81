"""jobyard.i18n: choosing the language, translating, plurals, the context variable."""

from __future__ import annotations

import threading

import pytest

from jobyard import i18n
from jobyard.errors import InvalidTransition, UnknownJobType
from jobyard.i18n import _, n_


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "en"),
        ("", "en"),
        ("ru", "ru"),
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("en-US,en;q=0.9,ru;q=0.8", "en"),
        ("de-DE,de;q=0.9,ru;q=0.5,en;q=0.4", "ru"),
        ("fr,de", "en"),
        ("en;q=0.2, ru;q=0.8", "ru"),
        ("ru;q=0, en", "en"),
        ("ru;q=abc", "en"),
        ("*", "en"),
        (";;,,q=", "en"),
    ],
)
def test_negotiate_accept_language(header: str | None, lang: str) -> None:
    assert i18n.negotiate(header) == lang


def test_choose_names_the_choices_for_a_bad_value() -> None:
    assert i18n.choose("ru") == "ru"
    assert i18n.choose("ru_RU.UTF-8") == "ru"
    assert i18n.choose("EN") == "en"
    with pytest.raises(ValueError, match=r"unknown language 'de'; choose one of: en, ru"):
        i18n.choose("de")


@pytest.mark.parametrize(
    ("n", "word"),
    [
        (1, "задание"),
        (2, "задания"),
        (4, "задания"),
        (5, "заданий"),
        (11, "заданий"),
        (21, "задание"),
        (22, "задания"),
        (25, "заданий"),
        (111, "заданий"),
    ],
)
def test_russian_plurals(n: int, word: str) -> None:
    with i18n.use("ru"):
        text = n_("batch {id}: {n} job(s)", "batch {id}: {n} job(s)", n, id=7)
    assert text == f"пакет 7: {n} {word}"


def test_english_is_the_msgid_itself() -> None:
    assert n_("batch {id}: {n} job(s)", "batch {id}: {n} job(s)", 5, id=7) == "batch 7: 5 job(s)"
    assert _("{{literal}} {x}", x=1) == "{literal} 1"


def test_errors_are_made_in_the_current_language() -> None:
    with i18n.use("ru"):
        err = UnknownJobType("nope", [])
        moved = InvalidTransition(3, "cancel", "completed", ["ready", "waiting"])
    assert (
        str(err)
        == "неизвестный тип задания 'nope'; известные типы: пока ни одного не зарегистрировано"
    )
    assert "или" in str(moved) and "cancel" in str(moved)
    assert (
        str(UnknownJobType("nope", []))
        == "unknown job type 'nope'; known types: none registered yet"
    )


def test_the_language_is_per_context_not_global() -> None:
    seen: list[str] = []
    with i18n.use("ru"):
        worker = threading.Thread(target=lambda: seen.append(i18n.current()))
        worker.start()
        worker.join()
        assert i18n.current() == "ru"
    assert i18n.current() == "en"
    assert seen == ["en"]  # a plain thread (a worker writing to the store) stays English
