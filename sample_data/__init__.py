"""Sample data: realistic, deliberately messy landing files plus the truth to check them against.

``generate(data_dir)`` writes, under ``data_dir``:

* ``landing/usage_events/usage-YYYY-MM-DD.{jsonl.gz,jsonl,csv,parquet}``: one file per day, one
  record per provider call attempt (usage-event contract v1), with retries, fallbacks, streams,
  re-deliveries, late arrivals, unknown extra fields and planted malformed records;
* ``landing/billing/{plans,customers,workspaces,invoices}.csv`` and
  ``landing/provider_invoices/<provider>-<YYYY-MM>.csv``;
* ``landing/provider_reports/<provider>/<endpoint>/*.json``: OpenAI's and Anthropic's daily usage
  and cost report pages, with planted daily gaps (``provider_reports``);
* with ``billing="stripe"``: the revenue as Stripe API objects in ``landing/stripe/``
  (``sample_data/stripe.py``; only ``workspaces.csv`` stays in ``landing/billing/``) and euro
  reference rates in ``landing/fx/eurofxref-hist.csv``; ``billing="both"`` writes that same
  revenue twice, as CSV exports (with ``currency`` and ``amount``) under ``data_dir`` and as Stripe
  objects under ``stripe_data_dir`` (every other file identical in both);
* ``truth/`` (outside ``landing/``, ingestion never reads it): the answer key.

Same seed and parameters give byte-identical files. Only one day of records is held in memory
(plus the few records carried to a later day's file), so the size is bounded by a day, not a run.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import catalog as cat
from .billing import (
    choose_plan_change,
    current_plans,
    plan_invoices,
    write_billing,
    write_invoice_rows,
)
from .faults import FAULTS, plan_mandatory, plant
from .frames import Frame, concat, length, take
from .fx import write_ecb_rates
from .ids import render_ids
from .population import Population, build_population
from .pricing import CostLedger, month_bounds, unit_prices
from .provider_reports import (
    DailyLedger,
    gap_rows,
    relabel_records,
    relabel_unpriced,
    write_pages,
)
from .records import deliver, expand_calls
from .revenue import export_truth, plan_revenue, revenue_rows, revenue_truth
from .stripe import write_stripe
from .tasks import DAY_MS, DayPlan, Incident, Sequencer, plan_tasks, simulate_calls
from .traces import default_traces_dir, load_profile
from .truth import Truth
from .writers import IdText, file_name, write_day

__all__ = [
    "BILLING_FORMS",
    "DEFAULT_END_DATE",
    "FAULTS",
    "GenerationSummary",
    "LandingNotEmptyError",
    "generate",
]

DEFAULT_END_DATE = dt.date(2026, 11, 22)
PROJECT_ROOT = Path(__file__).resolve().parents[1]
GENERATOR_VERSION = 1
WEEKEND_FACTOR = 0.55
DAILY_GROWTH = 0.01
_FIRST_RATIO = 1.5  # records per task, before the first day measures it
BILLING_FORMS = ("csv", "stripe", "both")
FX_LEAD_DAYS = 10  # rates start this many days before the first invoiced month


class LandingNotEmptyError(FileExistsError):
    """``landing/usage_events`` already holds files: the caller decides what to do with them."""


@dataclass(frozen=True)
class GenerationSummary:
    events: int  # records written to landing/usage_events (every kind)
    tasks: int
    calls: int  # distinct valid event ids
    duplicates: int
    streams: int
    incomplete_streams: int
    late: int
    extra_field_records: int
    malformed: dict[str, int]  # fault -> records
    files: list[Path] = field(default_factory=list)
    truth_paths: dict[str, Path] = field(default_factory=dict)

    @property
    def malformed_total(self) -> int:
        return sum(self.malformed.values())


def generate(
    data_dir: Path,
    *,
    seed: int = 7,
    events: int = 100_000,
    days: int = 60,
    customers: int = 40,
    start_date: dt.date | None = None,
    traces_dir: Path | None = None,
    progress: bool = True,
    billing: str = "csv",
    stripe_data_dir: Path | None = None,
) -> GenerationSummary:
    """Write sample landing files and their truth under ``data_dir``; see the module docstring.

    ``events`` is the target number of usage records (the result is within a few percent).
    ``start_date`` defaults to the day that makes the window end on 2026-11-22. ``traces_dir``
    defaults to ``<project>/../shared/datasets``; without traces, sizes are lognormal.
    ``billing`` is the form of the revenue side: ``csv`` (the billing exports, as before),
    ``stripe`` (Stripe objects) or ``both`` (CSV under ``data_dir``, Stripe under
    ``stripe_data_dir``, which ``both`` requires).
    """
    if days < 1 or events < 1 or customers < 1:
        raise ValueError("days, events and customers must all be at least 1")
    if billing not in BILLING_FORMS:
        raise ValueError(f"billing must be one of {', '.join(BILLING_FORMS)}, not {billing!r}")
    if (billing == "both") != (stripe_data_dir is not None):
        raise ValueError("stripe_data_dir is required with billing='both' and only with it")
    data_dir = Path(data_dir)
    landing = data_dir / "landing"
    usage_dir = landing / "usage_events"
    _check_empty(usage_dir)
    if stripe_data_dir is not None:
        stripe_data_dir = Path(stripe_data_dir)
        if stripe_data_dir.resolve() == data_dir.resolve():
            raise ValueError(
                "billing='both' needs two data directories: stripe_data_dir is data_dir"
            )
        _check_empty(stripe_data_dir / "landing" / "usage_events")
        _check_empty(stripe_data_dir / "landing" / "stripe")
    usage_dir.mkdir(parents=True, exist_ok=True)
    start = start_date or DEFAULT_END_DATE - dt.timedelta(days=days - 1)
    end = start + dt.timedelta(days=days - 1)
    if traces_dir is None:
        traces_dir = default_traces_dir(PROJECT_ROOT)
    profile = load_profile(traces_dir)
    cat.check_catalog()

    rng = np.random.Generator(np.random.PCG64(seed))
    event_key, task_key, people_key, invoice_key = (int(k) for k in rng.integers(0, 2**63, 4))
    pop = build_population(rng, customers, start, days)
    customer_ids = render_ids(pop.customer_seq, "cus_", people_key, 12)
    workspace_ids = render_ids(pop.workspace_seq, "ws_", people_key ^ 0x5A5A, 12)
    user_ids = render_ids(pop.user_seq, "usr_", people_key ^ 0xA5A5, 12)
    ids = IdText(customer_ids, workspace_ids, user_ids, event_key, task_key)

    formats = _plan_formats(rng, days)
    mandatory = plan_mandatory(rng, formats)
    plans = _plan_special_tasks(rng, pop, days, events)
    incidents = _plan_incidents(rng, days, start)
    change = choose_plan_change(rng, pop, start, end)
    runaway_ws = sorted({w for p in plans.values() for w in p.runaway_workspaces})
    routes = cat.route_arrays()
    months, month_starts = month_bounds(start, end)
    ledger = CostLedger(
        months, month_starts, unit_prices(start + (end - start) / 2), len(pop.workspace_seq)
    )
    truth = Truth(data_dir / "truth", event_key, task_key, (customer_ids, workspace_ids, user_ids))
    daily = DailyLedger(start, days, ledger.prices)

    day0_ms = _epoch_ms(start)
    weights = np.array(
        [
            (WEEKEND_FACTOR if (start + dt.timedelta(days=d)).weekday() >= 5 else 1.0)
            * (1 + DAILY_GROWTH) ** d
            for d in range(days)
        ]
    )
    seq = Sequencer()
    pending: dict[int, list[Frame]] = {}
    created_records = created_tasks = incomplete = 0
    usage_files: list[Path] = []
    columns = (
        TextColumn("[bold]generating usage events"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, disable=not progress, transient=False) as bar:
        job = bar.add_task("days", total=days)
        for day in range(days):
            ratio = created_records / created_tasks if created_tasks else _FIRST_RATIO
            target = max(0, events - created_records) * weights[day] / weights[day:].sum()
            n_tasks = max(1, int(round(target / ratio)))
            day_start = day0_ms + day * DAY_MS
            tasks = plan_tasks(
                rng, pop, profile, routes, day, day_start, n_tasks, plans.get(day, DayPlan()), seq
            )
            calls = simulate_calls(rng, tasks, routes, incidents, seq)
            records = expand_calls(rng, calls, force_incomplete=incomplete == 0)
            records = deliver(rng, records, day, days - 1, day0_ms)
            records = plant(rng, records, day, formats, mandatory.get(day, []), day_start)
            incomplete += int((records["incomplete"] & (records["kind"] == 2)).sum())
            costs = ledger.call_costs(calls)
            unpriced = relabel_unpriced(calls, costs, day, day0_ms)
            calls["billed_model"] = unpriced["billed_model"]
            records["model"] = relabel_records(records, unpriced)
            ledger.add(calls, tasks["workspace"][calls["task_row"]], calls["billed_model"], costs)
            daily.add(calls, calls["billed_model"], records)
            truth.add_tasks(tasks, calls, records, costs)
            created_records += length(records)
            created_tasks += length(tasks)

            here = records["file_day"] == day
            for later_day in np.unique(records["file_day"][~here]):
                pending.setdefault(int(later_day), []).append(
                    take(records, np.flatnonzero(records["file_day"] == later_day))
                )
            batch = concat([take(records, np.flatnonzero(here)), *pending.pop(day, [])])
            del records, calls, tasks, costs  # keep one copy of the day in memory
            batch = take(batch, np.lexsort((batch["kind"], batch["true_ev"], batch["arrival_ms"])))
            date = start + dt.timedelta(days=day)
            name = file_name(date.isoformat(), formats[day])
            write_day(usage_dir / name, batch, formats[day], ids)
            truth.add_file(name, formats[day], date, batch)
            usage_files.append(usage_dir / name)
            bar.advance(job)

    customer_list = customer_ids.to_pylist()
    legacy = plan_invoices(rng, pop, customer_list, start, end, change, invoice_key)
    billing_args = (
        pop,
        (customer_list, workspace_ids.to_pylist()),
        change,
        runaway_ws,
        ledger.workspace_usd.max(axis=0),
    )
    stripe_files: list[Path] = []
    cases: dict = {}
    if billing == "csv":
        files = write_billing(landing / "billing", *billing_args, legacy)
        revenue = export_truth(legacy, customer_list)
    else:
        revenue_rng = np.random.Generator(np.random.PCG64([seed, 2]))
        plan = plan_revenue(revenue_rng, pop, legacy, change, invoice_key)
        revenue = revenue_truth(plan, customer_list)
        first_month = min(line.first_day for line in legacy).replace(day=1) if legacy else start
        fx_file = write_ecb_rates(
            landing / "fx" / "eurofxref-hist.csv",
            revenue_rng,
            first_month - dt.timedelta(days=FX_LEAD_DAYS),
            end,
        )
        stripe_dir = (stripe_data_dir or data_dir) / "landing" / "stripe"
        stripe_files = write_stripe(
            stripe_dir,
            plan,
            pop,
            customer_list,
            current_plans(pop, change),
            end.replace(day=1),
            invoice_key,
        )
        cases = dict(plan.cases) | {
            f"{cur.lower()}_customer": customer_list[c] for c, cur in plan.currency.items()
        }
        if billing == "both":
            files = write_billing(landing / "billing", *billing_args, None)
            files.append(write_invoice_rows(landing / "billing", revenue_rows(plan, customer_list)))
            files.append(fx_file)
        else:
            files = write_billing(
                landing / "billing", *billing_args, None, plans=False, customers=False
            )
            files += [fx_file, *stripe_files]
    truth.write_revenue(revenue)
    reported_tokens, reported_cost, daily_plants = daily.reported()
    last_day = daily.last_day()
    report_files, reported_usd = write_pages(
        landing / "provider_reports", start, last_day, reported_tokens, reported_cost
    )
    truth.write_provider_report_gaps(
        gap_rows(daily, reported_tokens, daily_plants, reported_usd, last_day)
    )
    by_month: dict[tuple[int, int], float] = {}
    for (_, d, code), usd in reported_usd.items():
        month = int(ledger.month_of(np.array([day0_ms + d * DAY_MS]))[0])
        by_month[(month, code)] = by_month.get((month, code), 0.0) + usd
    invoice_rng = np.random.Generator(np.random.PCG64([seed, 1]))
    invoice_files, provider_costs = ledger.write_invoices(
        landing / "provider_invoices", invoice_rng, by_month
    )
    all_files = usage_files + files + invoice_files + report_files
    parameters = {
        "seed": seed,
        "events": events,
        "days": days,
        "customers": customers,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "traces": list(profile.sources),
        "generator_version": GENERATOR_VERSION,
        "billing": billing,
        "formats": {d: f for d, f in zip(_dates(start, days), formats, strict=True)},
        "plan_change": None
        if change is None
        else {
            "customer_id": customer_ids[change.customer].as_py(),
            "from_plan": cat.PLANS[change.old_plan].plan_id,
            "to_plan": cat.PLANS[change.new_plan].plan_id,
            "on": change.on.isoformat(),
        },
        "stripe_cases": cases or None,
        "trial_customer_id": customer_ids[pop.trial_customer].as_py(),
        "trial_workspace_id": workspace_ids[pop.trial_workspace].as_py(),
        "runaway_workspace_ids": sorted(workspace_ids[w].as_py() for w in runaway_ws),
        "incidents": [
            {
                "provider": cat.PROVIDERS[i.provider],
                "start": _iso(i.start_ms),
                "end": _iso(i.end_ms),
            }
            for i in incidents
        ],
    }
    summary = truth.close(
        parameters, provider_costs, [str(p.relative_to(data_dir)) for p in all_files]
    )
    if stripe_data_dir is not None:
        stripe_paths = [
            stripe_data_dir / p.relative_to(data_dir)
            for p in all_files
            if p.parent != landing / "billing" or p.name == "workspaces.csv"
        ]
        _copy_other_files(data_dir, stripe_data_dir, stripe_paths)
        stripe_summary = dict(summary) | {
            "files": sorted(
                str(p.relative_to(stripe_data_dir)) for p in stripe_paths + stripe_files
            )
        }
        stripe_summary["parameters"] = dict(summary["parameters"]) | {"billing": "stripe"}
        (stripe_data_dir / "truth" / "summary.json").write_text(
            json.dumps(stripe_summary, indent=2, sort_keys=True) + "\n"
        )
    return GenerationSummary(
        events=summary["records"],
        tasks=summary["tasks"],
        calls=summary["calls"],
        duplicates=summary["duplicates"],
        streams=summary["streams"],
        incomplete_streams=summary["incomplete_streams"],
        late=summary["late_records"],
        extra_field_records=summary["extra_field_records"],
        malformed={f: n for f, n in summary["malformed_by_fault"].items() if n},
        files=all_files,
        truth_paths=dict(truth.paths),
    )


def _check_empty(directory: Path) -> None:
    if directory.is_dir() and any(directory.iterdir()):
        count = sum(1 for _ in directory.iterdir())
        raise LandingNotEmptyError(
            f"{directory} already holds {count} file(s); generate writes a fresh data set. "
            "Remove them (or point at another data directory) and run again."
        )


def _copy_other_files(data_dir: Path, other: Path, files: list[Path]) -> None:
    """Copy ``truth/`` and the given landing files (paths under ``other``) from ``data_dir``."""
    shutil.copytree(data_dir / "truth", other / "truth", dirs_exist_ok=True)
    for target in files:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(data_dir / target.relative_to(other), target)


def _plan_formats(rng: np.random.Generator, days: int) -> list[str]:
    """Mostly gzip JSON Lines; a few days of plain JSON Lines, CSV and Parquet."""
    formats = ["jsonl.gz"] * days
    if days < 2:
        return formats
    per_format = max(1, round(days * 0.05))
    others = ("csv", "parquet", "jsonl")
    chosen = rng.permutation(days)[: min(days - 1, per_format * len(others))]
    for i, day in enumerate(chosen):
        formats[int(day)] = others[i % len(others)]
    return formats


def _plan_special_tasks(
    rng: np.random.Generator, pop: Population, days: int, events: int
) -> dict[int, DayPlan]:
    """Runaway agent loops in one or two workspaces, and the trial customer's few tasks."""
    plans: dict[int, DayPlan] = {}
    agent_plans = [i for i, p in enumerate(cat.PLANS) if cat.AGENT_FEATURE in p.features]
    billed_ws = np.flatnonzero(pop.workspace_customer < pop.n_customers)
    owner = pop.workspace_customer[billed_ws]
    good = np.isin(pop.customer_plan[owner], agent_plans) & (pop.customer_signup_day[owner] < 0)
    pool = billed_ws[good] if good.any() else billed_ws
    n_runaway = int(min(8, events // 40_000 + 1))
    n_ws = 1 if n_runaway == 1 or pool.size == 1 else 2
    runaway_ws = rng.choice(pool, size=n_ws, replace=False)
    for i, day in enumerate(rng.integers(0, days, n_runaway)):
        plans.setdefault(int(day), DayPlan()).runaway_workspaces.append(int(runaway_ws[i % n_ws]))
    for day in rng.choice(days, size=min(2, days), replace=False):
        plans.setdefault(int(day), DayPlan()).trial_tasks = int(rng.integers(3, 7))
    return plans


def _plan_incidents(rng: np.random.Generator, days: int, start: dt.date) -> list[Incident]:
    out = []
    for _ in range(max(1, days // 20)):
        day = int(rng.integers(0, days))
        begin = _epoch_ms(start) + day * DAY_MS + int(rng.integers(8, 18)) * 3_600_000
        length_ms = int(rng.integers(1, 5)) * 3_600_000
        out.append(
            Incident(int(rng.integers(0, len(cat.PROVIDERS))), begin, begin + length_ms, 0.35)
        )
    return out


def _epoch_ms(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp() * 1000)


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dates(start: dt.date, days: int) -> list[str]:
    return [(start + dt.timedelta(days=d)).isoformat() for d in range(days)]
