"""The plan file (YAML) of ``llm-margin plan-calculator``: its schema and its validation.

Every mistake is reported with the file, the line and the reason (PyYAML's node marks), all of
them at once, before anything runs. The schema (docs/decisions.md, "Plan-margin calculator")::

    name: team-pro                      # letters, digits, _ . - (it names the call shapes)
    price_usd: 49                       # per customer per month, > 0
    target_gross_margin: 0.7            # 0 <= target < 1
    seed: 7                             # optional, default 0
    customers: 10000                    # optional, simulated customers, default 10000
    features:
      - feature: chat_assistant         # the feature name in the usage events
        tasks_per_customer_month: {median: 120, p90: 600}   # or {like_plan: <plan_id>}
        provider: openai
        model: gpt-4o-mini
        service_tier: batch             # optional: standard (default), batch, flex, priority
        trace: azure-conv               # optional: token sizes from a public trace
        tokens: {prompt: 1200, completion: 300, calls_per_task: 1}   # optional
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_CUSTOMERS = 10_000
MAX_CUSTOMERS = 1_000_000
MAX_FILE_BYTES = 1_000_000
MAX_TEXT = 200
SERVICE_TIERS = ("standard", "batch", "flex", "priority")
# The public traces a feature may name (../shared/datasets/, read by orchestration/plans/shapes.py).
TRACES = ("azure-code", "azure-conv")
PLAN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

PLAN_KEYS = ("name", "price_usd", "target_gross_margin", "seed", "customers", "features")
FEATURE_KEYS = (
    "feature",
    "tasks_per_customer_month",
    "provider",
    "model",
    "service_tier",
    "trace",
    "tokens",
)
TOKEN_KEYS = ("prompt", "completion", "calls_per_task", "cached_prompt")
_STANDARD_TAGS = {
    "tag:yaml.org,2002:" + kind for kind in ("map", "seq", "str", "int", "float", "null", "bool")
}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 1-based
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class PlanFileError(ValueError):
    """A plan file with mistakes; ``problems`` lists each with its file, line and reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Tasks:
    """Tasks per customer-month: a lognormal (median, p90) or a named plan's real customers."""

    median: float | None = None
    p90: float | None = None
    like_plan: str | None = None


@dataclass(frozen=True)
class Tokens:
    prompt: int
    completion: int
    calls_per_task: int = 1
    cached_prompt: int = 0


@dataclass(frozen=True)
class Feature:
    feature: str
    tasks: Tasks
    provider: str
    model: str
    service_tier: str | None  # None: standard
    trace: str | None
    tokens: Tokens | None
    line: int


@dataclass(frozen=True)
class Plan:
    file: str
    name: str
    price_usd: float
    target_gross_margin: float
    seed: int
    customers: int
    features: tuple[Feature, ...]
    line: int = 1


# --- reading ------------------------------------------------------------------------------------


