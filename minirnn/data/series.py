"""Time series: the built-in data sets and users' CSV files, as one ``Series`` type.

A ``Series`` is rows in time order: exogenous ``inputs`` (T, I) (I may be 0) and ``targets``
(T, O), with column names. Built-in sets are generated on the fly from a seed, so every run
can be reproduced exactly and nothing is downloaded.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..catalog import MISSING
from ..errors import DataError


#: the advice for a file whose dates repeat or go back: it may hold several series
SEVERAL_SERIES_HINT = (" (a long-format file of several series: give --series-id and the "
                       "column that names each row's series)")


@dataclass
class Series:
    inputs: np.ndarray          # (T, I) exogenous inputs, I >= 0
    targets: np.ndarray         # (T, O) what to predict
    input_names: list
    target_names: list
    name: str
    date_column: str | None = None  # a CSV's column of dates, if it has one (not used as data)
    dates: list | None = None       # its values, row by row, as written (in time order)
    filled: np.ndarray | None = None  # (T, O): which targets were missing and interpolated
    dropped: int = 0                  # rows left out for a missing value (missing="drop")

    def __len__(self):
        return len(self.targets)


# --- built-in data sets -------------------------------------------------------------------------
def sine(steps: int = 2000, seed: int = 0) -> Series:
    """A family of sines: two periods, a slow amplitude drift and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    y = (np.sin(2 * np.pi * t / 50) * (1 + 0.3 * np.sin(2 * np.pi * t / 700))
         + 0.4 * np.sin(2 * np.pi * t / 13) + 0.05 * rng.standard_normal(steps))
    return Series(np.zeros((steps, 0)), y[:, None], [], ["y"], "sine")


def stock(steps: int = 2000, seed: int = 0) -> Series:
    """A synthetic stock price, the seed article's running example: a log-price random walk with
    a trend, volatility regimes (calm and turbulent spells), and an exogenous "market" signal
    (a slow cycle seen a day ahead) that moves the returns; volume rises with volatility."""
    rng = np.random.default_rng(seed)
    market = np.sin(2 * np.pi * np.arange(steps + 1) / 120) + 0.3 * rng.standard_normal(steps + 1)
    regime = np.zeros(steps)
    state = 0
    for t in range(steps):  # a two-state Markov chain: calm (0) / turbulent (1)
        if rng.random() < (0.01 if state == 0 else 0.04):
            state = 1 - state
        regime[t] = state
    sigma = np.where(regime == 1, 0.025, 0.008)
    returns = 0.0004 + 0.004 * market[:-1] + sigma * rng.standard_normal(steps)
    close = 100 * np.exp(np.cumsum(returns))
    volume = 1e6 * (1 + 20 * sigma) * np.exp(0.2 * rng.standard_normal(steps))
    inputs = np.stack([market[1:], np.log(volume)], axis=1)
    return Series(inputs, close[:, None], ["market", "log_volume"], ["close"], "stock")


def narendra(steps: int = 2000, seed: int = 0) -> Series:
    """A nonlinear dynamic system with an input, for NARX (Narendra & Parthasarathy, 1990):
    y_t = y_{t-1} / (1 + y_{t-1}²) + u_{t-1}³, u uniform in [-1, 1]."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(-1, 1, steps)
    y = np.zeros(steps)
    for t in range(1, steps):
        y[t] = y[t - 1] / (1 + y[t - 1] ** 2) + u[t - 1] ** 3
    return Series(u[:, None], y[:, None], ["u"], ["y"], "narendra")


def memory_task(steps: int = 2000, seed: int = 0, delay: int = 5) -> Series:
    """Long-range memory: y_t = x_{t-delay}, x uniform noise. A model must hold ``delay`` steps
    of its input to predict better than zero; compare how far back each memory reaches."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, steps)
    y = np.concatenate([np.zeros(delay), x[:-delay]])
    return Series(x[:, None], y[:, None], ["x"], [f"x_minus_{delay}"], "memory")


# --- CSV files ----------------------------------------------------------------------------------
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


