"""The one sentence per rule that says what a what-if figure assumes, written into the lake by
the loader and shown as it is by the marts, the what-if page and the weekly report."""

from __future__ import annotations

from orchestration.scenarios.schema import OBSERVED, Rule, Scenario


def _calls(rule: Rule) -> str:
    if rule.feature and rule.route:
        return f"Calls of feature {rule.feature} on route {rule.route}"
    if rule.feature:
        return f"Calls of feature {rule.feature} (every route)"
    if rule.route:
        return f"Calls on route {rule.route} (every feature)"
    return "Every call"


def _model(rule: Rule) -> str:
    if rule.provider is None:
        return "priced on their own provider and model"
    return f"priced as {rule.provider} {rule.model}"


def _tier(rule: Rule) -> str:
    if rule.service_tier == OBSERVED:
        return "at their own service tier"
    if rule.service_tier == "standard":
        return "at the standard tier (no batch, flex or priority price)"
    return f"at the {rule.service_tier} tier"


def _cache(rule: Rule) -> str:
    if rule.cache_hit_rate is None:
        return "cache reads as observed"
    return f"{rule.cache_hit_rate:.0%} of prompt tokens read from cache"


def _tokens(rule: Rule) -> str:
    if rule.token_ratio == 1:
        return "token counts as observed"
    return f"token counts x {rule.token_ratio:g} (the candidate's tokenizer), rounded half up"


def _period(scenario: Scenario) -> str:
    if scenario.period_start is None:
        return "traffic of the last full calendar month in the warehouse"
    return f"traffic from {scenario.period_start} to {scenario.period_end} (end exclusive)"


def _prices(scenario: Scenario) -> str:
    if scenario.price_basis == "today":
        return "prices in force on the build date, not on each call's date"
    if scenario.price_basis == "call_time":
        return "prices in force at each call's own time"
    return f"prices in force on {scenario.price_date}, not on each call's date"


def assumptions(scenario: Scenario, rule: Rule) -> str:
    """E.g. 'Calls of feature chat_assistant on route chat-primary priced as openai gpt-4.1-mini
    at their own service tier; cache reads as observed; token counts as observed; traffic of the
    last full calendar month in the warehouse; prices in force on the build date, not on each
    call's date.'"""
    return (
        f"{_calls(rule)} {_model(rule)} {_tier(rule)}; {_cache(rule)}; {_tokens(rule)}; "
        f"{_period(scenario)}; {_prices(scenario)}."
    )
