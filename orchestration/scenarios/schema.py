"""What a scenario file holds, once read: the scenario, its rules, and the problems of a bad one.

A file (YAML)::

    name: chat-on-gpt-4-1-mini          # unique across files; letters, digits, . _ -
    description: optional text
    period: last_full_month             # default; or {start: YYYY-MM-DD, end: YYYY-MM-DD}, end exclusive
    prices: today                       # default; or call_time, or a date YYYY-MM-DD
    rules:
      - feature: chat_assistant         # feature and/or route; neither = every call
        route: chat-primary
        provider: openai                # provider + model; neither = the call's own
        model: gpt-4.1-mini
        service_tier: observed          # observed (default) | standard | batch | flex | priority
        cache_hit_rate: observed        # observed (default) or a rate 0..1
        token_ratio: 1                  # > 0, default 1

The loader writes one row per rule (interface: docs/decisions.md, lake/scenarios)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

SCENARIO_KEYS = ("name", "description", "period", "prices", "rules")
RULE_KEYS = (
    "feature",
    "route",
    "provider",
    "model",
    "service_tier",
    "cache_hit_rate",
    "token_ratio",
)
PERIOD_KEYS = ("start", "end")
DEFAULT_PERIOD = "last_full_month"
SERVICE_TIERS = ("observed", "standard", "batch", "flex", "priority")
OBSERVED = "observed"
PRICE_BASES = ("today", "call_time")  # or a date: price_basis 'date'
# A scenario's name is its id in the warehouse and part of the what-if page's file name.
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"


@dataclass(frozen=True)
class Problem:
    """One mistake in a scenario file: where it is and why it is one."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.reason}"


class ScenarioError(ValueError):
    """One or more scenario files are wrong; ``problems`` lists each with file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Rule:
    index: int  # 1-based position in the file
    line: int
    feature: str | None
    route: str | None
    provider: str | None
    model: str | None
    service_tier: str = OBSERVED
    cache_hit_rate: float | None = None  # None: as observed
    token_ratio: float = 1.0

    @property
    def match(self) -> tuple[str | None, str | None]:
        return (self.feature, self.route)


@dataclass(frozen=True)
class Scenario:
    name: str
    file: Path
    shown_file: str  # relative to the project root, or the file name when outside it
    line: int  # of the name
    description: str | None = None
    period_start: date | None = None  # None: the default period, resolved in dbt
    period_end: date | None = None
    price_basis: str = "today"
    price_date: date | None = None
    rules: list[Rule] = field(default_factory=list)