def _is_date(text: str) -> bool:
    """A date or time that is not also a number: "2024-01-31", "31.01.2024", "10:15"."""
    return _parse_date(text) is not None


def _is_date_column(values) -> bool:
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


def next_dates(values: list, steps: int) -> list | None:
    """The ``steps`` dates after a date column's last, written in its layout, when its rows are
    evenly spaced: by a fixed time (days, hours), by whole months (monthly or quarterly data:
    the same day of the month), or by whole years; or business days (every weekday, no
    weekend: the next weekdays); None otherwise (other gaps, a time of day alone)."""
    from datetime import datetime, timedelta

    layout = _date_layout(values) if values else None
    if layout is None or len(values) < 2 or layout in ("%H:%M", "%H:%M:%S"):
        return None
    stamps = [_parse_date(v, layout) for v in values]
    colons = values[-1].count(":")
    if layout == "iso":
        write = (lambda d: d.date().isoformat()) if not colons else \
            (lambda d: d.isoformat(sep=" ", timespec="minutes" if colons == 1 else "seconds"))
    else:
        write = (lambda d: d.strftime(layout))
    months = {(b.year - a.year) * 12 + b.month - a.month for a, b in zip(stamps, stamps[1:])}
    if len(months) == 1 and min(months) > 0 and stamps[0].day <= 28 and \
            all(d.day == stamps[0].day and d.time() == stamps[0].time() for d in stamps):
        step, last = months.pop(), stamps[-1]  # whole months (or years): calendar steps
        ahead = []
        for k in range(1, steps + 1):
            total = last.month - 1 + step * k
            ahead.append(write(datetime(last.year + total // 12, total % 12 + 1, last.day,
                                        last.hour, last.minute, last.second)))
        return ahead
    steps_between = {b - a for a, b in zip(stamps, stamps[1:])}
    if len(steps_between) == 1:  # a fixed step: days, hours, weeks
        step = steps_between.pop()
        return [write(stamps[-1] + step * (k + 1)) for k in range(steps)]
    day = timedelta(days=1)

    def weekend_between(a, b):  # every day strictly between a and b is a Saturday or Sunday
        return all((a + day * k).weekday() >= 5 for k in range(1, (b - a).days))

    if all(d.weekday() < 5 and d.time() == stamps[0].time() for d in stamps) and \
            all(b - a in (day, 2 * day, 3 * day) and weekend_between(a, b)
                for a, b in zip(stamps, stamps[1:])):  # business days: weekdays, no holiday
        ahead, date = [], stamps[-1]
        while len(ahead) < steps:
            date += day
            if date.weekday() < 5:
                ahead.append(write(date))
        return ahead
    return None


def _check_time_order(path: Path, name: str, values: list, lines: list, member: str = ""):
    """The date column read with one layout, each row after the one before: rows in time
    order, one row per time (``member``: the series of a long-format file these rows are)."""
    layout = _date_layout(values)
    if layout is None:
        first = next(i for i, v in enumerate(values) if _parse_date(v) is None)
        raise DataError(f"{path.name}, line {lines[first]}, column {name!r}: {values[first]!r} "
                        f"is not a date like the column's others")
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


def _names(text_or_list, what: str) -> list:
    """Column names from "a,b" or a list; a name given twice is an error."""
    if text_or_list is None:
        return []
    names = [c.strip() for c in text_or_list.split(",") if c.strip()] \
        if isinstance(text_or_list, str) else [str(c) for c in text_or_list]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataError(f"{what} names column(s) {', '.join(map(repr, twice))} more than once")
    return names


#: how a missing value (an empty cell, NA, NaN, null, ?) in a used column is handled
_MISSING_CELLS = {"", "na", "n/a", "nan", "null", "none", "?"}


