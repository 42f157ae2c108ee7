"""Dialect readers for answers: sqlglot's dialects with parse-time fixes for what DuckDB would get wrong.

T-SQL DATEPART returns numbers (sqlglot reads it as text formatting); Oracle and Snowflake TO_CHAR keep their
date formats and Oracle TRUNC its units; SQLite's date()/datetime() keep their modifiers; MySQL may be read in
PIPES_AS_CONCAT mode when its strict reading (`||` is OR) does not run.
"""

from __future__ import annotations

import re

import sqlglot.errors
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.mysql import MySQL
from sqlglot.dialects.oracle import Oracle
from sqlglot.dialects.snowflake import Snowflake
from sqlglot.dialects.sqlite import SQLite
from sqlglot.dialects.tsql import TSQL
from sqlglot.tokens import TokenType

_DATE_FORMAT = re.compile(r"YYYY|YY|MM|MON|DD|DY|DAY|HH|MI|SS|IW|WW|Q", re.IGNORECASE)
_ORACLE_TRUNC_UNITS = {
    "YYYY": "year", "SYYYY": "year", "YEAR": "year", "SYEAR": "year", "YYY": "year", "YY": "year", "Y": "year",
    "Q": "quarter", "MONTH": "month", "MON": "month", "MM": "month", "RM": "month",
    "WW": "week", "IW": "week", "W": "week", "DDD": "day", "DD": "day", "J": "day",
    "DAY": "day", "DY": "day", "D": "day", "HH": "hour", "HH12": "hour", "HH24": "hour", "MI": "minute",
}  # fmt: skip
_TSQL_DATEPARTS = {
    "year": "year", "yy": "year", "yyyy": "year", "quarter": "quarter", "qq": "quarter", "q": "quarter",
    "month": "month", "mm": "month", "m": "month", "dayofyear": "doy", "dy": "doy", "y": "doy",
    "day": "day", "dd": "day", "d": "day", "hour": "hour", "hh": "hour", "minute": "minute", "mi": "minute",
    "n": "minute", "second": "second", "ss": "second", "s": "second", "millisecond": "millisecond",
    "ms": "millisecond", "microsecond": "microsecond", "mcs": "microsecond", "iso_week": "week",
    "isowk": "week", "isoww": "week",
}  # fmt: skip


def _tsql_datepart(args: list[exp.Expression]) -> exp.Expression:
    unit = args[0].name.lower() if args else ""
    value = args[1] if len(args) > 1 else exp.null()
    if unit in ("weekday", "dw", "w"):
        return exp.Add(
            this=exp.Extract(this=exp.var("dow"), expression=value), expression=exp.Literal.number(1)
        )
    if unit in ("week", "wk", "ww"):  # T-SQL weeks start on Sunday and January 1st is always in week 1
        doy = exp.Extract(this=exp.var("doy"), expression=value.copy())
        jan1 = exp.Extract(
            this=exp.var("dow"), expression=exp.DateTrunc(unit=exp.Literal.string("year"), this=value)
        )
        offset = exp.Paren(
            this=exp.Sub(this=exp.Add(this=doy, expression=jan1), expression=exp.Literal.number(1))
        )
        return exp.Add(
            this=exp.IntDiv(this=offset, expression=exp.Literal.number(7)), expression=exp.Literal.number(1)
        )
    part = _TSQL_DATEPARTS.get(unit)
    if part is None:
        raise sqlglot.errors.ParseError(f"Unknown DATEPART unit '{unit}'.")
    return exp.Extract(this=exp.var(part), expression=value)


class _TSQL(TSQL):
    class Parser(TSQL.Parser):
        FUNCTIONS = {**TSQL.Parser.FUNCTIONS, "DATEPART": _tsql_datepart}


_FORMAT_TOKENS = [
    ("YYYY", "%Y"), ("RRRR", "%Y"), ("YY", "%y"), ("RR", "%y"), ("MONTH", "%B"), ("MMMM", "%B"), ("MON", "%b"),
    ("MM", "%m"), ("DAY", "%A"), ("DDD", "%j"), ("DD", "%d"), ("DY", "%a"), ("HH24", "%H"), ("HH12", "%I"),
    ("HH", "%I"), ("MI", "%M"), ("SS", "%S"), ("FF3", "%g"), ("FF6", "%f"), ("FF", "%f"), ("AM", "%p"),
    ("PM", "%p"), ("IW", "%V"), ("WW", "%U"),
]  # fmt: skip
_NAME_TOKENS = {"MONTH", "MON", "DAY", "DY"}


