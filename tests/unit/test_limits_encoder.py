"""jobyard.limits: the one JSON encoder, text rules, CLI JSON parsing and [limits] config."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from jobyard.config import load_config
from jobyard.converge.resolve import parse_assignments
from jobyard.errors import ConfigError, InvalidInput
from jobyard.limits import (
    MAX_WAIT,
    check_text,
    clean_text,
    encode_json,
    finite_json,
    json_or_text,
)
from jobyard.model import Repeat, Retry, retry_delay


def enc(value: object, limit: int = 1000) -> str:
    return encode_json(value, "job data", limit, "max_data_bytes")


def test_nul_is_found_in_json_text_but_an_escaped_backslash_is_not_a_nul() -> None:
    for bad in ("\x00", {"k\x00": 1}, ["a\\\x00"], {"a": ["\\\\\x00"]}):
        with pytest.raises(InvalidInput, match="job data cannot hold NUL"):
            enc(bad)
    # the text backslash-u-0-0-0-0 (and runs of backslashes before it) is ordinary text
    for fine in ("\\u0000", "\\\\u0000", {"\\u0000": "x\\u0000"}):
        assert json.loads(enc(fine)) == fine


def test_lone_surrogates_are_refused_with_a_clear_line() -> None:
    for bad in ("\ud800", {"k": ["x\udfff"]}, {"\udc00": 1}):
        with pytest.raises(InvalidInput, match=r"lone surrogate \(\\ud"):
            enc(bad)
    assert enc("😀 é") == '"😀 é"'  # a real astral character is fine


def test_sizes_count_utf8_bytes_and_name_the_field_and_setting() -> None:
    enc("é" * 400)  # 802 bytes
    with pytest.raises(InvalidInput) as info:
        enc("é" * 600)  # 600 characters but 1202 bytes
    assert str(info.value) == (
        "job data is 1202 bytes of JSON, over the limit of 1000 bytes"
        " (set [limits] max_data_bytes in jobyard.toml)"
    )


def test_not_json_nan_and_deep_nesting_are_invalid_input() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    cyclic: list[object] = []
    cyclic.append(cyclic)
    for bad, why in (
        (math.nan, "not JSON-serialisable"),
        ({"x": math.inf}, "not JSON-serialisable"),
        (object(), "not JSON-serialisable"),
        (cyclic, "not JSON-serialisable"),
        (deep, "nested too deeply"),
    ):
        with pytest.raises(InvalidInput, match=why):
            enc(bad, 10**9)


def test_check_text_refuses_nul_and_surrogates() -> None:
    assert check_text("queue-1 é", "queue") == "queue-1 é"
    with pytest.raises(InvalidInput, match="NUL"):
        check_text("a\x00", "queue 'a'")
    with pytest.raises(InvalidInput, match="surrogate"):
        check_text("a\ud800", "queue")


def test_clean_text_escapes_and_cuts_with_a_marker() -> None:
    assert clean_text("a\x00b\ud800c") == "a\\x00b\\ud800c"
    short = clean_text("é" * 1000, 100)
    assert len(short.encode()) <= 100
    assert short.startswith("é") and short.endswith("[cut: 2000 bytes, over the limit of 100]")
    assert clean_text("x" * 100, 100) == "x" * 100


def test_finite_json_refuses_nan_infinity_huge_numbers_and_depth() -> None:
    assert finite_json('{"a": [1, 2.5, "x"]}', "--data") == {"a": [1, 2.5, "x"]}
    for text, why in (
        ("NaN", "NaN is not a finite number"),
        ("[Infinity]", "Infinity is not a finite number"),
        ('{"a": -Infinity}', "-Infinity is not a finite number"),
        ("1e400", "too large"),
        ("1" * 5000, "5000 digits is too long"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("{bad", "not valid JSON"),
    ):
        with pytest.raises(InvalidInput, match=why):
            finite_json(text, "--data")


def test_assignments_take_json_or_text_but_refuse_non_finite_and_deep_json() -> None:
    assert parse_assignments(["a=1", "b=hello", "c=[1]", "d={bad", "e="]) == {
        "a": 1,
        "b": "hello",
        "c": [1],
        "d": "{bad",
        "e": "",
    }
    for item in ("n=NaN", "n=Infinity", "n=[1e400]", "n=" + "[" * 50_000 + "]" * 50_000):
        with pytest.raises(InvalidInput, match="parameter n"):
            parse_assignments([item])
    assert json_or_text("NaNa", "x") == "NaNa"


def test_retry_delay_is_capped_and_finite_for_any_number_of_failures() -> None:
    assert [retry_delay(5, "exponential", n) for n in (1, 2, 3)] == [5, 10, 20]
    for failures in (60, 1100, 10**6, 10**12):
        assert retry_delay(5, "exponential", failures) == MAX_WAIT
    assert retry_delay(MAX_WAIT * 3, "constant", 1) == MAX_WAIT
    assert retry_delay(math.nan, "exponential", 3) == 0.0  # a row written before checks


def test_waits_past_the_maximum_are_refused() -> None:
    with pytest.raises(InvalidInput, match="retry wait"):
        Retry(1, wait=1e300).normalized()
    with pytest.raises(InvalidInput, match="repeat wait"):
        Repeat(1, wait=MAX_WAIT + 1).normalized()
    assert Repeat(1, wait=MAX_WAIT).normalized().wait == MAX_WAIT


def test_counts_as_strings_are_decimal_digits_or_forever() -> None:
    assert Retry("3").normalized().retries == 3
    assert Retry(" Forever ").normalized().retries == -1
    assert Retry(3.0).normalized().retries == 3
    for bad in ("inf", "Infinity", "nan", "1e3", "3.0", "-1", "--1", "²", " ", "9" * 30):
        with pytest.raises(InvalidInput, match="use a whole number >= 0 or 'forever'"):
            Retry(bad).normalized()


def test_limits_section_sizes_and_unknown_keys(tmp_path: Path) -> None:
    cfg = tmp_path / "jobyard.toml"
    cfg.write_text("[limits]\nmax_props_bytes = 10\nmax_log_bytes = 20\nscript_log_lines = 5\n")
    loaded = load_config(str(cfg))
    assert (loaded.max_props_bytes, loaded.max_log_bytes) == (10, 20)
    assert (loaded.max_data_bytes, loaded.max_result_bytes) == (1_048_576, 1_048_576)
    cfg.write_text("[limits]\nmax_prop_bytes = 10\n")
    with pytest.raises(ConfigError, match="unknown \\[limits\\] key\\(s\\) max_prop_bytes"):
        load_config(str(cfg))
    for bad in ("0", "1.5", "true", '"big"'):
        cfg.write_text(f"[limits]\nmax_result_bytes = {bad}\n")
        with pytest.raises(ConfigError, match="max_result_bytes must be a whole number"):
            load_config(str(cfg))