class _Reader:
    """Walks the composed YAML nodes, recording every problem with its line."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, node: yaml.Node | None, reason: str, line: int | None = None) -> None:
        where = line if line is not None else (node.start_mark.line + 1 if node else 1)
        self.problems.append(Problem(self.file, where, reason))

    def mapping(
        self, node: yaml.Node, what: str, allowed: tuple[str, ...]
    ) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping of keys to values")
            return None
        seen: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if not isinstance(name, str) or name not in allowed:
                self.problem(
                    key,
                    f"unknown key {_shown(name)} in {what}; the keys are {', '.join(allowed)}",
                )
                continue
            if name in seen:
                self.problem(key, f"key {name!r} appears twice in {what}")
                continue
            seen[name] = (key, value)
        return seen

    def number(
        self, node: yaml.Node, what: str, *, check: Callable[[float], bool], rule: str
    ) -> float | None:
        value = _scalar_value(node) if isinstance(node, yaml.ScalarNode) else None
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            self.problem(node, f"{what} must be a number ({rule}), got {_shown_node(node)}")
            return None
        if not check(value):
            self.problem(node, f"{what} must be {rule}, got {value}")
            return None
        return float(value)

    def integer(self, node: yaml.Node, what: str, *, low: int, high: int) -> int | None:
        value = _scalar_value(node) if isinstance(node, yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(node, f"{what} must be a whole number, got {_shown_node(node)}")
            return None
        if not low <= value <= high:
            self.problem(node, f"{what} must be between {low:,} and {high:,}, got {value:,}")
            return None
        return value

    def text(self, node: yaml.Node, what: str) -> str | None:
        value = _scalar_value(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, str) or not value.strip():
            self.problem(node, f"{what} must be a non-empty string, got {_shown_node(node)}")
            return None
        bad = hostile_reason(value)
        if bad:
            self.problem(node, f"{what} {bad}; refused")
            return None
        return value


def hostile_reason(value: str) -> str | None:
    """Why a name from a plan file cannot be used, or None. Names reach SQL only as bound
    parameters and the terminal only escaped; these are refused because no real feature, model,
    provider or plan id holds them and they would mislead where printed."""
    if len(value) > MAX_TEXT:
        return f"is longer than {MAX_TEXT} characters"
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn") or char in "\u2028\u2029":
            return f"holds the control or invisible character U+{ord(char):04X}"
    if value != value.strip():
        return "starts or ends with white space"
    return None


def _scalar_value(node: yaml.ScalarNode) -> object:
    return yaml.SafeLoader("").construct_object(node, deep=True)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _shown_node(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        return _shown(node.value)
    return "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"


def _structure_problems(text: str, file: str) -> list[Problem]:
    """Aliases and non-standard tags are refused before the document is composed: an alias can
    multiply a small file into a huge one, and a tag asks for objects a plan never holds."""
    problems = []
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            problems.append(Problem(file, line, "YAML aliases (*name) are not allowed"))
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in _STANDARD_TAGS and tag != "!":
            problems.append(Problem(file, line, f"YAML tag {_shown(tag)} is not allowed"))
    return problems


def load_plan(path: Path, *, shown_as: str | None = None) -> Plan:
    """Read and validate a plan file; raises ``PlanFileError`` listing every problem. The model
    of each feature is checked against the price catalog's model resolution (the same one real
    calls take, orchestration/pricing/resolution.py)."""
    file = shown_as or str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise PlanFileError([Problem(file, 1, f"cannot read the plan file: {error}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise PlanFileError([Problem(file, 1, f"larger than {MAX_FILE_BYTES:,} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PlanFileError([Problem(file, 1, f"not UTF-8 text: {error}")]) from None
    try:
        problems = _structure_problems(text, file)
        if problems:
            raise PlanFileError(problems)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise PlanFileError([Problem(file, line, f"not valid YAML: {error.problem}")]) from None
    except yaml.YAMLError as error:
        raise PlanFileError([Problem(file, 1, f"not valid YAML: {error}")]) from None
    if root is None:
        raise PlanFileError([Problem(file, 1, "the file is empty")])
    reader = _Reader(file)
    plan = _read_plan(reader, root)
    if reader.problems or plan is None:
        raise PlanFileError(reader.problems)
    return plan


def _read_plan(reader: _Reader, root: yaml.Node) -> Plan | None:
    keys = reader.mapping(root, "the plan", PLAN_KEYS)
    if keys is None:
        return None
    for required in ("name", "price_usd", "target_gross_margin", "features"):
        if required not in keys:
            reader.problem(root, f"the plan has no {required!r}")
    name = price = target = None
    seed, customers = 0, DEFAULT_CUSTOMERS
    if "name" in keys:
        name = reader.text(keys["name"][1], "name")
        if name is not None and not PLAN_NAME.fullmatch(name):
            reader.problem(
                keys["name"][1],
                f"name {_shown(name)} must be 1-64 letters, digits, '_', '.' or '-' "
                "(starting with a letter or digit)",
            )
            name = None
    if "price_usd" in keys:
        price = reader.number(
            keys["price_usd"][1], "price_usd", check=lambda v: v > 0, rule="greater than 0"
        )
    if "target_gross_margin" in keys:
        target = reader.number(
            keys["target_gross_margin"][1],
            "target_gross_margin",
            check=lambda v: 0 <= v < 1,
            rule="a fraction from 0 up to (not including) 1, e.g. 0.7 for 70%",
        )
    if "seed" in keys:
        seed = reader.integer(keys["seed"][1], "seed", low=0, high=2**63 - 1)
    if "customers" in keys:
        customers = reader.integer(keys["customers"][1], "customers", low=1, high=MAX_CUSTOMERS)
    features: list[Feature] = []
    if "features" in keys:
        node = keys["features"][1]
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            reader.problem(node, "features must be a non-empty list of features")
        else:
            names: dict[str, int] = {}
            for item in node.value:
                feature = _read_feature(reader, item)
                if feature is None:
                    continue
                if feature.feature in names:
                    reader.problem(
                        item,
                        f"feature {_shown(feature.feature)} is listed twice (first on line "
                        f"{names[feature.feature]})",
                    )
                    continue
                names[feature.feature] = feature.line
                features.append(feature)
    if reader.problems or None in (name, price, target, seed, customers):
        return None
    return Plan(
        file=reader.file,
        name=name,
        price_usd=price,
        target_gross_margin=target,
        seed=seed,
        customers=customers,
        features=tuple(features),
        line=root.start_mark.line + 1,
    )


def _read_feature(reader: _Reader, node: yaml.Node) -> Feature | None:
    keys = reader.mapping(node, "a feature", FEATURE_KEYS)
    if keys is None:
        return None
    before = len(reader.problems)
    for required in ("feature", "tasks_per_customer_month", "provider", "model"):
        if required not in keys:
            reader.problem(node, f"the feature has no {required!r}")
    name = reader.text(keys["feature"][1], "feature") if "feature" in keys else None
    provider = reader.text(keys["provider"][1], "provider") if "provider" in keys else None
    model = reader.text(keys["model"][1], "model") if "model" in keys else None
    tasks = (
        _read_tasks(reader, keys["tasks_per_customer_month"][1])
        if "tasks_per_customer_month" in keys
        else None
    )
    tier = None
    if "service_tier" in keys:
        value = reader.text(keys["service_tier"][1], "service_tier")
        if value is not None and value not in SERVICE_TIERS:
            reader.problem(
                keys["service_tier"][1],
                f"service_tier {_shown(value)} is not one of {', '.join(SERVICE_TIERS)}",
            )
        elif value != "standard":
            tier = value
    trace = None
    if "trace" in keys:
        trace = reader.text(keys["trace"][1], "trace")
        if trace is not None and trace not in TRACES:
            reader.problem(
                keys["trace"][1], f"trace {_shown(trace)} is not one of {', '.join(TRACES)}"
            )
    tokens = _read_tokens(reader, keys["tokens"][1]) if "tokens" in keys else None
    if provider is not None and model is not None:
        reason = unknown_model_reason(provider, model)
        if reason:
            reader.problem(keys["model"][1], reason)
    if len(reader.problems) > before:
        return None
    return Feature(
        feature=name,
        tasks=tasks,
        provider=provider,
        model=model,
        service_tier=tier,
        trace=trace,
        tokens=tokens,
        line=node.start_mark.line + 1,
    )


def _read_tasks(reader: _Reader, node: yaml.Node) -> Tasks | None:
    keys = reader.mapping(node, "tasks_per_customer_month", ("median", "p90", "like_plan"))
    if keys is None:
        return None
    if "like_plan" in keys:
        if "median" in keys or "p90" in keys:
            reader.problem(node, "tasks_per_customer_month takes median and p90, or like_plan")
            return None
        plan_id = reader.text(keys["like_plan"][1], "like_plan")
        return None if plan_id is None else Tasks(like_plan=plan_id)
    if "median" not in keys or "p90" not in keys:
        reader.problem(
            node, "tasks_per_customer_month needs both median and p90 (or like_plan: <plan_id>)"
        )
        return None
    rule = "0 or more (tasks per customer per month)"
    median = reader.number(
        keys["median"][1], "tasks_per_customer_month.median", check=lambda v: v >= 0, rule=rule
    )
    p90 = reader.number(
        keys["p90"][1], "tasks_per_customer_month.p90", check=lambda v: v >= 0, rule=rule
    )
    if median is None or p90 is None:
        return None
    if p90 < median:
        reader.problem(keys["p90"][1], f"p90 ({p90:g}) is below the median ({median:g})")
        return None
    if median == 0 and p90 > 0:
        reader.problem(
            keys["median"][1],
            "a median of 0 with a p90 above 0 has no lognormal fit: give a median above 0",
        )
        return None
    return Tasks(median=median, p90=p90)


def _read_tokens(reader: _Reader, node: yaml.Node) -> Tokens | None:
    keys = reader.mapping(node, "tokens", TOKEN_KEYS)
    if keys is None:
        return None
    for required in ("prompt", "completion"):
        if required not in keys:
            reader.problem(node, f"tokens has no {required!r}")
    limit = 10_000_000  # the usage-event contract's maximum per call
    values = {}
    for key, (_, value_node) in keys.items():
        low = 1 if key == "calls_per_task" else 0
        high = 100 if key == "calls_per_task" else limit
        values[key] = reader.integer(value_node, f"tokens.{key}", low=low, high=high)
    if None in values.values() or "prompt" not in values or "completion" not in values:
        return None
    if values.get("cached_prompt", 0) > values["prompt"]:
        reader.problem(keys["cached_prompt"][1], "tokens.cached_prompt is more than tokens.prompt")
        return None
    return Tokens(**values)


def unknown_model_reason(provider: str, model: str) -> str | None:
    """Why ``provider``/``model`` has no price in the catalog, or None: the same model resolution
    real calls take (lower-cased, trimmed provider; trimmed model)."""
    from orchestration.pricing.resolution import resolve_pair

    resolved = resolve_pair(provider.strip().lower(), model.strip())
    if resolved["is_resolved"]:
        return None
    return (
        f"unknown model {_shown(model)} of provider {_shown(provider)}: the price catalog does not "
        f"price it ({resolved['unresolved_reason']})"
    )


def check_against_warehouse(
    plan: Plan,
    *,
    observed_features: set[str],
    plan_ids: set[str],
    traces_present: set[str],
) -> None:
    """The checks that need the warehouse, still before anything runs: a feature with no
    observed traffic, no usable trace and no ``tokens`` does not exist; ``like_plan`` must name
    a plan the warehouse knows."""
    problems = []
    for feature in plan.features:
        if feature.tasks.like_plan is not None and feature.tasks.like_plan not in plan_ids:
            known = ", ".join(sorted(plan_ids)) or "none"
            problems.append(
                Problem(
                    plan.file,
                    feature.line,
                    f"feature {_shown(feature.feature)}: like_plan {_shown(feature.tasks.like_plan)}"
                    f" is not a plan in the warehouse (plans: {known})",
                )
            )
        if feature.feature in observed_features or feature.tokens is not None:
            continue
        if feature.trace is not None and feature.trace in traces_present:
            continue
        if feature.trace is not None:
            reason = (
                f"feature {_shown(feature.feature)} has no observed traffic and its trace "
                f"{feature.trace!r} is not in ../shared/datasets/; give tokens: {{prompt, "
                "completion, calls_per_task}}"
            )
        else:
            reason = (
                f"feature {_shown(feature.feature)} does not exist: no task of it in the "
                "warehouse's period, and the plan gives neither tokens nor a trace for it"
            )
        problems.append(Problem(plan.file, feature.line, reason))
    if problems:
        raise PlanFileError(problems)
