"""Customer tasks and their provider-call attempts (retries, fallbacks, runaway agent loops).

Everything is vectorised over the tasks of one day: the attempt loop runs once per attempt
number, on the tasks still going.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import catalog as cat
from .frames import NULL, Frame, concat
from .population import Population, sample_features, sample_users, sample_workspaces
from .traces import TraceProfile

DAY_MS = 86_400_000
MAX_ATTEMPTS = 8
MAX_PROMPT = 180_000
TAGLESS_LATER_ATTEMPT = 0.25  # share of later attempts the gateway logs without tags
NO_TASK_ID = 0.04  # share of tasks linked only by parent_event_id
NO_USER = 0.08
RUNAWAY_GROWTH = 2_500  # prompt tokens an agent loop adds per step

_MODEL_REASONING = np.array([m.reasoning_share for m in cat.MODELS])
_MODEL_TPS = np.array([m.tokens_per_second for m in cat.MODELS])
_MODEL_CACHE_MIN = np.array([m.cache_min_prompt for m in cat.MODELS])
_MODEL_CACHE_BLOCK = np.array([m.cache_block for m in cat.MODELS])
_MODEL_CACHE_WRITE = np.array([m.reports_cache_write for m in cat.MODELS])
_MODEL_BATCH = np.array([m.batch for m in cat.MODELS])
_MODEL_PROVIDER = np.array([cat.PROVIDER_INDEX[m.provider] for m in cat.MODELS])
_FAILURES = np.array([cat.PROVIDER_FAILURES[p] for p in cat.PROVIDERS])
_OPENAI = cat.PROVIDER_INDEX["openai"]
_MISTRAL = cat.PROVIDER_INDEX["mistral"]
_FEATURE_STREAM = np.array([f.stream_share for f in cat.FEATURES])
_FEATURE_BATCH = np.array([f.batch_share for f in cat.FEATURES])
_FEATURE_INVALID = np.array([f.invalid_output_rate for f in cat.FEATURES])
_FEATURE_CANCEL = np.array([f.cancel_rate for f in cat.FEATURES])


def _feature_route_cum() -> np.ndarray:
    cum = np.zeros((len(cat.FEATURES), len(cat.ROUTES)))
    for f, feature in enumerate(cat.FEATURES):
        w = np.zeros(len(cat.ROUTES))
        for name, weight in feature.routes:
            w[cat.ROUTE_INDEX[name]] = weight
        cum[f] = np.cumsum(w / w.sum())
        cum[f, np.flatnonzero(w)[-1] :] = 1.0
    return cum


_FEATURE_ROUTE_CUM = _feature_route_cum()


@dataclass(frozen=True)
class Incident:
    """A provider outage window: errors jump for every model of the provider."""

    provider: int
    start_ms: int
    end_ms: int
    error_rate: float


@dataclass
class Sequencer:
    """Global counters: task and call sequence numbers never repeat within a run."""

    task: int = 0
    call: int = 0

    def tasks(self, n: int) -> np.ndarray:
        out = np.arange(self.task, self.task + n, dtype=np.int64)
        self.task += n
        return out

    def calls(self, n: int) -> np.ndarray:
        out = np.arange(self.call, self.call + n, dtype=np.int64)
        self.call += n
        return out


@dataclass
class DayPlan:
    """Special tasks of one day besides the ordinary ones."""

    runaway_workspaces: list[int] = field(default_factory=list)
    trial_tasks: int = 0


def plan_tasks(
    rng: np.random.Generator,
    pop: Population,
    profile: TraceProfile,
    routes: cat.RouteArrays,
    day: int,
    day_start_ms: int,
    n: int,
    plan: DayPlan,
    seq: Sequencer,
) -> Frame:
    """The day's tasks: who, which feature and route, when, how big."""
    active = (pop.customer_signup_day <= day) & (pop.customer_weight > 0)
    weight = np.where(active, pop.customer_weight * np.exp(pop.customer_growth * day), 0.0)
    customer = rng.choice(len(weight), size=n, p=weight / weight.sum())
    workspace = sample_workspaces(pop, customer, rng.random(n))
    feature = sample_features(pop, customer, rng.random(n))
    runaway = np.zeros(n, dtype=bool)

    extra_ws = list(plan.runaway_workspaces) + [pop.trial_workspace] * plan.trial_tasks
    if extra_ws:
        ws = np.array(extra_ws, dtype=np.int64)
        workspace = np.concatenate([workspace, ws])
        customer = np.concatenate([customer, pop.workspace_customer[ws]])
        special = np.where(
            ws == pop.trial_workspace,
            cat.FEATURE_INDEX["chat_assistant"],
            cat.FEATURE_INDEX[cat.AGENT_FEATURE],
        )
        feature = np.concatenate([feature, special])
        runaway = np.concatenate([runaway, ws != pop.trial_workspace])
        n = len(customer)

    user = sample_users(pop, workspace, rng.random(n))
    user = np.where(rng.random(n) < NO_USER, -1, user)
    route = (_FEATURE_ROUTE_CUM[feature] < rng.random(n)[:, None]).sum(axis=1)
    route = np.where(runaway, cat.ROUTE_INDEX["agent-primary"], route)
    model = routes.model[route]

    tier = np.full(n, cat.STANDARD, dtype=np.int64)
    u = rng.random(n)
    tier[(u < _FEATURE_BATCH[feature]) & _MODEL_BATCH[model]] = cat.BATCH
    reasoning_openai = (_MODEL_PROVIDER[model] == _OPENAI) & (_MODEL_REASONING[model] >= 1.0)
    tier[reasoning_openai & (u > 0.9)] = cat.FLEX
    tier[(route == cat.ROUTE_INDEX["chat-primary"]) & (u > 0.97)] = cat.PRIORITY

    seconds = profile.sample_seconds_of_day(n, rng)
    start_ms = day_start_ms + (seconds * 1000).astype(np.int64)
    prompt = np.zeros(n, dtype=np.int64)
    completion = np.zeros(n, dtype=np.int64)
    for f, spec in enumerate(cat.FEATURES):
        idx = np.flatnonzero(feature == f)
        if idx.size:
            p, c = profile.sample_sizes(spec.trace, idx.size, rng)
            prompt[idx] = np.clip(p * spec.prompt_scale, 8, MAX_PROMPT)
            completion[idx] = np.clip(c * spec.completion_scale, 1, 16_000)
    stream = (rng.random(n) < _FEATURE_STREAM[feature]) & (tier != cat.BATCH) & ~runaway
    return {
        "task": seq.tasks(n),
        "customer": customer.astype(np.int64),
        "workspace": workspace.astype(np.int64),
        "user": user.astype(np.int64),
        "feature": feature.astype(np.int64),
        "route": route.astype(np.int64),
        "tier": tier,
        "start_ms": start_ms,
        "prompt": prompt,
        "completion": completion,
        "cache_frac": profile.sample_cache_fraction(n, rng),
        "has_task_id": rng.random(n) >= NO_TASK_ID,
        "stream": stream,
        "runaway": runaway,
        "runaway_len": np.where(runaway, rng.integers(20, 61, n), 0),
        "trial": customer == pop.trial_customer,
    }


