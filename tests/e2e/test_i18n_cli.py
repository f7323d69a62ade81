"""The CLI in Russian, as a real subprocess: ``--lang ru`` and ``JOBYARD_LANG=ru``; a bad
language is one English line listing the choices, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import cli_env, run_cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = cli_env(tmp_path / "cli.db", "tests.e2e.cli_app")
    env.pop("JOBYARD_LANG", None)
    return env


def test_lang_option_error_in_russian_exit_2(env: dict[str, str]) -> None:
    out = run_cli(env, "--lang", "ru", "submit", "nope")
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [
        "jobyard: ошибка: неизвестный тип задания 'nope'; известные типы: add, boom"
    ], out.stderr
    english = run_cli(env, "submit", "nope")
    assert english.stderr.strip() == (
        "jobyard: error: unknown job type 'nope'; known types: add, boom"
    )


def test_env_lang_listing_header_and_plural_in_russian(env: dict[str, str]) -> None:
    assert run_cli(env, "submit", "add", "a=1", "b=2").returncode == 0
    ru = {**env, "JOBYARD_LANG": "ru_RU.UTF-8"}
    out = run_cli(ru, "jobs")
    assert out.returncode == 0, out.stderr
    header = out.stdout.splitlines()[0].split()
    assert header[:4] == ["id", "тип", "очередь", "статус"], out.stdout
    # --json stays data: English field names and statuses whatever the language
    jobs = json.loads(run_cli(ru, "jobs", "--json").stdout)
    assert jobs[0]["status"] == "ready"
    bad = run_cli(ru, "job", "cancel", "99")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "jobyard: ошибка: нет задания с id 99", bad.stderr
    # --lang wins over the environment
    assert run_cli(ru, "--lang", "en", "job", "cancel", "99").stderr.startswith("jobyard: error:")


@pytest.mark.parametrize(
    ("args", "extra", "source"),
    [
        (["--lang", "de", "jobs"], {}, "--lang"),
        (["jobs"], {"JOBYARD_LANG": "klingon"}, "JOBYARD_LANG"),
    ],
)
def test_bad_language_is_one_line_exit_2(
    env: dict[str, str], args: list[str], extra: dict[str, str], source: str
) -> None:
    out = run_cli({**env, **extra}, *args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"jobyard: error: {source}: unknown language")
    assert lines[0].endswith("choose one of: en, ru"), lines


def test_click_usage_error_in_russian_exit_2(env: dict[str, str]) -> None:
    out = run_cli(env, "--lang", "ru", "submit", "--nope")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "jobyard: ошибка: Нет такого параметра '--nope'. Может быть, '--prop'?"
    ], out.stderr
    missing = run_cli({**env, "JOBYARD_LANG": "ru"}, "submit")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "jobyard: ошибка: Не хватает аргумента 'TYPE'."
    english = run_cli(env, "submit", "--nope")
    assert (
        english.stderr.strip() == "jobyard: error: No such option '--nope'. Did you mean '--prop'?"
    )


def test_help_in_russian(env: dict[str, str]) -> None:
    out = run_cli(env, "--lang", "ru", "--help")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.startswith("Использование: jobyard [OPTIONS] COMMAND [ARGS]...")
    for line in (
        "Параметры:",
        "Команды:",
        "Показать эту справку и выйти.",
        "Путь к jobyard.toml (по умолчанию: ./jobyard.toml).",
        "Последние задания, новые последними.",  # a command's short help
    ):
        assert line in text, text
    assert "Show this message" not in text and "Options:" not in text
    batch = run_cli({**env, "JOBYARD_LANG": "ru"}, "batch", "--help")
    assert batch.returncode == 0, batch.stderr
    assert batch.stdout.startswith("Использование: jobyard batch [OPTIONS] ACTIONS...")
    assert "Выполнить ACTIONS на их площадках" in batch.stdout
    assert "Только площадки с этими ролями" in batch.stdout
    assert "[по умолчанию: site-sequential]" in batch.stdout
    # English stays English (the msgid itself)
    assert "Show this message and exit." in run_cli(env, "batch", "--help").stdout


def _configured(env: dict[str, str], tmp_path: Path, body: str) -> dict[str, str]:
    (tmp_path / "jobyard.toml").write_text(body)
    return {**env, "JOBYARD_CONFIG": str(tmp_path / "jobyard.toml"), "JOBYARD_LANG": "ru"}


@pytest.mark.parametrize(
    ("body", "args", "want"),
    [
        (
            "[semaphores.db]\ncount = 0\n",
            ["semaphores"],
            "[semaphores.db] count должно быть целым числом >= 1, получено 0",
        ),
        (
            '[worker]\nrun_as = "no-such-user-i18n"\n',
            ["jobs"],
            "[worker] run_as: на этой машине нет пользователя 'no-such-user-i18n' "
            "(создайте его или исправьте имя)",
        ),
        (
            '[slack]\nsigning_secret = "s"\ntimeout = 99\n',
            ["observers"],
            "[slack]: timeout должно быть больше 0 и не больше 30 секунд",
        ),
    ],
)
def test_config_errors_in_russian(
    env: dict[str, str], tmp_path: Path, body: str, args: list[str], want: str
) -> None:
    out = run_cli(_configured(env, tmp_path, body), *args)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jobyard: ошибка: "), out.stderr
    assert want in lines[0], lines
