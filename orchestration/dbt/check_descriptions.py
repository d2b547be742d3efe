"""What each dbt data test checks, in one sentence, for its asset check in the Dagster UI.

A test's own ``description:`` in yml (dbt >= 1.11; singular tests are described in
``tests/dbt/_singular__tests.yml``) comes first, then ``meta.description`` (the key dagster-dbt
itself reads). A generic test without either gets a sentence built from its name and arguments:
``not_null`` on ``cost_usd`` reads "`cost_usd` is never null.". A project generic test this module
has no sentence for is described by its macro's yml description and its arguments. A test none of
these describe gets no description; ``tests/test_definitions.py`` fails on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_REF = re.compile(r"""^\s*ref\(\s*['"]([^'"]+)['"]\s*\)\s*$""")
_SOURCE = re.compile(r"""^\s*source\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)\s*$""")

# The `where` of the tests scoped to the days an incremental run rebuilt (macros/data_test_window.sql).
REBUILT_DAY_PLACEHOLDER = "__first_rebuilt_day__"


def _code(name: Any) -> str:
    return f"`{name}`"


def _listed(items: Sequence[Any]) -> str:
    """`a`, `b` and `c`."""
    names = [_code(item) for item in items]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _relation(reference: str) -> str:
    """``ref('fct_tasks')`` → fct_tasks; ``source('lake', 'usage_events')`` → lake.usage_events."""
    if match := _REF.match(reference):
        return match.group(1)
    if match := _SOURCE.match(reference):
        return f"{match.group(1)}.{match.group(2)}"
    return reference


def _not_null(kwargs: Mapping[str, Any]) -> str:
    return f"{_code(kwargs['column_name'])} is never null."


def _unique(kwargs: Mapping[str, Any]) -> str:
    return f"{_code(kwargs['column_name'])} is unique: no two rows share a value."


def _accepted_values(kwargs: Mapping[str, Any]) -> str:
    values = ", ".join(_code(value) for value in kwargs["values"])
    return f"Every non-null {_code(kwargs['column_name'])} is one of: {values}."


def _relationships(kwargs: Mapping[str, Any]) -> str:
    column, field = kwargs["column_name"], kwargs["field"]
    where = _relation(kwargs["to"]) + ("" if field == column else f" as {_code(field)}")
    return f"Every non-null {_code(column)} exists in {where}."


def _unique_combination_of_columns(kwargs: Mapping[str, Any]) -> str:
    columns = kwargs["combination_of_columns"]
    return f"One row per {_listed(columns)}: no combination repeats."


def _expression_is_true(kwargs: Mapping[str, Any]) -> str:
    return f"{_code(kwargs['expression'])} holds on every row (null counts as false)."


# Generic tests by name: dbt's four built-ins and the project's own (tests/dbt/generic/).
SENTENCES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "not_null": _not_null,
    "unique": _unique,
    "accepted_values": _accepted_values,
    "relationships": _relationships,
    "unique_combination_of_columns": _unique_combination_of_columns,
    "expression_is_true": _expression_is_true,
}


def _written(test: Mapping[str, Any]) -> str | None:
    for text in (
        test.get("description"),
        (test.get("meta") or {}).get("description"),
        ((test.get("config") or {}).get("meta") or {}).get("description"),
    ):
        if isinstance(text, str) and text.strip():
            return " ".join(text.split())
    return None


def _from_macro(
    name: str, package: str, kwargs: Mapping[str, Any], manifest: Mapping[str, Any]
) -> str | None:
    macro = manifest.get("macros", {}).get(f"macro.{package}.test_{name}", {})
    described = " ".join((macro.get("description") or "").split())
    if not described:
        return None
    arguments = [
        f"{key} = {_code(value)}" for key, value in sorted(kwargs.items()) if key != "model"
    ]
    return f"{described} ({'; '.join(arguments)})" if arguments else described


def check_description(test: Mapping[str, Any], manifest: Mapping[str, Any]) -> str | None:
    """The description of the dbt test node ``test`` (a manifest node), or None if it has none."""
    if written := _written(test):
        return written
    metadata = test.get("test_metadata")
    if not metadata:  # a singular test nobody described
        return None
    name, kwargs = metadata["name"], metadata.get("kwargs") or {}
    namespace = metadata.get("namespace")  # set for a package's test (dbt_utils.…), else None
    if name in SENTENCES and namespace is None:
        sentence = SENTENCES[name](kwargs)
    else:
        sentence = _from_macro(name, namespace or test["package_name"], kwargs, manifest)
    if sentence is None:
        return None
    where = (test.get("config") or {}).get("where")
    if not where:
        return sentence
    if REBUILT_DAY_PLACEHOLDER in where:
        # macros/data_test_window.sql: the placeholder becomes the first day the run rebuilt
        column = where.split(">=")[0].strip()
        return (
            f"{sentence} On an incremental run, checked on the days it rebuilt (`{column}` from "
            "the first rebuilt day); on a full build, on every row."
        )
    return f"{sentence} Checked on rows where {_code(where)}."
