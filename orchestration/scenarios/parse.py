"""Read one scenario file into a ``Scenario``, or list every mistake with its file, line and reason.

YAML is composed into nodes (PyYAML's ``compose``), which keep the line of every key and value,
and each value is checked against schema.py before it is turned into Python. Checks that need
the price catalog or the warehouse are in references.py."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime
from pathlib import Path

import yaml

from orchestration.paths import PROJECT_ROOT
from orchestration.scenarios.schema import (
    DEFAULT_PERIOD,
    NAME_PATTERN,
    OBSERVED,
    PERIOD_KEYS,
    PRICE_BASES,
    RULE_KEYS,
    SCENARIO_KEYS,
    SERVICE_TIERS,
    Problem,
    Rule,
    Scenario,
    ScenarioError,
)

STR = "tag:yaml.org,2002:str"
NULL = "tag:yaml.org,2002:null"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
TIMESTAMP = "tag:yaml.org,2002:timestamp"
TYPE_NAMES = {
    STR: "text",
    NULL: "nothing",
    INT: "a whole number",
    FLOAT: "a number",
    TIMESTAMP: "a date",
    "tag:yaml.org,2002:bool": "true/false",
    "tag:yaml.org,2002:map": "a mapping",
    "tag:yaml.org,2002:seq": "a list",
}
# What a name (feature, route, provider, model) may not hold: it is a value in SQL, never SQL
# text, but a control or invisible character (U+202E reverses the text shown) is never a real
# name and would garble or disguise every message that quotes it.
MAX_TEXT = 200


def _hidden(value: str) -> str | None:
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return f"U+{ord(char):04X}"
    return None


def shown_path(path: Path) -> str:
    """``path`` relative to the project root, or its file name when it lies outside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return resolved.name


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return TYPE_NAMES.get(node.tag, node.tag)


class _Reader:
    """Checks one file's nodes, collecting problems instead of stopping at the first."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")

    def problem(self, node_or_line, reason: str) -> None:
        line = node_or_line if isinstance(node_or_line, int) else _line(node_or_line)
        self.problems.append(Problem(self.file, line, reason))

    def value(self, node: yaml.Node):
        return self._constructor.construct_object(node, deep=True)

    def mapping(self, node: yaml.Node, allowed: tuple[str, ...], what: str) -> dict:
        """``{key: (key node, value node)}``; unknown and repeated keys are problems."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping of keys to values, not {_kind(node)}")
            return {}
        out: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != STR:
                self.problem(key_node, f"{what}: a key must be text, not {_kind(key_node)}")
                continue
            key = key_node.value
            if key not in allowed:
                self.problem(
                    key_node,
                    f"{what}: unknown key {key!r} (allowed: {', '.join(allowed)})",
                )
                continue
            if key in out:
                self.problem(
                    key_node,
                    f"{what}: key {key!r} given twice (first on line {_line(out[key][0])})",
                )
                continue
            out[key] = (key_node, value_node)
        return out

    def text(self, node: yaml.Node, what: str, *, optional: bool = False) -> str | None:
        if optional and isinstance(node, yaml.ScalarNode) and node.tag == NULL:
            return None
        if not isinstance(node, yaml.ScalarNode) or node.tag != STR:
            hint = " (quote it)" if isinstance(node, yaml.ScalarNode) else ""
            self.problem(node, f"{what} must be text, not {_kind(node)}{hint}")
            return None
        value = node.value.strip()
        if not value:
            self.problem(node, f"{what} is empty")
            return None
        hidden = _hidden(value)
        if hidden:
            self.problem(node, f"{what} holds a control or invisible character ({hidden})")
            return None
        if len(value) > MAX_TEXT:
            self.problem(node, f"{what} is longer than {MAX_TEXT} characters")
            return None
        return value

    def number(self, node: yaml.Node, what: str) -> float | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (INT, FLOAT):
            self.problem(node, f"{what} must be a number, not {_kind(node)}")
            return None
        value = float(self.value(node))
        if not math.isfinite(value):
            self.problem(node, f"{what} must be a finite number, not {node.value}")
            return None
        return value

    def day(self, node: yaml.Node, what: str) -> date | None:
        if isinstance(node, yaml.ScalarNode) and node.tag in (TIMESTAMP, STR):
            try:
                value = (
                    self.value(node) if node.tag == TIMESTAMP else date.fromisoformat(node.value)
                )
            except ValueError:
                value = None
            if isinstance(value, date) and not isinstance(value, datetime):
                return value
        self.problem(
            node,
            f"{what} must be a date YYYY-MM-DD, not {node.value!r}"
            if isinstance(node, yaml.ScalarNode)
            else f"{what} must be a date YYYY-MM-DD, not {_kind(node)}",
        )
        return None