@dataclass
class Panel:
    """Several series with the same columns, one per value of an id column: a long-format
    file (a ``symbol`` or ``station`` column) read as the series of one global model. Each
    member is a ``Series`` named by its id, with its rows in time order."""

    members: list               # [Series], in the order of their ids (whatever the file's)
    id_column: str
    name: str

    @property
    def ids(self) -> list:
        return [m.name for m in self.members]

    @property
    def input_names(self) -> list:
        return self.members[0].input_names

    @property
    def target_names(self) -> list:
        return self.members[0].target_names

    @property
    def date_column(self):
        return self.members[0].date_column

    def __len__(self):
        return sum(len(m) for m in self.members)


def _delimiter(header: str) -> str:
    """Comma-separated, or semicolons / tabs where the header has more of them."""
    return max(",;\t", key=lambda d: (header.count(d), d == ","))


def csv_columns(path) -> list:
    """The column names in a CSV file's first line ([] if it cannot be read)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            first = f.readline()
    except (OSError, UnicodeDecodeError):
        return []
    return [c.strip() for c in next(csv.reader([first], delimiter=_delimiter(first)), [])]


def load_csv(path, target, inputs=None, missing: str = "error", series_id: str | None = None):
    """Rows in file order. ``target``: a column name (or several, comma-separated); ``inputs``:
    column names (list or comma-separated), or None for none. A UTF-8 byte-order mark is
    ignored; a column of dates or times is recognised (``Series.date_column``) and not offered
    as data. Every used value must be a finite number, or missing (an empty cell, NA, NaN,
    null, ?), which ``missing`` handles: "error" names its line and column, "drop" leaves out
    the rows that have one, "interpolate" fills each gap linearly between the values around it
    (the nearest value before the first or after the last). Errors name the file's line.

    With ``series_id`` (a column name) the file is in long format: its rows are grouped by
    that column's values into a ``Panel`` of series, each checked (time order, gaps) on its
    own; rows of different series may be interleaved."""
    if missing not in MISSING:
        raise DataError(f"unknown --missing {missing!r}; choose one of {', '.join(MISSING)}")
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a data file")
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    if not path.is_file():
        raise DataError(f"{path} is not a regular file (a device or a pipe)")
    targets, input_names = _names(target, "--target"), _names(inputs, "--inputs")
    if not targets:
        raise DataError("--target names no column")
    both = [n for n in targets if n in input_names]
    if both:
        raise DataError(f"column(s) {', '.join(map(repr, both))} given as both the target and "
                        f"an input: the last target value is already an input of every model")
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:  # -sig: a BOM is not a name
            delimiter = _delimiter(f.readline())
            f.seek(0)
            reader = csv.reader(f, delimiter=delimiter)
            rows, lines = [], []
            for row in reader:
                if rows and not any(c.strip() for c in row):
                    continue  # blank lines between rows
                rows.append(row)
                lines.append(reader.line_num)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"cannot read {path}: {error}") from None
    if not rows or not any(c.strip() for c in rows[0]):
        raise DataError(f"{path} is empty: no header row")
    header, body, lines = [h.strip() for h in rows[0]], rows[1:], lines[1:]
    for name in set(header):
        if header.count(name) > 1:
            where = [str(j + 1) for j, h in enumerate(header) if h == name]
            raise DataError(f"{path.name} has {len(where)} columns named {name!r} (columns "
                            f"{', '.join(where)}): rename them so each name is one column")
    for row, line in zip(body, lines):
        extra = [c for c in row[len(header):] if c.strip()]
        if len(row) < len(header) or extra:
            hint = " (a thousands separator, or a comma inside an unquoted value?)" if extra \
                else ""
            raise DataError(f"{path.name}, line {line}: {len(row)} fields, the header has "
                            f"{len(header)}{hint}")
    dates = [h for j, h in enumerate(header)
             if _is_date_column([r[j] for r in body if j < len(r)])]
    if not body:
        raise DataError(f"{path.name} has a header but no rows")
    if series_id is None:
        return _series(path, header, body, lines, targets, input_names, dates, missing)
    if series_id not in header:
        raise DataError(f"the series id column {series_id!r} is not in {path.name}; "
                        f"columns: {', '.join(header)}", reason="absent id column")
    if series_id in targets + input_names + dates:
        what = "a date column" if series_id in dates else "a target or an input"
        raise DataError(f"--series-id {series_id!r} is {what}: the id column names the series "
                        f"of each row")
    j, groups = header.index(series_id), {}
    for row, line in zip(body, lines):
        key = row[j].strip()
        if not key:
            raise DataError(f"{path.name}, line {line}, column {series_id!r}: no series id")
        groups.setdefault(key, ([], []))
        groups[key][0].append(row)
        groups[key][1].append(line)
    members = [_series(path, header, rows, where, targets, input_names, dates, missing, key)
               for key, (rows, where) in sorted(groups.items(), key=lambda g: _id_order(g[0]))]
    return Panel(members, series_id, path.stem)


def _id_order(name: str):
    """Series ids in order: numbers by value (7, 12, 100), then names alphabetically."""
    try:
        value = float(name)
    except ValueError:
        return (1, 0.0, name)
    return (0, value, name) if np.isfinite(value) else (1, 0.0, name)


def _series(path: Path, header: list, body: list, lines: list, targets: list,
            input_names: list, dates: list, missing: str, member: str | None = None) -> Series:
    """The rows ``body`` (read from ``path``'s ``lines``) as a Series: the file's, or the
    series ``member`` of a long-format file."""
    stamps = [row[header.index(dates[0])].strip() for row in body] if dates else None
    where = "" if member is None else f", series {member!r}"
    columns = {}
    for column in targets + input_names:
        if column not in header:
            data = [h for h in header if h not in dates]
            raise DataError(f"column {column!r} not in {path.name}; columns: "
                            f"{', '.join(data)}", reason="absent column")
        j = header.index(column)
        values = np.empty(len(body))
        for i, row in enumerate(body):
            cell = row[j].strip()
            if cell.lower() in _MISSING_CELLS:
                if missing == "error":
                    raise DataError(f"{path.name}, line {lines[i]}, column {column!r}: a "
                                    f"missing value ({cell!r})", "; --missing drop or --missing "
                                    "interpolate handles gaps", "missing value")
                values[i] = np.nan
                continue
            try:
                values[i] = float(cell)
            except ValueError:
                raise DataError(f"{path.name}, line {lines[i]}, column {column!r}: {cell!r} is "
                                f"not a number") from None
            if not np.isfinite(values[i]):
                raise DataError(f"{path.name}, line {lines[i]}, column {column!r}: {cell} "
                                f"(infinite values cannot be used)")
        columns[column] = values
    dropped = 0
    if missing == "drop":
        keep = ~np.any([np.isnan(v) for v in columns.values()], axis=0)
        dropped = int(np.sum(~keep))
        if not keep.any():
            raise DataError(f"{path.name}{where}: every row has a missing value in a used "
                            f"column")
        columns = {column: values[keep] for column, values in columns.items()}
        body = [row for row, kept in zip(body, keep) if kept]
        lines = [line for line, kept in zip(lines, keep) if kept]
        stamps = [v for v, kept in zip(stamps, keep) if kept] if stamps else None
    filled = None
    if missing == "interpolate":
        filled = np.stack([np.isnan(columns[n]) for n in targets], axis=1)
        for column, values in columns.items():
            gaps = np.isnan(values)
            if gaps.all():
                raise DataError(f"{path.name}{where}: column {column!r} has no values to "
                                f"interpolate")
            if gaps.any():
                rows = np.arange(len(values))
                values[gaps] = np.interp(rows[gaps], rows[~gaps], values[~gaps])
    if stamps:
        _check_time_order(path, dates[0], stamps, lines, member or "")
    x = np.stack([columns[n] for n in input_names], axis=1) if input_names else \
        np.zeros((len(body), 0))
    y = np.stack([columns[n] for n in targets], axis=1)
    return Series(x, y, input_names, targets, path.stem if member is None else member,
                  dates[0] if dates else None, stamps,
                  filled if filled is not None and filled.any() else None, dropped)
