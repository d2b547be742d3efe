"""DuckDB column types → PostgreSQL column types, and how each value is written for ``COPY``.

Every column of the serving copy becomes a PostgreSQL column of the type that holds the same
values: ``DECIMAL(p,s)`` → ``numeric(p,s)`` (money stays exact), ``TIMESTAMP`` → ``timestamp``,
``TIMESTAMP WITH TIME ZONE`` → ``timestamptz``, ``DATE`` → ``date``, a list of scalars →
an array of their type, unsigned and 128-bit integers → the smallest type that holds them.
What PostgreSQL has no type for (structs, maps, unions, lists of lists) becomes ``jsonb``.

DuckDB itself writes the rows as CSV that PostgreSQL's ``COPY ... (FORMAT csv)`` reads: each
column is selected through an expression that renders its value as PostgreSQL's input syntax
where the two differ (arrays as ``{...}``, bytes as ``\\x`` hex, nested values as JSON).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestration.serving.fingerprints import quote

# Scalar DuckDB types (as information_schema.columns.data_type spells them) → PostgreSQL.
SCALAR_TYPES = {
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(39,0)",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20,0)",
    "UHUGEINT": "numeric(39,0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "VARCHAR": "text",
    "BLOB": "bytea",
    "BIT": "varbit",
    "DATE": "date",
    "TIME": "time",
    "TIME WITH TIME ZONE": "timetz",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp",  # PostgreSQL keeps microseconds
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "jsonb",
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_LIST = re.compile(r"(.+?)(\[\d*\])$")


class UnsupportedTypeError(ValueError):
    """A DuckDB column type with no PostgreSQL counterpart; the message names the column."""


@dataclass(frozen=True)
class ColumnPlan:
    """One column: its PostgreSQL type and the DuckDB expression that writes its values."""

    name: str
    duckdb_type: str
    postgres_type: str
    select: str  # a DuckDB expression over the column, rendering PostgreSQL's input syntax


def _scalar(duckdb_type: str) -> str | None:
    if duckdb_type in SCALAR_TYPES:
        return SCALAR_TYPES[duckdb_type]
    decimal = _DECIMAL.fullmatch(duckdb_type)
    if decimal:
        return f"numeric({decimal.group(1)},{decimal.group(2)})"
    if duckdb_type.startswith("ENUM("):
        return "text"
    return None


def _is_nested(duckdb_type: str) -> bool:
    return duckdb_type.startswith(("STRUCT(", "MAP(", "UNION(")) or bool(
        _LIST.fullmatch(duckdb_type)
    )


def _as_text(expression: str, duckdb_type: str) -> str:
    if duckdb_type == "BLOB":  # PostgreSQL's bytea hex input: \x0a1b...
        return f"('\\x' || hex({expression}))"
    return f"cast({expression} as varchar)"


def column_plan(name: str, duckdb_type: str) -> ColumnPlan:
    """The PostgreSQL type of a column of DuckDB type ``duckdb_type``, and how to write it."""
    column = quote(name)
    scalar = _scalar(duckdb_type)
    if scalar is not None:
        select = f"('\\x' || hex({column}))" if duckdb_type == "BLOB" else column
        if duckdb_type == "JSON":
            select = f"cast({column} as varchar)"
        return ColumnPlan(name, duckdb_type, scalar, select)
    listed = _LIST.fullmatch(duckdb_type)
    if listed and _scalar(listed.group(1)) is not None and listed.group(1) != "JSON":
        element_type = listed.group(1)
        # PostgreSQL's array input: {"a","b",NULL}; every element quoted, \ and " escaped.
        element = (
            "case when element is null then 'NULL' else '\"' || replace(replace("
            + _as_text("element", element_type)
            + ", '\\', '\\\\'), '\"', '\\\"') || '\"' end"
        )
        select = (
            f"case when {column} is null then null else '{{' || array_to_string("
            f"list_transform(cast({column} as {element_type}[]), lambda element: {element}), ','"
            ") || '}' end"
        )
        return ColumnPlan(name, duckdb_type, f"{_scalar(element_type)}[]", select)
    if _is_nested(duckdb_type):
        return ColumnPlan(name, duckdb_type, "jsonb", f"cast(to_json({column}) as varchar)")
    raise UnsupportedTypeError(
        f"column {name!r} has DuckDB type {duckdb_type}, which has no PostgreSQL counterpart in "
        "orchestration/serving/postgres_types.py; cast it in its model to a type listed there"
    )