def _convert_format(fmt: str, name_case: bool) -> exp.Expression | None:
    """An Oracle/Snowflake date format as a strftime format; None if it has elements strftime lacks."""
    out, i, upper, lower = [], 0, False, False
    while i < len(fmt):
        if fmt[i] == '"':
            end = fmt.find('"', i + 1)
            end = len(fmt) if end < 0 else end
            out.append(fmt[i + 1 : end].replace("%", "%%"))
            i = end + 1
            continue
        if fmt[i : i + 2].upper() == "FM":
            i += 2
            continue
        for token, code in _FORMAT_TOKENS:
            text = fmt[i : i + len(token)]
            if text.upper() == token:
                if token in _NAME_TOKENS and name_case:
                    upper = upper or text.isupper()
                    lower = lower or text.islower()
                out.append(code)
                i += len(token)
                break
        else:
            if fmt[i].isalpha():
                return None
            out.append("%%" if fmt[i] == "%" else fmt[i])
            i += 1
    return exp.Literal.string("".join(out)), upper, lower  # type: ignore[return-value]


def _to_char(name_case: bool):  # type: ignore[no-untyped-def]
    def build(args: list[exp.Expression]) -> exp.Expression:
        if len(args) == 2 and args[1].is_string and _DATE_FORMAT.search(args[1].name):
            converted = _convert_format(args[1].name, name_case)
            if converted is not None:
                fmt, upper, lower = converted  # type: ignore[misc]
                result: exp.Expression = exp.TimeToStr(this=args[0], format=fmt)
                if upper:
                    result = exp.Upper(this=result)
                elif lower:
                    result = exp.Lower(this=result)
                return result
        return exp.ToChar.from_arg_list(args)

    return build


def _oracle_trunc(args: list[exp.Expression]) -> exp.Expression:
    value = args[0] if args else exp.null()
    unit = args[1] if len(args) > 1 else None
    if unit is not None and unit.is_string:
        mapped = _ORACLE_TRUNC_UNITS.get(unit.name.upper(), unit.name.lower())
        return exp.DateTrunc(unit=exp.Literal.string(mapped), this=value)
    if unit is not None or value.is_number:
        return exp.Anonymous(this="TRUNC", expressions=[a for a in (value, unit) if a is not None])
    # TRUNC(x): a date or a number; decided later from the column types.
    return exp.DateTrunc(unit=exp.Literal.string("day"), this=value, unabbreviate=False)


class _Oracle(Oracle):
    class Parser(Oracle.Parser):
        FUNCTIONS = {**Oracle.Parser.FUNCTIONS, "TO_CHAR": _to_char(True), "TRUNC": _oracle_trunc}


class _Snowflake(Snowflake):
    class Parser(Snowflake.Parser):
        FUNCTIONS = {
            **Snowflake.Parser.FUNCTIONS,
            "TO_CHAR": _to_char(False),
            "TO_VARCHAR": _to_char(False),
        }


_SQLITE_MODIFIER = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s+(day|month|year|hour|minute|second)s?\s*$", re.I)


def _sqlite_date(kind: exp.DataType.Type):  # type: ignore[no-untyped-def]
    def build(args: list[exp.Expression]) -> exp.Expression:
        if not args:
            raise sqlglot.errors.ParseError("date() needs an argument.")
        value = args[0]
        if value.is_string and value.name.lower() == "now":
            value = exp.CurrentTimestamp()
        result: exp.Expression = exp.Cast(this=value, to=exp.DataType.build("TIMESTAMP"))
        for modifier in args[1:]:
            text = modifier.name.strip().lower() if modifier.is_string else ""
            match = _SQLITE_MODIFIER.match(text)
            if match:
                interval = exp.Interval(
                    this=exp.Literal.string(match.group(1)), unit=exp.var(match.group(2).upper())
                )
                result = exp.Add(this=result, expression=interval)
            elif text in ("start of month", "start of year", "start of day"):
                unit = text.rsplit(" ", 1)[-1]
                result = exp.DateTrunc(unit=exp.Literal.string(unit), this=result)
            else:
                raise sqlglot.errors.ParseError(f"Unsupported SQLite date modifier {modifier.sql()}.")
        return exp.Cast(this=result, to=exp.DataType.build(kind))

    return build


class _SQLite(SQLite):
    class Parser(SQLite.Parser):
        FUNCTIONS = {
            **SQLite.Parser.FUNCTIONS,
            "DATE": _sqlite_date(exp.DataType.Type.DATE),
            "DATETIME": _sqlite_date(exp.DataType.Type.TIMESTAMP),
        }


class _MySQLPipesAsConcat(MySQL):
    """MySQL in PIPES_AS_CONCAT mode: the lenient reading of `a || b` tried when the strict one fails."""

    DPIPE_IS_STRING_CONCAT = True

    class Parser(MySQL.Parser):
        DISJUNCTION = {k: v for k, v in MySQL.Parser.DISJUNCTION.items() if k != TokenType.DPIPE}


READERS: dict[str, tuple[str | type[Dialect], ...]] = {
    "postgres": ("postgres",),
    "mysql": ("mysql", _MySQLPipesAsConcat),
    "sqlite": (_SQLite,),
    "tsql": (_TSQL,),
    "oracle": (_Oracle,),
    "snowflake": (_Snowflake,),
    "bigquery": ("bigquery",),
}
