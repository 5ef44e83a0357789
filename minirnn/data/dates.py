"""Dates in a CSV file: which columns hold them, their layouts, the step between rows (months,
quarters, weeks, days, hours) and the seasonal period it implies, the time-order and gap checks,
and the dates after the last row (a forecast's).
"""
from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np

from ..errors import DataError

#: the advice for a file whose dates repeat or go back: it may hold several series
SEVERAL_SERIES_HINT = (" (a long-format file of several series: give --series-id and the "
                       "column that names each row's series)")

#: the date and time layouts a column may use to be taken for a date column (ISO 8601 too)
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y-%m", "%Y/%m",
                "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S",
                "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%H:%M", "%H:%M:%S")


def _parse_date(text: str, layout: str | None = None):
    """``text`` as a datetime, with ``layout`` ("iso" or a strptime layout) or the first of
    ISO 8601 and ``DATE_FORMATS`` that reads it; None if it is not a date, or is also a number
    ("5.0", "1707.4" and "1999" are data: a year alone is a number)."""
    from datetime import datetime

    try:
        float(text)
        return None
    except ValueError:
        pass
    for candidate in ("iso", *DATE_FORMATS) if layout is None else (layout,):
        try:
            return datetime.fromisoformat(text) if candidate == "iso" else \
                datetime.strptime(text, candidate)
        except ValueError:
            continue
    return None


def comes_after(later: str, earlier: str) -> bool:
    """Whether the date ``later`` comes after ``earlier``; True when they cannot be compared
    (not dates, or one with a time zone and one without)."""
    a, b = _parse_date(later), _parse_date(earlier)
    try:
        return a is None or b is None or a > b
    except TypeError:
        return True


def follows_on(later: str, dates: list) -> bool:
    """Whether the date ``later`` can be the row right after a date column's ``dates`` (in
    time order): no further after the last than the largest step between them, or across a
    weekend alone (a Friday, then the Monday). True when they cannot be compared."""
    from datetime import timedelta

    layout = _date_layout(dates) if len(dates) >= 2 else None
    following = _parse_date(later)
    if layout is None or following is None:
        return True
    stamps = [_parse_date(v, layout) for v in dates]
    try:
        gap = following - stamps[-1]
        largest = max(b - a for a, b in zip(stamps, stamps[1:], strict=False))
    except TypeError:  # one with a time zone, one without
        return True
    day = timedelta(days=1)
    return gap <= largest or (gap.days <= 3 and all(
        (stamps[-1] + day * k).weekday() >= 5 for k in range(1, gap.days)))


def _is_date(text: str) -> bool:
    """A date or time that is not also a number: "2024-01-31", "31.01.2024", "10:15"."""
    return _parse_date(text) is not None


def is_date_column(values) -> bool:
    """Every one of the first 20 non-empty values is a date or time."""
    sample = [v.strip() for v in values[:20] if v.strip()]
    return bool(sample) and all(_is_date(v) for v in sample)


def _date_layout(values):
    """The one layout that reads every value of a date column (so 01/02 and 13/02 are read
    alike: day first or month first for the whole column), or None."""
    for layout in ("iso", *DATE_FORMATS):
        if all(_parse_date(v, layout) is not None for v in values):
            return layout
    return None


def _writer(layout: str, example: str):
    """A datetime as text in ``layout`` (ISO 8601: with as much of the time as ``example``)."""
    colons = example.count(":")
    if layout != "iso":
        return lambda d: d.strftime(layout)
    if not colons:
        return lambda d: d.date().isoformat()
    return lambda d: d.isoformat(sep=" ", timespec="minutes" if colons == 1 else "seconds")


