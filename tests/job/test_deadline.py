import datetime as dt

import pytest

from gpucost.job.deadline import parse_deadline

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("text", "hours"), [
    ("36h", 36.0), ("30d", 720.0), ("2w", 336.0), ("90m", 1.5), ("1.5d", 36.0),
    (" 12 H ", 12.0), (48, 48.0), (2.5, 2.5),
    ("2026-11-26T12:00:00", 24.0), ("2026-11-26T12:00:00+02:00", 22.0),
])
def test_durations_and_datetimes(text, hours):
    assert parse_deadline(text, NOW) == pytest.approx(hours)


def test_a_bare_date_means_the_end_of_that_day_utc():
    hours = parse_deadline("2026-11-30", NOW)
    assert hours == pytest.approx(5 * 24 + 12, abs=1e-3)


def test_yaml_dates_are_accepted():
    assert parse_deadline(dt.date(2026, 11, 26), NOW) == pytest.approx(36, abs=1e-3)


@pytest.mark.parametrize("text", ["soon", "30 days", "h", "", "2026-13-01", True, None, [1]])
def test_unparseable(text):
    assert parse_deadline(text, NOW) is None


def test_past_deadline_is_negative():
    assert parse_deadline("2026-11-01", NOW) < 0
