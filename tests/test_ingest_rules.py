"""The rule builder: bounds come from a field's spec (the JSON Schema's ``minimum`` for usage
events), and each loader applies only the rules of its severity."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.contract import Field, column, field_from_schema, fields, schema
from orchestration.ingest import validate
from orchestration.ingest.rules import Rule, Severity, bound_rules, findings_sql


def _errors(rules_sql: str, values: list) -> list[list[tuple]]:
    """The findings per value of a one-column relation ``v``."""
    with duckdb.connect() as con:
        rows = con.execute(
            f"select {rules_sql} from (select unnest(?) as v) order by v", [values]
        ).fetchall()
    return [[(e["code"], e["field"], e["message"]) for e in row[0]] for row in rows]


def test_every_bound_in_the_schema_reaches_the_fields():
    properties = schema()["properties"]
    bounded = {f.name: f.minimum for f in fields() if f.minimum is not None}
    assert bounded == {
        name: spec["minimum"] for name, spec in properties.items() if "minimum" in spec
    }
    assert bounded["attempt"] == 1 and bounded["completion_tokens"] == 0
    assert {f.name: f.min_length for f in fields() if f.min_length} == {
        "event_id": 1,
        "provider": 1,
        "model": 1,
    }


def test_a_minimum_gives_a_rule_and_its_code_follows_the_bound():
    counted = field_from_schema("seats", {"type": ["integer", "null"], "minimum": 0}, False)
    at_least_3 = field_from_schema("replicas", {"type": "integer", "minimum": 3}, True)
    attempt = next(f for f in fields() if f.name == "attempt")

    assert _errors(findings_sql(bound_rules(counted, "v", "v::varchar")), [-1, 0]) == [
        [("negative_value", "seats", "seats must not be negative, got -1")],
        [],
    ]
    assert _errors(findings_sql(bound_rules(at_least_3, "v", "v::varchar")), [2, 3]) == [
        [("below_minimum", "replicas", "replicas must be 3 or more, got 2")],
        [],
    ]
    # the code that predates the generic rule is kept for attempt
    assert _errors(findings_sql(bound_rules(attempt, "v", "v::varchar")), [0, 1]) == [
        [("invalid_attempt", "attempt", "attempt must be 1 or more, got 0")],
        [],
    ]


def test_an_inclusive_maximum_is_its_own_rule_and_the_minimum_keeps_its_code():
    tokens = field_from_schema(
        "tokens", {"type": ["integer", "null"], "minimum": 0, "maximum": 100}, False
    )
    found = _errors(findings_sql(bound_rules(tokens, "v", "v::varchar")), [-1, 0, 100, 101])
    assert found == [
        [("negative_value", "tokens", "tokens must not be negative, got -1")],
        [],
        [],
        [("out_of_range", "tokens", "tokens must be at most 100, got 101")],
    ]
    assert {f.name: f.maximum for f in fields() if f.maximum is not None} == {
        name: spec["maximum"] for name, spec in schema()["properties"].items() if "maximum" in spec
    }


def test_a_range_gives_one_out_of_range_rule():
    pct = column("pct", "percent", True, minimum=0, exclusive_maximum=100)
    found = _errors(findings_sql(bound_rules(pct, "v", "v::varchar")), [-1, 0, 99, 100])
    assert [[code for code, _, _ in row] for row in found] == [
        ["out_of_range"],
        [],
        [],
        ["out_of_range"],
    ]


def test_the_usage_validator_has_no_bound_the_schema_does_not_state():
    sql = validate.validation_sql(numbers_as_text=True, from_bytes=False)
    for spec in fields():
        if spec.kind == "integer":
            assert (f"v_{spec.name} < {spec.minimum}" in sql) == (spec.minimum is not None)
    assert "v_attempt < 1" in sql and "v_prompt_tokens < 0" in sql


def test_findings_keep_to_one_severity_and_report_the_lowest_priority_first():
    rules = [
        Rule("too_big", "v", "v > 10", "'big'", priority=40),
        Rule("negative", "v", "v < 0", "'negative'", priority=30),
        Rule("odd", "v", "v % 2 <> 0", "'odd'", priority=35),
        Rule("unlucky", "v", "v = 13", "'unlucky'", severity=Severity.REJECT_FILE),
    ]
    assert _errors(findings_sql(rules), [-3, 4, 13]) == [
        [("negative", "v", "negative"), ("odd", "v", "odd")],
        [],
        [("odd", "v", "odd"), ("too_big", "v", "big")],
    ]
    assert _errors(findings_sql(rules, Severity.REJECT_FILE), [4, 13]) == [
        [],
        [("unlucky", "v", "unlucky")],
    ]
    assert _errors(findings_sql([], Severity.QUARANTINE), [1]) == [[]]


def test_a_field_must_use_a_known_kind_and_only_an_enum_has_values():
    with pytest.raises(ValueError, match="unknown kind"):
        Field("x", "float")
    with pytest.raises(ValueError, match="enum"):
        Field("x", "enum")
    with pytest.raises(ValueError, match="enum"):
        Field("x", "string", enum=("a",))
