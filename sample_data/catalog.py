"""The fixed world the sample data lives in: plans, features, gateway routes, models, enums.

Model names are real ones from the genai-prices catalog (checked by the tests), so the warehouse
can price them. Every string here is plain ASCII without quotes, commas or backslashes: the writers
emit them into JSON and CSV without escaping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Plan:
    plan_id: str
    plan_name: str
    price_per_month_usd: float
    target_gross_margin_pct: float
    included_tasks: int
    overage_per_task_usd: float
    seats_included: int
    share: float  # share of customers on the plan
    usage_scale: float  # relative task volume of one customer
    workspaces: tuple[int, int]  # min, max workspaces per customer
    users: tuple[int, int]  # min, max users per workspace
    features: tuple[str, ...]


@dataclass(frozen=True)
class Model:
    provider: str
    name: str
    reasoning_share: float  # share of calls that spend reasoning tokens
    tokens_per_second: float
    cache_min_prompt: int  # prompts shorter than this never hit the cache
    cache_block: int  # cached token counts are multiples of this
    reports_cache_write: bool
    batch: bool  # provider offers a batch tier for it


@dataclass(frozen=True)
class Route:
    name: str
    model: str
    fallback: str | None


@dataclass(frozen=True)
class Feature:
    name: str
    routes: tuple[tuple[str, float], ...]  # route name, weight
    stream_share: float
    batch_share: float
    invalid_output_rate: float
    cancel_rate: float
    trace: str  # trace the token sizes come from: "conv", "code" or "mooncake"
    prompt_scale: float
    completion_scale: float


PLANS: tuple[Plan, ...] = (
    Plan(
        "free",
        "Free",
        0.0,
        0.0,
        100,
        0.0,
        1,
        0.25,
        0.15,
        (1, 1),
        (1, 3),
        ("chat_assistant", "doc_summarize"),
    ),
    Plan(
        "starter",
        "Starter",
        29.0,
        70.0,
        2_000,
        0.03,
        5,
        0.35,
        0.6,
        (1, 3),
        (2, 8),
        ("chat_assistant", "doc_summarize", "sql_copilot"),
    ),
    Plan(
        "pro",
        "Pro",
        149.0,
        75.0,
        15_000,
        0.02,
        25,
        0.28,
        1.6,
        (2, 5),
        (3, 20),
        ("chat_assistant", "doc_summarize", "sql_copilot", "code_review", "support_agent"),
    ),
    Plan(
        "enterprise",
        "Enterprise",
        1_000.0,
        80.0,
        150_000,
        0.015,
        250,
        0.12,
        5.0,
        (3, 6),
        (5, 40),
        ("chat_assistant", "doc_summarize", "sql_copilot", "code_review", "support_agent"),
    ),
)

MODELS: tuple[Model, ...] = (
    Model("openai", "gpt-4o", 0.0, 90, 1024, 128, False, True),
    Model("openai", "gpt-4o-mini", 0.0, 120, 1024, 128, False, True),
    Model("openai", "gpt-4.1", 0.0, 80, 1024, 128, False, True),
    Model("openai", "o3-mini", 1.0, 110, 1024, 128, False, True),
    Model("openai", "o4-mini", 1.0, 110, 1024, 128, False, True),
    Model("anthropic", "claude-sonnet-4-20250514", 0.2, 60, 1024, 1, True, True),
    Model("anthropic", "claude-3-5-sonnet-20241022", 0.0, 65, 1024, 1, True, True),
    Model("anthropic", "claude-3-5-haiku-20241022", 0.0, 100, 2048, 1, True, True),
    Model("google", "gemini-2.5-flash", 0.4, 150, 1024, 1, False, True),
    Model("google", "gemini-2.5-pro", 1.0, 70, 2048, 1, False, True),
    Model("deepseek", "deepseek-chat", 0.0, 45, 64, 64, False, False),
    Model("deepseek", "deepseek-reasoner", 1.0, 40, 64, 64, False, False),
    Model("mistral", "mistral-large-latest", 0.0, 55, 1024, 1, False, False),
    Model("mistral", "mistral-small-latest", 0.0, 110, 1024, 1, False, False),
)

ROUTES: tuple[Route, ...] = (
    Route("chat-primary", "gpt-4o", "chat-fallback"),
    Route("chat-fallback", "claude-sonnet-4-20250514", None),
    Route("chat-mini", "gpt-4o-mini", "chat-mini-fallback"),
    Route("chat-mini-fallback", "gemini-2.5-flash", None),
    Route("code-primary", "claude-sonnet-4-20250514", "code-fallback"),
    Route("code-legacy", "claude-3-5-sonnet-20241022", "code-fallback"),
    Route("code-fallback", "gpt-4.1", None),
    Route("summarize-primary", "gemini-2.5-flash", "summarize-fallback"),
    Route("summarize-long", "gemini-2.5-pro", "summarize-fallback"),
    Route("summarize-fallback", "claude-3-5-haiku-20241022", None),
    Route("agent-primary", "gpt-4.1", "agent-fallback"),
    Route("agent-reasoning", "o3-mini", "agent-fallback"),
    Route("agent-fallback", "claude-sonnet-4-20250514", None),
    Route("support-cheap", "mistral-small-latest", "chat-mini"),
    Route("sql-primary", "deepseek-chat", "sql-fallback"),
    Route("sql-fallback", "mistral-large-latest", None),
    Route("sql-reasoning", "deepseek-reasoner", "sql-reasoning-fallback"),
    Route("sql-reasoning-fallback", "o4-mini", None),
)

FEATURES: tuple[Feature, ...] = (
    Feature(
        "chat_assistant",
        (("chat-primary", 0.65), ("chat-mini", 0.35)),
        0.8,
        0.0,
        0.01,
        0.012,
        "conv",
        8.0,
        2.0,
    ),
    Feature(
        "code_review",
        (("code-primary", 0.7), ("code-legacy", 0.3)),
        0.5,
        0.0,
        0.02,
        0.004,
        "code",
        6.0,
        20.0,
    ),
    Feature(
        "doc_summarize",
        (("summarize-primary", 0.7), ("summarize-long", 0.3)),
        0.1,
        0.35,
        0.01,
        0.002,
        "mooncake",
        1.5,
        0.6,
    ),
    Feature(
        "support_agent",
        (("agent-primary", 0.5), ("agent-reasoning", 0.2), ("support-cheap", 0.3)),
        0.2,
        0.0,
        0.04,
        0.004,
        "mooncake",
        3.0,
        0.6,
    ),
    Feature(
        "sql_copilot",
        (("sql-primary", 0.6), ("sql-reasoning", 0.4)),
        0.4,
        0.0,
        0.05,
        0.004,
        "code",
        6.0,
        4.0,
    ),
)
AGENT_FEATURE = "support_agent"

PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "google", "deepseek", "mistral")
# How some legacy gateways spell the provider (the contract says case-insensitive).
PROVIDER_DISPLAY: tuple[str, ...] = ("OpenAI", "Anthropic", "Google", "DeepSeek", "Mistral")
# Per provider: error, timeout, rate_limited probability of one attempt.
PROVIDER_FAILURES: dict[str, tuple[float, float, float]] = {
    "openai": (0.012, 0.008, 0.02),
    "anthropic": (0.02, 0.01, 0.025),
    "google": (0.015, 0.01, 0.015),
    "deepseek": (0.03, 0.03, 0.01),
    "mistral": (0.015, 0.01, 0.01),
}

# Status codes (index = code). UNKNOWN_* codes only appear in planted malformed records.
STATUSES: tuple[str, ...] = (
    "in_progress",
    "success",
    "error",
    "timeout",
    "rate_limited",
    "invalid_output",
    "cancelled",
    "ok",
)
IN_PROGRESS, SUCCESS, ERROR, TIMEOUT, RATE_LIMITED, INVALID_OUTPUT, CANCELLED, UNKNOWN_STATUS = (
    range(8)
)
OUTCOMES: tuple[str, ...] = ("accepted", "rejected", "failed", "abandoned", "completed")
ACCEPTED, REJECTED, FAILED, ABANDONED, UNKNOWN_OUTCOME = range(5)
TIERS: tuple[str, ...] = ("standard", "batch", "flex", "priority", "turbo")
STANDARD, BATCH, FLEX, PRIORITY, UNKNOWN_TIER = range(5)

GATEWAY_REGIONS: tuple[str, ...] = ("eu-west-1", "us-east-1", "us-west-2", "ap-southeast-1")

MODEL_INDEX = {m.name: i for i, m in enumerate(MODELS)}
ROUTE_INDEX = {r.name: i for i, r in enumerate(ROUTES)}
FEATURE_INDEX = {f.name: i for i, f in enumerate(FEATURES)}
PLAN_INDEX = {p.plan_id: i for i, p in enumerate(PLANS)}
PROVIDER_INDEX = {p: i for i, p in enumerate(PROVIDERS)}


@dataclass(frozen=True)
class RouteArrays:
    """Routes as numpy lookup tables (index = route code)."""

    model: np.ndarray
    provider: np.ndarray
    fallback: np.ndarray  # route code or -1


def route_arrays() -> RouteArrays:
    model = np.array([MODEL_INDEX[r.model] for r in ROUTES], dtype=np.int16)
    provider = np.array([PROVIDER_INDEX[MODELS[m].provider] for m in model], dtype=np.int16)
    fallback = np.array(
        [ROUTE_INDEX[r.fallback] if r.fallback else -1 for r in ROUTES], dtype=np.int16
    )
    return RouteArrays(model, provider, fallback)


def check_catalog() -> None:
    """Fail fast on an inconsistent catalog (a fallback must change provider or model)."""
    arrays = route_arrays()
    for code, route in enumerate(ROUTES):
        fb = arrays.fallback[code]
        if fb >= 0 and arrays.model[fb] == arrays.model[code]:
            raise ValueError(f"route {route.name}: fallback uses the same model")
    for feature in FEATURES:
        for name, _ in feature.routes:
            if name not in ROUTE_INDEX:
                raise ValueError(f"feature {feature.name}: unknown route {name}")