def read_scenario(path: Path) -> Scenario:
    """The scenario in ``path``; raises ``ScenarioError`` listing every mistake of the file's own
    (its shape, types and values: not yet whether its models and features exist)."""
    shown = shown_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError([Problem(shown, None, f"cannot read the file: {error}")]) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        reason = getattr(error, "problem", None) or str(error)
        line = mark.line + 1 if mark is not None else None
        raise ScenarioError([Problem(shown, line, f"not valid YAML: {reason}")]) from None
    if root is None:
        raise ScenarioError([Problem(shown, None, "the file is empty")])
    reader = _Reader(shown)
    scenario = _scenario(reader, root, path, shown)
    if reader.problems:
        raise ScenarioError(reader.problems)
    assert scenario is not None
    return scenario


def _scenario(reader: _Reader, root: yaml.Node, path: Path, shown: str) -> Scenario | None:
    top = reader.mapping(root, SCENARIO_KEYS, "the scenario")
    if not isinstance(root, yaml.MappingNode):
        return None
    name = None
    name_line = _line(root)
    if "name" not in top:
        reader.problem(root, "the scenario has no name (add `name: ...`)")
    else:
        node = top["name"][1]
        name_line = _line(node)
        name = reader.text(node, "name")
        if name is not None and not re.fullmatch(NAME_PATTERN, name):
            reader.problem(
                node,
                f"name {name!r} must be 1 to 64 letters, digits, '.', '_' or '-', starting "
                "with a letter or digit",
            )
            name = None
    description = None
    if "description" in top:
        description = reader.text(top["description"][1], "description", optional=True)
    start = end = None
    if "period" in top:
        start, end = _period(reader, top["period"][1])
    basis, price_date = "today", None
    if "prices" in top:
        basis, price_date = _prices(reader, top["prices"][1])
    rules: list[Rule] = []
    if "rules" not in top:
        reader.problem(root, "the scenario has no rules (add `rules:` with at least one rule)")
    else:
        rules = _rules(reader, top["rules"][1])
    if name is None:
        return None
    return Scenario(
        name=name,
        file=path.resolve(),
        shown_file=shown,
        line=name_line,
        description=description,
        period_start=start,
        period_end=end,
        price_basis=basis,
        price_date=price_date,
        rules=rules,
    )


def _period(reader: _Reader, node: yaml.Node) -> tuple[date | None, date | None]:
    if isinstance(node, yaml.ScalarNode):
        if node.tag == STR and node.value == DEFAULT_PERIOD:
            return None, None
        reader.problem(
            node,
            f"period must be {DEFAULT_PERIOD} or {{start: YYYY-MM-DD, end: YYYY-MM-DD}}, "
            f"not {node.value!r}",
        )
        return None, None
    keys = reader.mapping(node, PERIOD_KEYS, "period")
    missing = [k for k in PERIOD_KEYS if k not in keys]
    if isinstance(node, yaml.MappingNode) and missing:
        reader.problem(node, f"period needs both start and end (missing: {', '.join(missing)})")
    start = reader.day(keys["start"][1], "period start") if "start" in keys else None
    end = reader.day(keys["end"][1], "period end") if "end" in keys else None
    if start is not None and end is not None and end <= start:
        reader.problem(
            keys["end"][1],
            f"period end {end} must be after start {start} (end is exclusive: the day after "
            "the last day replayed)",
        )
    return start, end