def simulate_calls(
    rng: np.random.Generator,
    tasks: Frame,
    routes: cat.RouteArrays,
    incidents: list[Incident],
    seq: Sequencer,
) -> Frame:
    """One row per provider call attempt of the given tasks."""
    parts = [
        _ordinary_calls(rng, tasks, routes, incidents, seq),
        _runaway_calls(rng, tasks, routes, seq),
    ]
    calls = concat(parts)
    order = np.lexsort((calls["attempt"], calls["task"]))
    calls = {key: value[order] for key, value in calls.items()}
    _apply_tags(rng, tasks, calls)
    return calls


def _ordinary_calls(rng, tasks: Frame, routes: cat.RouteArrays, incidents, seq) -> Frame:
    n = len(tasks["task"])
    cur_route = tasks["route"].copy()
    fell_back = np.zeros(n, dtype=bool)
    route_retries = np.zeros(n, dtype=np.int64)
    clock = tasks["start_ms"].copy()
    prev_call = np.full(n, -1, dtype=np.int64)
    prev_route = np.full(n, -1, dtype=np.int64)
    prev_prompt = np.zeros(n, dtype=np.int64)
    original_provider = routes.provider[tasks["route"]]
    active = np.flatnonzero(~tasks["runaway"])
    parts: list[Frame] = []
    for k in range(1, MAX_ATTEMPTS + 1):
        if not active.size:
            break
        m = active.size
        route = cur_route[active]
        model = routes.model[route].astype(np.int64)
        provider = routes.provider[route].astype(np.int64)
        feature = tasks["feature"][active]
        tier = _tier_on_model(tasks["tier"][active], model)
        occurred = clock[active]
        status = _draw_status(rng, provider, model, feature, tier, occurred, incidents)
        same_route = (k > 1) & (prev_route[active] == route)
        tokens = _tokens(
            rng,
            status,
            model,
            provider,
            base_prompt=tasks["prompt"][active],
            base_completion=tasks["completion"][active],
            cache_frac=tasks["cache_frac"][active],
            warm=same_route & (prev_prompt[active] > 0),
            foreign=provider != original_provider[active],
        )
        latency = _latency(
            rng, status, model, tier, tokens["prompt_true"], tokens["completion_true"]
        )

        failed = (status != cat.SUCCESS) & (status != cat.CANCELLED)
        limit = np.where(status == cat.RATE_LIMITED, 3, 2)
        can_retry = route_retries[active] < limit
        fallback_route = routes.fallback[route].astype(np.int64)
        can_fallback = ~fell_back[active] & (fallback_route >= 0)
        give_up = rng.random(m) < 0.08
        want_retry = (status == cat.RATE_LIMITED) | (rng.random(m) < 0.55)
        do_retry = failed & ~give_up & ((want_retry & can_retry) | (~can_fallback & can_retry))
        do_fallback = failed & ~give_up & ~do_retry & can_fallback
        stop = ~(do_retry | do_fallback) | (k == MAX_ATTEMPTS)

        call_ids = seq.calls(m)
        outcome = _outcome(rng, status, stop, give_up)
        parts.append(
            {
                "call": call_ids,
                "task": tasks["task"][active],
                "task_row": active.astype(np.int64),
                "attempt": np.full(m, k, dtype=np.int64),
                "parent": prev_call[active],
                "route": route.astype(np.int64),
                "fallback_from": np.where((k > 1) & ~same_route, prev_route[active], -1),
                "tier": tier,
                "model": model,
                "provider": provider,
                "status": status,
                "outcome": outcome,
                "is_last": stop,
                "occurred_ms": occurred,
                "latency_ms": latency,
                "stream": tasks["stream"][active] & (status != cat.RATE_LIMITED),
                **{key: value for key, value in tokens.items() if not key.endswith("_true")},
                "cost_prompt": tokens["prompt_true"],
                "cost_completion": tokens["completion_true"],
            }
        )
        backoff = np.where(
            status == cat.RATE_LIMITED, rng.integers(1_000, 20_000, m), rng.integers(100, 2_000, m)
        )
        clock[active] = occurred + latency + backoff
        prev_call[active] = call_ids
        prev_route[active] = route
        prev_prompt[active] = tokens["prompt_true"]
        go_fallback = active[do_fallback & ~stop]
        cur_route[go_fallback] = routes.fallback[cur_route[go_fallback]]
        fell_back[go_fallback] = True
        route_retries[go_fallback] = 0
        go_retry = active[do_retry & ~stop]
        route_retries[go_retry] += 1
        active = active[~stop]
    return concat(parts)


