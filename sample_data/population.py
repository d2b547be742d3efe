"""Customers, their workspaces and users, as numpy arrays (row index = internal code).

The last customer and its workspace are the trial: they make a handful of calls but billing does
not know them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .catalog import FEATURE_INDEX, FEATURES, PLANS

_ADJECTIVES = (
    "Acme",
    "Blue",
    "Bright",
    "Cedar",
    "Delta",
    "Ember",
    "Falcon",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Maple",
    "Nimbus",
    "Orbit",
    "Pioneer",
    "Quartz",
    "River",
    "Summit",
    "Tidal",
    "Umber",
    "Vertex",
    "Willow",
    "Zenith",
)
_NOUNS = (
    "Analytics",
    "Labs",
    "Health",
    "Logistics",
    "Finance",
    "Studio",
    "Robotics",
    "Legal",
    "Retail",
    "Media",
    "Energy",
    "Travel",
    "Bio",
    "Systems",
    "Insurance",
    "Foods",
)
_WORKSPACES = (
    "Production",
    "Support",
    "Engineering",
    "Sales",
    "Research",
    "Marketing",
    "Operations",
    "Staging",
)
# utm_source, utm_medium, candidate campaigns
_CHANNELS = (
    ("google", "cpc", ("brand-search", "ai-margin-q3", "llm-cost-tracking")),
    ("linkedin", "paid_social", ("cfo-ai-costs", "founders-ai-margin")),
    ("producthunt", "referral", ("launch-2025",)),
    ("newsletter", "email", ("weekly-digest", "webinar-invite")),
    ("partner", "referral", ("cloud-marketplace", "agency-program")),
    (None, None, (None,)),  # direct / unknown
)
_CHANNEL_WEIGHTS = np.array([0.3, 0.15, 0.1, 0.15, 0.1, 0.2])


@dataclass
class Population:
    # customers (last one = trial)
    customer_seq: np.ndarray
    customer_name: list[str]
    customer_plan: np.ndarray
    customer_signup: list[dt.datetime]
    customer_signup_day: np.ndarray  # day index in the window (negative = before it)
    customer_weight: np.ndarray
    customer_growth: np.ndarray
    customer_features: np.ndarray  # (customers, features) cumulative probabilities
    utm: list[tuple[str | None, str | None, str | None]]
    # workspaces (last one = trial)
    workspace_seq: np.ndarray
    workspace_customer: np.ndarray
    workspace_name: list[str]
    workspace_cum: np.ndarray  # customer code + cumulative weight within the customer
    workspace_cap_factor: np.ndarray  # hard cap / busiest month's spend; nan = no cap
    workspace_user_start: np.ndarray
    workspace_user_count: np.ndarray
    # users
    user_seq: np.ndarray
    trial_customer: int
    trial_workspace: int

    @property
    def n_customers(self) -> int:
        """Billed customers (the trial excluded)."""
        return len(self.customer_seq) - 1


def build_population(
    rng: np.random.Generator, customers: int, start: dt.date, days: int
) -> Population:
    if customers < 1:
        raise ValueError("customers must be at least 1")
    plans = _assign_plans(rng, customers)
    names = _names(rng, customers)
    signup_day = np.where(
        rng.random(customers) < 0.85,
        -rng.integers(1, 400, customers),
        rng.integers(1, max(2, int(days * 0.8)), customers),
    )
    signup_day[: min(2, customers)] = -rng.integers(30, 400, min(2, customers))
    seconds = rng.integers(8 * 3600, 20 * 3600, customers)
    base = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    signup = [
        base + dt.timedelta(days=int(d), seconds=int(s))
        for d, s in zip(signup_day, seconds, strict=True)
    ]
    scale = np.array([PLANS[p].usage_scale for p in plans])
    weight = scale * rng.lognormal(0.0, 0.8, customers)
    growth = rng.normal(0.004, 0.008, customers)
    growth[int(rng.integers(0, customers))] = 0.03  # one fast grower heading for its budget
    channel = rng.choice(len(_CHANNELS), size=customers, p=_CHANNEL_WEIGHTS)
    utm = []
    for c in channel:
        source, medium, campaigns = _CHANNELS[c]
        utm.append((source, medium, campaigns[int(rng.integers(0, len(campaigns)))]))

    # the trial customer, appended last
    plans = np.append(plans, 0)
    names.append("Trial prospect")
    signup_day = np.append(signup_day, 0)
    signup.append(base)
    weight = np.append(weight, 0.0)
    growth = np.append(growth, 0.0)
    utm.append((None, None, None))
    n_all = customers + 1

    feature_cum = np.zeros((n_all, len(FEATURES)))
    for c in range(n_all):
        allowed = np.array([FEATURE_INDEX[f] for f in PLANS[plans[c]].features])
        w = np.zeros(len(FEATURES))
        w[allowed] = rng.dirichlet(np.full(len(allowed), 1.5)) + 0.05
        feature_cum[c] = np.cumsum(w / w.sum())
    feature_cum[:, -1] = 1.0

    ws_customer, ws_name, ws_users = [], [], []
    for c in range(n_all):
        lo, hi = PLANS[plans[c]].workspaces
        count = 1 if c == customers else int(rng.integers(lo, hi + 1))
        for k, label in enumerate(rng.permutation(len(_WORKSPACES))[:count]):
            ws_customer.append(c)
            ws_name.append(_WORKSPACES[label] if k else "Default")
            ulo, uhi = PLANS[plans[c]].users
            ws_users.append(int(rng.integers(ulo, uhi + 1)))
    ws_customer_arr = np.array(ws_customer, dtype=np.int64)
    ws_weight = rng.lognormal(0.0, 0.7, len(ws_customer))
    totals = np.bincount(ws_customer_arr, weights=ws_weight, minlength=n_all)
    within = ws_weight / totals[ws_customer_arr]
    cum = np.zeros(len(ws_customer))
    for c in range(n_all):
        idx = np.flatnonzero(ws_customer_arr == c)
        cum[idx] = np.cumsum(within[idx])
        cum[idx[-1]] = 1.0
    caps = np.full(len(ws_customer), np.nan)
    capped = rng.random(len(ws_customer)) < 0.15
    caps[capped] = rng.uniform(0.7, 3.0, int(capped.sum()))
    users = np.array(ws_users, dtype=np.int64)
    user_start = np.concatenate([[0], np.cumsum(users)[:-1]])
    return Population(
        customer_seq=np.arange(n_all, dtype=np.int64),
        customer_name=names,
        customer_plan=plans,
        customer_signup=signup,
        customer_signup_day=signup_day,
        customer_weight=weight,
        customer_growth=growth,
        customer_features=feature_cum,
        utm=utm,
        workspace_seq=np.arange(len(ws_customer), dtype=np.int64),
        workspace_customer=ws_customer_arr,
        workspace_name=ws_name,
        workspace_cum=ws_customer_arr + cum,
        workspace_cap_factor=caps,
        workspace_user_start=user_start,
        workspace_user_count=users,
        user_seq=np.arange(int(users.sum()), dtype=np.int64),
        trial_customer=customers,
        trial_workspace=len(ws_customer) - 1,
    )


def _assign_plans(rng: np.random.Generator, customers: int) -> np.ndarray:
    """Plan codes with the catalog's shares, at least one customer per plan when there is room."""
    shares = np.array([p.share for p in PLANS])
    counts = np.floor(shares * customers).astype(int)
    if customers >= len(PLANS):
        counts = np.maximum(counts, 1)
    while counts.sum() > customers:
        counts[np.argmax(counts)] -= 1
    order = np.argsort(-shares, kind="stable")
    i = 0
    while counts.sum() < customers:
        counts[order[i % len(order)]] += 1
        i += 1
    plans = np.repeat(np.arange(len(PLANS)), counts)
    return rng.permutation(plans)


def _names(rng: np.random.Generator, customers: int) -> list[str]:
    pairs = [f"{a} {n}" for a in _ADJECTIVES for n in _NOUNS]
    order = rng.permutation(len(pairs))
    names = [pairs[i] for i in order[:customers]]
    for i in range(len(pairs), customers):  # more customers than name pairs
        names.append(f"{pairs[order[i % len(pairs)]]} {i // len(pairs) + 1}")
    return names


def sample_workspaces(pop: Population, customer: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.searchsorted(pop.workspace_cum, customer + u, side="left")


def sample_users(pop: Population, workspace: np.ndarray, u: np.ndarray) -> np.ndarray:
    count = pop.workspace_user_count[workspace]
    return pop.workspace_user_start[workspace] + np.minimum((u * count).astype(np.int64), count - 1)


def sample_features(pop: Population, customer: np.ndarray, u: np.ndarray) -> np.ndarray:
    cum = pop.customer_features[customer]
    return np.minimum((cum < u[:, None]).sum(axis=1), len(FEATURES) - 1)
