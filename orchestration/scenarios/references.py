"""The checks of a scenario that look outside its file: is each candidate model priced (the
genai-prices catalog, by the same model resolution as real calls, or a loaded LiteLLM file or
negotiated sheet), and does each feature and route exist in the warehouse's observed traffic.

Names from the file never become SQL text: the catalog is searched in Python, and the lake and
the warehouse are queried with bound parameters or read whole and compared in Python."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.pricing.resolution import resolve_pair
from orchestration.scenarios.schema import Problem, Scenario
from orchestration.sql_text import literal

OBSERVED_TRAFFIC_SQL = (
    "select distinct feature, route from marts.fct_llm_calls "
    "where feature is not null or route is not null"
)


def candidate_key(provider: str, model: str) -> tuple[str, str]:
    """The (provider, model) strings as the warehouse normalises a call's (stg_usage__events)."""
    return provider.strip().lower(), model.strip()


def priced_in_lake(lake: Path, provider: str, model: str) -> bool:
    """Whether a loaded pricing file (a LiteLLM file or a negotiated sheet) has rules written for
    these raw strings, which price a call whose model the catalog does not resolve."""
    rules = lake / "prices" / "rules"
    if not rules.is_dir() or not any(rules.glob("*.parquet")):
        return False
    with duckdb.connect() as con:
        found = con.execute(
            f"select count(*) from read_parquet({literal(rules / '*.parquet')}, "
            "union_by_name = true) where rule_kind = 'period' and provider_id = ? "
            "and model_id = ?",
            [provider, model],
        ).fetchone()[0]
    return found > 0


def candidate_problems(scenario: Scenario, lake: Path | None) -> list[Problem]:
    """A problem for each rule whose candidate no price source knows."""
    problems = []
    for rule in scenario.rules:
        if rule.provider is None or rule.model is None:
            continue
        provider, model = candidate_key(rule.provider, rule.model)
        resolved = resolve_pair(provider, model)
        if resolved["is_resolved"]:
            continue
        if lake is not None and priced_in_lake(lake, provider, model):
            continue
        problems.append(
            Problem(
                scenario.shown_file,
                rule.line,
                f"rule {rule.index}: candidate model {rule.model!r} of provider "
                f"{rule.provider!r} has no price: the genai-prices catalog does not know it "
                f"({resolved['unresolved_reason']}) and no loaded pricing file "
                "(landing/pricing/) prices it",
            )
        )
    return problems


@dataclass
class ObservedTraffic:
    """The (feature, route) pairs of the warehouse's calls, or why they could not be read."""

    pairs: set[tuple[str | None, str | None]] = field(default_factory=set)
    skipped: str | None = None  # why the check was skipped; None when it ran

    @property
    def features(self) -> set[str]:
        return {f for f, _ in self.pairs if f is not None}

    @property
    def routes(self) -> set[str]:
        return {r for _, r in self.pairs if r is not None}


def observed_traffic(warehouse: Path) -> ObservedTraffic:
    """Read the features and routes of every call in ``warehouse`` (read-only). The caller holds
    the data directory's lock, so no build writes it meanwhile."""
    if not warehouse.exists():
        return ObservedTraffic(
            skipped=f"no warehouse yet ({warehouse.name}): features and routes were not "
            "checked against observed traffic (run llm-margin materialize first)"
        )
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = con.execute(OBSERVED_TRAFFIC_SQL).fetchall()
    except duckdb.Error as error:
        first = (str(error).strip().splitlines() or [""])[0]
        return ObservedTraffic(
            skipped=f"the warehouse's calls could not be read ({first}): features and routes "
            "were not checked against observed traffic"
        )
    return ObservedTraffic(pairs={(feature, route) for feature, route in rows})


def traffic_problems(scenario: Scenario, traffic: ObservedTraffic) -> list[Problem]:
    """A problem for each rule whose feature, route or pair never occurs in observed traffic."""
    if traffic.skipped is not None:
        return []
    problems = []
    for rule in scenario.rules:
        reason = None
        if rule.feature is not None and rule.feature not in traffic.features:
            reason = f"feature {rule.feature!r} does not exist in the observed traffic"
            reason += _known(traffic.features, "features")
        elif rule.route is not None and rule.route not in traffic.routes:
            reason = f"route {rule.route!r} does not exist in the observed traffic"
            reason += _known(traffic.routes, "routes")
        elif (
            rule.feature is not None
            and rule.route is not None
            and (rule.feature, rule.route) not in traffic.pairs
        ):
            reason = (
                f"no call of feature {rule.feature!r} went through route {rule.route!r} in the "
                "observed traffic: the rule would match nothing"
            )
        if reason:
            problems.append(Problem(scenario.shown_file, rule.line, f"rule {rule.index}: {reason}"))
    return problems


def _known(names: set[str], what: str, shown: int = 12) -> str:
    listed = sorted(names)
    more = f", ... ({len(listed)} in all)" if len(listed) > shown else ""
    return f" (known {what}: {', '.join(listed[:shown])}{more})" if listed else ""