def next_dates(values: list, steps: int) -> list | None:
    """The ``steps`` dates after a date column's last, written in its layout, when its rows are
    evenly spaced: by a fixed time (days, hours), by whole months (monthly or quarterly data:
    the same day of the month), or by whole years; or business days (every weekday, no
    weekend: the next weekdays); None otherwise (other gaps, a time of day alone)."""
    from datetime import timedelta

    layout = _date_layout(values) if values else None
    if layout is None or len(values) < 2 or layout in ("%H:%M", "%H:%M:%S"):
        return None
    stamps = [_parse_date(v, layout) for v in values]
    write = _writer(layout, values[-1])
    months = {(b.year - a.year) * 12 + b.month - a.month for a, b in pairwise(stamps)}
    if len(months) == 1 and min(months) > 0 and stamps[0].day <= 28 and \
            all(d.day == stamps[0].day and d.time() == stamps[0].time() for d in stamps):
        step, last = months.pop(), stamps[-1]  # whole months (or years): calendar steps
        return [write(_step_on(last, "months", step * k)) for k in range(1, steps + 1)]
    steps_between = {b - a for a, b in pairwise(stamps)}
    if len(steps_between) == 1:  # a fixed step: days, hours, weeks
        step = steps_between.pop()
        return [write(stamps[-1] + step * (k + 1)) for k in range(steps)]
    day = timedelta(days=1)

    def weekend_between(a, b):  # every day strictly between a and b is a Saturday or Sunday
        return all((a + day * k).weekday() >= 5 for k in range(1, (b - a).days))

    if all(d.weekday() < 5 and d.time() == stamps[0].time() for d in stamps) and \
            all(b - a in (day, 2 * day, 3 * day) and weekend_between(a, b)
                for a, b in pairwise(stamps)):  # business days: weekdays, no holiday
        ahead, date = [], stamps[-1]
        while len(ahead) < steps:
            date += day
            if date.weekday() < 5:
                ahead.append(write(date))
        return ahead
    return None


#: the seasonal period of dates that step by a month, a quarter, a week, a day, an hour
SEASONS = {("months", 1): (12, "month"), ("months", 3): (4, "quarter"),
           ("days", 7): (52, "week"), ("days", 1): (7, "day"), ("hours", 1): (24, "hour")}


