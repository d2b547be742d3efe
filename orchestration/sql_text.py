"""The one way llm-margin writes a name or a string into DuckDB SQL text it builds: ``quote`` for
identifiers, ``literal`` for strings and file paths. Values that vary per query go in as bound
parameters (``?``) instead; PostgreSQL statements use ``psycopg.sql.Identifier``. docs/security.md,
"Names that reach SQL"."""

from __future__ import annotations

from pathlib import PurePath


def quote(identifier: str) -> str:
    """A DuckDB identifier, verbatim: ``a"b`` → ``"a""b"``."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str | PurePath) -> str:
    """A DuckDB string literal, verbatim; a path is written with forward slashes."""
    text = value.as_posix() if isinstance(value, PurePath) else value
    return "'" + text.replace("'", "''") + "'"
