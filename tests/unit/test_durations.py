"""Durations as people write them."""

import pytest

from watcher.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("1h30m", 5400),
        ("250ms", 0.25),
        ("0", 0),
        (90, 90),
        ("1.5h", 5400),
        (" 10 s ", 10),
    ],
)
def test_accepts_common_forms(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["abc", "5x", "-3", "", "s5", "5m3", True, -1])
def test_rejects_other_forms_with_a_hint(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)  # type: ignore[arg-type]


def test_formats_short_human_forms() -> None:
    assert [format_duration(s) for s in (0, 45, 200, 7500, 100000)] == ["0s", "45s", "3m20s", "2h05m", "1d3h"]