def _runaway_calls(rng, tasks: Frame, routes: cat.RouteArrays, seq) -> Frame:
    rows = np.flatnonzero(tasks["runaway"])
    if not rows.size:
        return {}
    lengths = tasks["runaway_len"][rows]
    row = np.repeat(rows, lengths)
    total = row.size
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    attempt = np.arange(total) - np.repeat(first, lengths) + 1
    is_last = attempt == np.repeat(lengths, lengths)
    route = tasks["route"][row]
    model = routes.model[route].astype(np.int64)
    provider = routes.provider[route].astype(np.int64)
    status = np.where(is_last & (rng.random(total) < 0.5), cat.CANCELLED, cat.INVALID_OUTPUT)
    grown = tasks["prompt"][row] + RUNAWAY_GROWTH * (attempt - 1)
    prompt = np.minimum(grown, MAX_PROMPT)
    previous = np.minimum(
        tasks["prompt"][row] + RUNAWAY_GROWTH * np.maximum(attempt - 2, 0), MAX_PROMPT
    )
    block = _MODEL_CACHE_BLOCK[model]
    cached = np.where(attempt > 1, previous // block * block, 0)
    completion = (tasks["completion"][row] * rng.uniform(0.5, 1.5, total)).astype(np.int64) + 1
    reasoning = np.where(_MODEL_PROVIDER[model] == _OPENAI, 0, NULL)
    latency = _latency(rng, status, model, np.zeros(total, dtype=np.int64), prompt, completion)
    gaps = latency + rng.integers(1_000, 6_000, total)
    starts = np.cumsum(gaps) - gaps
    starts = starts - np.repeat(starts[first], lengths)
    call = seq.calls(total)
    parent = np.where(attempt > 1, np.roll(call, 1), -1)
    outcome = np.where(is_last, np.where(status == cat.CANCELLED, cat.ABANDONED, cat.FAILED), -1)
    return {
        "call": call,
        "task": tasks["task"][row],
        "task_row": row.astype(np.int64),
        "attempt": attempt.astype(np.int64),
        "parent": parent,
        "route": route.astype(np.int64),
        "fallback_from": np.full(total, -1, dtype=np.int64),
        "tier": np.zeros(total, dtype=np.int64),
        "model": model,
        "provider": provider,
        "status": status.astype(np.int64),
        "outcome": outcome.astype(np.int64),
        "is_last": is_last,
        "occurred_ms": tasks["start_ms"][row] + starts,
        "latency_ms": latency,
        "stream": np.zeros(total, dtype=bool),
        "prompt": prompt.astype(np.int64),
        "cached": cached.astype(np.int64),
        "cache_write": np.where(_MODEL_CACHE_WRITE[model], 0, NULL).astype(np.int64),
        "completion": completion,
        "reasoning": reasoning.astype(np.int64),
        "retries": np.zeros(total, dtype=np.int64),
        "cost_prompt": prompt.astype(np.int64),
        "cost_completion": completion,
    }


def _tier_on_model(tier: np.ndarray, model: np.ndarray) -> np.ndarray:
    """A tier the serving model cannot offer falls back to standard."""
    openai = _MODEL_PROVIDER[model] == _OPENAI
    ok = (
        (tier == cat.STANDARD)
        | ((tier == cat.BATCH) & _MODEL_BATCH[model])
        | ((tier == cat.FLEX) & openai & (_MODEL_REASONING[model] >= 1.0))
        | ((tier == cat.PRIORITY) & openai)
    )
    return np.where(ok, tier, cat.STANDARD)


def _draw_status(rng, provider, model, feature, tier, occurred, incidents) -> np.ndarray:
    m = provider.size
    error, timeout, limited = (_FAILURES[provider, i].copy() for i in range(3))
    for incident in incidents:
        hit = (
            (provider == incident.provider)
            & (occurred >= incident.start_ms)
            & (occurred < incident.end_ms)
        )
        error[hit] = np.maximum(error[hit], incident.error_rate)
    timeout = np.where(_MODEL_REASONING[model] >= 1.0, timeout * 2, timeout)
    batch = tier == cat.BATCH
    error = np.where(batch, error * 0.5, error)
    timeout = np.where(batch, 0.0, timeout)
    limited = np.where(batch, 0.0, limited)
    invalid = _FEATURE_INVALID[feature]
    cancel = _FEATURE_CANCEL[feature]
    cum = np.cumsum(np.stack([error, timeout, limited, invalid, cancel]), axis=0)
    u = rng.random(m)
    codes = np.array(
        [cat.ERROR, cat.TIMEOUT, cat.RATE_LIMITED, cat.INVALID_OUTPUT, cat.CANCELLED, cat.SUCCESS]
    )
    return codes[(cum < u).sum(axis=0)]


def _tokens(
    rng, status, model, provider, *, base_prompt, base_completion, cache_frac, warm, foreign
) -> dict[str, np.ndarray]:
    m = status.size
    prompt = np.where(foreign, base_prompt * rng.uniform(0.92, 1.1, m), base_prompt)
    prompt = np.maximum(prompt.astype(np.int64), 1)
    limited = status == cat.RATE_LIMITED
    error = status == cat.ERROR
    prompt = np.where(limited | (error & (rng.random(m) < 0.3)), 0, prompt)

    visible = np.maximum(1, base_completion * rng.uniform(0.85, 1.15, m))
    uses_reasoning = rng.random(m) < _MODEL_REASONING[model]
    thought = np.where(uses_reasoning, visible * rng.lognormal(np.log(2.0), 0.6, m), 0.0)
    share = np.ones(m)
    share = np.where(limited | error, 0.0, share)
    timeout = status == cat.TIMEOUT
    share = np.where(timeout, np.where(rng.random(m) < 0.5, rng.uniform(0, 0.6, m), 0.0), share)
    share = np.where(status == cat.CANCELLED, rng.uniform(0.05, 0.7, m), share)
    reasoning = np.floor(thought * share).astype(np.int64)
    completion = np.floor((visible + thought) * share).astype(np.int64)
    completion = np.maximum(completion, reasoning)

    block = _MODEL_CACHE_BLOCK[model]
    eligible = (prompt >= _MODEL_CACHE_MIN[model]) & (provider != _MISTRAL)
    frac = np.where(
        warm,
        rng.uniform(0.85, 1.0, m),
        np.where(foreign, cache_frac * 0.2, cache_frac * rng.uniform(0.8, 1.0, m)),
    )
    cached = np.where(eligible, (prompt * frac).astype(np.int64) // block * block, 0)
    writes = _MODEL_CACHE_WRITE[model]
    u = rng.random(m)
    first_write = eligible & (cached == 0) & (u < 0.35)
    top_up = eligible & (cached > 0) & (u < 0.2)
    cache_write = np.where(first_write, (prompt * rng.uniform(0.3, 0.9, m)).astype(np.int64), 0)
    cache_write = np.where(
        top_up, np.minimum(prompt - cached, (prompt * rng.uniform(0.02, 0.1, m))), cache_write
    )
    cache_write = np.where(writes, cache_write, NULL).astype(np.int64)
    cached = np.where(provider == _MISTRAL, NULL, cached)
    reasoning_shown = np.where(uses_reasoning, reasoning, np.where(provider == _OPENAI, 0, NULL))
    u = rng.random(m)
    retries = np.where(u < 0.85, 0, np.where(u < 0.89, 1, np.where(u < 0.9, 2, NULL)))
    return {
        "prompt": prompt,
        "cached": cached.astype(np.int64),
        "cache_write": cache_write,
        "completion": completion,
        "reasoning": reasoning_shown.astype(np.int64),
        "retries": retries.astype(np.int64),
        "prompt_true": prompt,
        "completion_true": completion,
    }


def _latency(rng, status, model, tier, prompt, completion) -> np.ndarray:
    m = status.size
    base = 250 + prompt / 8.0 + completion / _MODEL_TPS[model] * 1000.0
    latency = base * rng.lognormal(0.0, 0.3, m)
    latency = np.where(status == cat.TIMEOUT, rng.integers(30_000, 120_000, m), latency)
    latency = np.where(status == cat.RATE_LIMITED, rng.integers(40, 400, m), latency)
    latency = np.where(status == cat.ERROR, rng.integers(100, 5_000, m), latency)
    latency = np.where(tier == cat.BATCH, rng.integers(300_000, 6 * 3_600_000, m), latency)
    return latency.astype(np.int64)


def _outcome(rng, status, stop, give_up) -> np.ndarray:
    m = status.size
    u = rng.random(m)
    success = np.where(u < 0.86, cat.ACCEPTED, np.where(u < 0.96, cat.REJECTED, -1))
    # a task that ran out of retries, or that the app stopped retrying, failed; sometimes the
    # user walked away first (abandoned) or nobody reported an outcome
    failure = np.where(give_up & (u < 0.3), cat.ABANDONED, np.where(u < 0.95, cat.FAILED, -1))
    outcome = np.where(
        status == cat.SUCCESS, success, np.where(status == cat.CANCELLED, cat.ABANDONED, failure)
    )
    return np.where(stop, outcome, -1).astype(np.int64)


def _apply_tags(rng, tasks: Frame, calls: Frame) -> None:
    """Tags as logged: first attempts carry them; some later attempts lose them."""
    row = calls["task_row"]
    tagless = (calls["attempt"] > 1) & (rng.random(row.size) < TAGLESS_LATER_ATTEMPT)
    for key in ("customer", "workspace", "feature", "user"):
        calls[key] = np.where(tagless, -1, tasks[key][row])
    calls["task_written"] = np.where(tasks["has_task_id"][row], calls["task"], -1)
    calls["tagless"] = tagless