def _prices(reader: _Reader, node: yaml.Node) -> tuple[str, date | None]:
    if isinstance(node, yaml.ScalarNode) and node.tag == STR and node.value in PRICE_BASES:
        return node.value, None
    if (
        isinstance(node, yaml.ScalarNode)
        and node.tag == TIMESTAMP
        or (isinstance(node, yaml.ScalarNode) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", node.value))
    ):
        day = reader.day(node, "prices")
        return ("date", day) if day is not None else ("today", None)
    shown = node.value if isinstance(node, yaml.ScalarNode) else _kind(node)
    reader.problem(node, f"prices must be today, call_time or a date YYYY-MM-DD, not {shown!r}")
    return "today", None


def _rules(reader: _Reader, node: yaml.Node) -> list[Rule]:
    if not isinstance(node, yaml.SequenceNode):
        reader.problem(
            node, f"rules must be a list of rules (each starting with '- '), not {_kind(node)}"
        )
        return []
    if not node.value:
        reader.problem(node, "rules is empty: give at least one rule")
        return []
    rules: list[Rule] = []
    first_line_of: dict[tuple, int] = {}
    for index, rule_node in enumerate(node.value, start=1):
        rule = _rule(reader, rule_node, index)
        if rule is None:
            continue
        if rule.match in first_line_of:
            feature, route = rule.match
            what = (
                " and ".join(
                    part
                    for part in (
                        f"feature {feature!r}" if feature else "",
                        f"route {route!r}" if route else "",
                    )
                    if part
                )
                or "every call (no feature, no route)"
            )
            reader.problem(
                rule.line,
                f"rule {index} matches the same calls as the rule on line "
                f"{first_line_of[rule.match]} ({what}): one rule per match",
            )
            continue
        first_line_of[rule.match] = rule.line
        rules.append(rule)
    return rules


def _rule(reader: _Reader, node: yaml.Node, index: int) -> Rule | None:
    what = f"rule {index}"
    before = len(reader.problems)
    keys = reader.mapping(node, RULE_KEYS, what)
    if not isinstance(node, yaml.MappingNode):
        return None
    names = {}
    for key in ("feature", "route", "provider", "model"):
        names[key] = reader.text(keys[key][1], f"{what}: {key}") if key in keys else None
    if ("provider" in keys) != ("model" in keys):
        given, other = ("provider", "model") if "provider" in keys else ("model", "provider")
        reader.problem(
            keys[given][0],
            f"{what}: {given} without {other}: give both (the candidate), or neither (keep "
            "each call's own)",
        )
    tier = OBSERVED
    if "service_tier" in keys:
        value_node = keys["service_tier"][1]
        tier = reader.text(value_node, f"{what}: service_tier")
        if tier is not None and tier not in SERVICE_TIERS:
            reader.problem(
                value_node,
                f"{what}: service_tier {tier!r} is not one of {', '.join(SERVICE_TIERS)}",
            )
    cache = None
    if "cache_hit_rate" in keys:
        value_node = keys["cache_hit_rate"][1]
        if isinstance(value_node, yaml.ScalarNode) and value_node.tag == STR:
            if value_node.value != OBSERVED:
                reader.problem(
                    value_node,
                    f"{what}: cache_hit_rate must be observed or a rate from 0 to 1, "
                    f"not {value_node.value!r}",
                )
        else:
            cache = reader.number(value_node, f"{what}: cache_hit_rate")
            if cache is not None and not 0 <= cache <= 1:
                reader.problem(
                    value_node,
                    f"{what}: cache_hit_rate {value_node.value} is outside 0 to 1 (a share of "
                    "prompt tokens read from cache)",
                )
    ratio = 1.0
    if "token_ratio" in keys:
        value_node = keys["token_ratio"][1]
        ratio = reader.number(value_node, f"{what}: token_ratio")
        if ratio is not None and ratio <= 0:
            reader.problem(
                value_node,
                f"{what}: token_ratio {value_node.value} must be more than 0 (candidate tokens "
                "= observed tokens x ratio)",
            )
    if len(reader.problems) > before:
        return None
    return Rule(
        index=index,
        line=_line(node),
        feature=names["feature"],
        route=names["route"],
        provider=names["provider"],
        model=names["model"],
        service_tier=tier,
        cache_hit_rate=cache,
        token_ratio=ratio,
    )
