"""The numbers all three implementations must agree on, and the comparison that fails loudly.

Totals: number of calls (deduplicated, valid), priced calls, total cost, number of tasks, the sum
of task costs, and the cost per (customer, day). Money is compared to a relative 1e-6 (pandas
prices in floats, the SQL sides in decimals); counts exactly.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

MONEY_RTOL = 1e-6
# an absolute floor so a customer-day costing ~$0 does not fail on float noise
MONEY_ATOL = 1e-9

# The catalog models the generator's (provider, model) strings resolve to; the catalog's matching
# rules are code (genai-prices), so every implementation receives them as this small table.
RESOLUTIONS_FILE = "model_resolutions.parquet"


@dataclass
class Totals:
    calls: int
    priced_calls: int
    cost_usd: float
    tasks: int
    task_cost_usd: float
    customer_days: dict[str, float] = field(default_factory=dict)  # "customer|YYYY-MM-DD" -> cost

    def summary(self) -> dict:
        d = asdict(self)
        d["customer_days"] = len(self.customer_days)
        return d


def customer_day_key(customer_id: str | None, event_date) -> str:
    return f"{customer_id or ''}|{event_date}"


def _f(value) -> float:
    return float(value) if value is not None else 0.0


def from_rows(rows: list[tuple]) -> Totals:
    """Rows (kind, customer_id, event_date, calls, priced_calls, tasks, cost, task_cost) as the
    engine-limit statement returns them."""
    total = next(r for r in rows if r[0] == "total")
    return Totals(
        calls=int(total[3] or 0),
        priced_calls=int(total[4] or 0),
        cost_usd=_f(total[6]),
        tasks=int(total[5] or 0),
        task_cost_usd=_f(total[7]),
        customer_days={
            customer_day_key(r[1], r[2]): _f(r[6]) for r in rows if r[0] == "customer_day"
        },
    )


def from_warehouse(warehouse: Path) -> Totals:
    """The same numbers from the pipeline's marts: fct_llm_calls (calls, cost), fct_tasks (tasks,
    task cost) and int_attempts_chained_to_tasks (each call under its task's customer)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        calls, priced, cost = con.execute(
            "select count(*), count(cost_usd), sum(cost_usd) from marts.fct_llm_calls"
        ).fetchone()
        tasks, task_cost = con.execute(
            "select count(*), sum(total_cost_usd) from marts.fct_tasks"
        ).fetchone()
        days = con.execute(
            "select customer_id, event_date, sum(cost_usd) "
            "from intermediate.int_attempts_chained_to_tasks group by all"
        ).fetchall()
    return Totals(
        calls=int(calls),
        priced_calls=int(priced),
        cost_usd=_f(cost),
        tasks=int(tasks),
        task_cost_usd=_f(task_cost),
        customer_days={customer_day_key(c, d): _f(v) for c, d, v in days},
    )


def _money_close(a: float, b: float) -> bool:
    return abs(a - b) <= max(MONEY_RTOL * max(abs(a), abs(b)), MONEY_ATOL)


def differences(expected: Totals, actual: Totals, *, label: str) -> list[str]:
    """Every total on which ``actual`` disagrees with ``expected``; empty when they agree."""
    out = []
    for name in ("calls", "priced_calls", "tasks"):
        a, b = getattr(expected, name), getattr(actual, name)
        if a != b:
            out.append(f"{label}: {name} {b:,} != {a:,}")
    for name in ("cost_usd", "task_cost_usd"):
        a, b = getattr(expected, name), getattr(actual, name)
        if not _money_close(a, b):
            out.append(f"{label}: {name} {b!r} != {a!r}")
    keys = set(expected.customer_days) | set(actual.customer_days)
    bad = [
        k
        for k in sorted(keys)
        if k not in expected.customer_days
        or k not in actual.customer_days
        or not _money_close(expected.customer_days[k], actual.customer_days[k])
    ]
    if bad:
        shown = ", ".join(
            f"{k}: {actual.customer_days.get(k)!r} != {expected.customer_days.get(k)!r}"
            for k in bad[:5]
        )
        out.append(f"{label}: {len(bad)} of {len(keys)} customer-days differ ({shown})")
    return out


class TotalsMismatch(AssertionError):
    pass


def check_agree(reference: Totals, others: dict[str, Totals]) -> None:
    problems = [p for label, t in others.items() for p in differences(reference, t, label=label)]
    if problems:
        raise TotalsMismatch("implementations disagree:\n  " + "\n  ".join(problems))


def write_resolutions(path: Path) -> Path:
    """Resolve every (provider, model) the generator can emit with the pipeline's resolver."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from orchestration.pricing.resolution import resolve_pair
    from sample_data import catalog

    rows = []
    for m in catalog.MODELS:
        provider = m.provider.strip().lower()
        resolved = resolve_pair(provider, m.name.strip())
        rows.append(
            {
                "raw_provider": provider,
                "raw_model": m.name.strip(),
                "price_provider_id": resolved["price_provider_id"],
                "price_model_id": resolved["price_model_id"],
                "is_context_priced": resolved["is_context_priced"],
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def dump(totals: Totals, path: Path) -> None:
    path.write_text(json.dumps(asdict(totals), default=str))


def load(path: Path) -> Totals:
    return Totals(**json.loads(path.read_text()))
