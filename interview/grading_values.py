"""Values as the grader compares them: canonical, hashable stand-ins (3 = 3.0 = DECIMAL 3.00, a date = its
midnight timestamp = its ISO text, NULL = NULL), a float tolerance, column kinds, and other spellings of the
same values that a whole column may be read as ('2015' for 2015, '2023-01' for a month, 2023 for a year start).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

REL_TOL = 1e-6
ABS_TOL = 1e-9
_NUMBER = re.compile(r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?$")


class _NaN:
    """NaN as a value equal to itself, so that NaN rows match."""

    def __repr__(self) -> str:
        return "NaN"


NAN = _NaN()
_KINDS = {
    type(None): "null", bool: "num", int: "num", float: "num", _NaN: "num", str: "text", dt.datetime: "time"
}  # fmt: skip


def _canon_text(value: str) -> Hashable:
    if len(value) >= 10 and value[4] == "-" and _ISO_DATETIME.match(value):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def canon(value: Any) -> Hashable:
    """A hashable stand-in for a value; equal stand-ins mean equal values (up to float noise)."""
    kind_ = type(value)
    if kind_ is int or kind_ is bool or value is None:
        return value
    if kind_ is str:
        return _canon_text(value)
    if isinstance(value, float | decimal.Decimal):
        return canon_number(value)
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, int | bytes | dt.time | dt.timedelta):
        return value
    if isinstance(value, str):
        return _canon_text(str(value))
    if isinstance(value, list | tuple):
        return tuple(canon(v) for v in value)
    if isinstance(value, dict):
        return tuple((str(k), canon(v)) for k, v in value.items())
    return str(value)


def canon_row(row: Sequence[Any]) -> tuple[Hashable, ...]:
    return tuple(map(canon, row))


def canon_number(value: float | decimal.Decimal) -> Hashable:
    if not isinstance(value, decimal.Decimal):
        number = float(value)
    else:
        if not value.is_finite():
            return NAN if value.is_nan() else float(value)
        number = float(value)
        if number.is_integer() and abs(number) >= 2**53:
            return int(value)  # exact: a float cannot hold every integer this large
    if number != number:
        return NAN
    if number.is_integer():
        return int(number) if abs(number) < 2**63 else number
    if math.isinf(number):
        return number
    return float(f"{number:.12g}")


def close(a: Hashable, b: Hashable) -> bool:
    if a == b:
        return True
    if (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return all(close(x, y) for x, y in zip(a, b, strict=True))
    return False


def coarse(value: Hashable) -> Hashable:
    """Numbers to 5 significant digits, to find rows that may differ only by float noise."""
    kind_ = type(value)
    if kind_ is float:
        return float(f"{value:.5g}") if math.isfinite(value) else value  # type: ignore[arg-type]
    if kind_ is tuple:
        return tuple(coarse(v) if type(v) in (float, tuple) else v for v in value)  # type: ignore[attr-defined]
    return value


def kind(values: Iterable[Hashable]) -> str:
    """The kind of a column's canonical values: num, text, time, other, null (all NULL) or mixed."""
    kinds = {_KINDS.get(t, "other") for t in set(map(type, values))}
    kinds.discard("null")
    if not kinds:
        return "null"
    return kinds.pop() if len(kinds) == 1 else "mixed"


def compatible(a: str, b: str) -> bool:
    return a == b or "null" in (a, b) or "mixed" in (a, b)


_YEAR_MONTH = re.compile(r"^\d{4}-\d{2}$")


def _as_number(v: Hashable) -> Hashable:
    if isinstance(v, str) and _NUMBER.match(v):
        return canon_number(decimal.Decimal(v.strip()))
    raise ValueError


def _as_month(v: Hashable) -> Hashable:
    if isinstance(v, str) and _YEAR_MONTH.match(v):
        return dt.datetime(int(v[:4]), int(v[5:7]), 1)
    raise ValueError


def _month_text(v: Hashable) -> Hashable:
    if isinstance(v, dt.datetime) and v == dt.datetime(v.year, v.month, 1):
        return f"{v.year:04d}-{v.month:02d}"
    raise ValueError


def _as_year_start(v: Hashable) -> Hashable:
    if isinstance(v, int) and not isinstance(v, bool) and 1000 <= v <= 9999:
        return dt.datetime(v, 1, 1)
    raise ValueError


def _year_number(v: Hashable) -> Hashable:
    if isinstance(v, dt.datetime) and v == dt.datetime(v.year, 1, 1):
        return v.year
    raise ValueError


# Other spellings of the same values: "2015" for 2015, "2023-01" for the month starting 2023-01-01, the year
# 2023 for 2023-01-01. A column is read this way only when that makes it hold exactly a reference column's values.
READINGS = {"text": (_as_number, _as_month), "time": (_month_text, _year_number), "num": (_as_year_start,)}