def date_step(stamps: list):
    """How most rows of parsed dates (in time order) step: ("months", m) when every date
    falls on one day of the month and time, by m whole months between most neighbours;
    ("days", d) or ("hours", h) by a fixed time; None for too few dates or uneven steps,
    weekdays alone (business days: weekends and holidays are no gaps) or steps of another
    size (minutes). A step is "most" when at least half the neighbours are that far apart."""
    from collections import Counter

    if len(stamps) < 3:
        return None
    first = stamps[0]
    if first.day <= 28 and all(d.day == first.day and d.time() == first.time()
                               for d in stamps):
        unit, gaps = "months", [(b.year - a.year) * 12 + b.month - a.month
                                for a, b in zip(stamps, stamps[1:], strict=False)]
    else:
        seconds = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:], strict=False)]
        if all(d.weekday() < 5 for d in stamps) and min(seconds) == 86400:
            return None  # weekdays alone: business days
        unit = "days" if all(s % 86400 == 0 for s in seconds) else "hours"
        size = 86400 if unit == "days" else 3600
        if any(s % size for s in seconds):
            return None
        gaps = [int(s // size) for s in seconds]
    step, count = Counter(gaps).most_common(1)[0]
    if step < 1 or 2 * count < len(gaps) or any(g % step for g in gaps):
        return None
    return unit, step


def infer_period(dates: list | None) -> tuple:
    """(P, the unit) of a date column whose rows step by a month (12), a quarter (4), a week
    (52), a day (7) or an hour (24); (0, None) otherwise, or without dates."""
    layout = _date_layout(dates) if dates else None
    if layout is None:
        return 0, None
    return SEASONS.get(date_step([_parse_date(v, layout) for v in dates]), (0, None))


def fill_gaps(path: Path, name: str, values: list, lines: list, columns: dict, missing: str):
    """Rows missing from dates that step evenly (``date_step``): a DataError naming the
    dates on either side of the first gap, or with ``missing`` "interpolate" the rows put in
    (their dates in the column's layout, their values NaN, for the interpolation to fill);
    with "drop", rows left out are what was asked for. (dates, lines, columns)."""
    layout = _date_layout(values)
    parsed = [_parse_date(v, layout) for v in values] if layout else []
    step = date_step(parsed)
    if step is None or missing == "drop":
        return values, lines, columns
    unit, size = step

    def apart(a, b):  # steps between two dates
        if unit == "months":
            return ((b.year - a.year) * 12 + b.month - a.month) // size
        return int((b - a).total_seconds() // (size * (86400 if unit == "days" else 3600)))

    gaps = [i for i in range(1, len(parsed)) if apart(parsed[i - 1], parsed[i]) > 1]
    if not gaps:
        return values, lines, columns
    if missing != "interpolate":
        i = gaps[0]
        count = apart(parsed[i - 1], parsed[i]) - 1
        raise DataError(f"{path.name}, lines {lines[i - 1]}-{lines[i]}: {count} row"
                        f"{'s' if count > 1 else ''} missing between {name} {values[i - 1]} "
                        f"and {values[i]} (the rows step by {size} {unit[:-1]}"
                        f"{'s' if size > 1 else ''}); add the rows, or interpolate them",
                        reason="date gap")
    write = _writer(layout, values[-1])
    out_stamps, out_lines, keep = [], [], []
    for i, stamp in enumerate(parsed):
        if i in gaps:
            for k in range(1, apart(parsed[i - 1], stamp)):
                out_stamps.append(write(_step_on(parsed[i - 1], unit, size * k)))
                out_lines.append(lines[i])
                keep.append(-1)
        out_stamps.append(values[i])
        out_lines.append(lines[i])
        keep.append(i)
    keep = np.array(keep)
    filled = {column: np.where(keep >= 0, v[np.maximum(keep, 0)], np.nan)
              for column, v in columns.items()}
    return out_stamps, out_lines, filled


def _step_on(date, unit: str, count: int):
    """``date`` moved on by ``count`` months, days or hours."""
    from datetime import datetime, timedelta

    if unit == "months":
        total = date.month - 1 + count
        return datetime(date.year + total // 12, total % 12 + 1, date.day, date.hour,
                        date.minute, date.second)
    return date + timedelta(**{unit: count})


def check_time_order(path: Path, name: str, values: list, lines: list, member: str = ""):
    """The date column read with one layout, each row after the one before: rows in time
    order, one row per time (``member``: the series of a long-format file these rows are)."""
    layout = _date_layout(values)
    if layout is None:
        first = next((i for i, v in enumerate(values) if _parse_date(v) is None), None)
        if first is not None:
            raise DataError(f"{path.name}, line {lines[first]}, column {name!r}: "
                            f"{values[first]!r} is not a date like the column's others")
        # every value a date, in layouts that differ: the first one not in the first's
        opening = next(f for f in ("iso", *DATE_FORMATS) if _parse_date(values[0], f))
        first = next(i for i, v in enumerate(values) if _parse_date(v, opening) is None)
        raise DataError(f"{path.name}, line {lines[first]}, column {name!r}: {values[first]!r} "
                        f"is not written like the column's first date ({values[0]!r})")
    stamps = [_parse_date(v, layout) for v in values]
    for i in range(1, len(stamps)):
        try:
            later, same = stamps[i] > stamps[i - 1], stamps[i] == stamps[i - 1]
        except TypeError:  # a time zone on some dates only
            later, same = False, False
        if same:
            whose = f"series {member!r} has" if member else "the file has"
            raise DataError(f"{path.name}, line {lines[i]}: {whose} {name} {values[i]!r} twice "
                            f"(lines {lines[i - 1]} and {lines[i]}): one row per time",
                            "" if member else SEVERAL_SERIES_HINT,
                            None if member else "several series")
        if not later and member:
            raise DataError(f"{path.name}, line {lines[i]}: series {member!r} has {name} "
                            f"{values[i]!r} after {values[i - 1]!r} (line {lines[i - 1]}): each "
                            f"series' rows must be in time order, one row per time")
        if not later:
            raise DataError(f"{path.name}, line {lines[i]}: {name} {values[i]!r} does not come "
                            f"after the line before ({values[i - 1]!r}): rows must be in time "
                            f"order, one row per time", SEVERAL_SERIES_HINT, "several series")
