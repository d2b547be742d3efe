"""Billing-system exports: plans, customers, workspaces and invoices (the revenue side).

The trial customer and its workspace are left out on purpose. One customer upgrades mid-month
(two prorated invoices that month) and a couple of invoices are voided and reissued.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .catalog import PLAN_INDEX, PLANS
from .ids import render_ids
from .population import Population

HISTORY_MONTHS = 2
ENTERPRISE_DISCOUNTS = (0.8, 1.0, 1.2, 1.6)  # negotiated contract size vs list price


@dataclass(frozen=True)
class PlanChange:
    customer: int
    old_plan: int
    new_plan: int
    on: dt.date


def choose_plan_change(
    rng: np.random.Generator, pop: Population, start: dt.date, end: dt.date
) -> PlanChange | None:
    """A starter customer (else any paid non-enterprise one) upgrades in the middle of a month."""
    billed = np.arange(pop.n_customers)
    before = pop.customer_signup_day[billed] < 0
    for plan_id in ("starter", "pro"):
        pool = billed[before & (pop.customer_plan[billed] == PLAN_INDEX[plan_id])]
        if pool.size:
            break
    else:
        return None
    customer = int(pool[rng.integers(0, pool.size)])
    months = sorted({(d.year, d.month) for d in _days(start, end) if 8 <= d.day <= 20})
    if not months:
        return None
    year, month = months[len(months) // 2]
    day = int(rng.integers(10, 19))
    old = int(pop.customer_plan[customer])
    return PlanChange(customer, old, old + 1, dt.date(year, month, day))


@dataclass(frozen=True)
class InvoiceLine:
    """One row of the invoices export: what a customer was billed for part of one month."""

    invoice_id: str
    customer: int
    month: str  # YYYY-MM
    plan: int
    amount_usd: float  # rounded to the cent
    status: str  # paid | open | void
    first_day: dt.date  # the service days the amount pays for, inclusive
    last_day: dt.date

    @property
    def cents(self) -> int:
        return round(self.amount_usd * 100)


def write_billing(
    directory: Path,
    pop: Population,
    ids: tuple[list[str], list[str]],
    change: PlanChange | None,
    runaway_workspaces: list[int],
    workspace_spend: np.ndarray,
    invoices: list[InvoiceLine] | None,
    *,
    plans: bool = True,
    customers: bool = True,
) -> list[Path]:
    """Write the billing CSVs; returns their paths.

    ``invoices=None``, ``plans=False`` and ``customers=False`` leave out ``invoices.csv``,
    ``plans.csv`` and ``customers.csv`` (the Stripe form carries them as Stripe objects).
    Hard caps are set against each capped workspace's busiest month of provider spend, so some
    workspaces cross 80% or 100% of their budget; runaway workspaces always cross it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    customer_ids, workspace_ids = ids
    plans_now = current_plans(pop, change)
    files = []

    if plans:
        rows = [
            [
                p.plan_id,
                p.plan_name,
                f"{p.price_per_month_usd:.2f}",
                f"{p.target_gross_margin_pct:.1f}",
                p.included_tasks,
                f"{p.overage_per_task_usd:.3f}",
                p.seats_included,
            ]
            for p in PLANS
        ]
        header = [
            "plan_id",
            "plan_name",
            "price_per_month_usd",
            "target_gross_margin_pct",
            "included_tasks",
            "overage_per_task_usd",
            "seats_included",
        ]
        files.append(_write(directory / "plans.csv", header, rows))

    if customers:
        rows = []
        for c in range(pop.n_customers):
            source, medium, campaign = pop.utm[c]
            signed = pop.customer_signup[c].strftime("%Y-%m-%dT%H:%M:%SZ")
            rows.append(
                [
                    customer_ids[c],
                    pop.customer_name[c],
                    PLANS[plans_now[c]].plan_id,
                    signed,
                    source or "",
                    medium or "",
                    campaign or "",
                ]
            )
        header = [
            "customer_id",
            "customer_name",
            "plan_id",
            "signed_up_at",
            "utm_source",
            "utm_medium",
            "utm_campaign",
        ]
        files.append(_write(directory / "customers.csv", header, rows))

    caps = _nice(pop.workspace_cap_factor * np.maximum(workspace_spend, 5.0))
    for w in runaway_workspaces:
        caps[w] = _nice(np.array([0.9 * max(workspace_spend[w], 5.0)]))[0]
    rows = []
    for w in range(len(pop.workspace_seq)):
        if w == pop.trial_workspace:
            continue
        cap = "" if np.isnan(caps[w]) else f"{caps[w]:.2f}"
        rows.append(
            [workspace_ids[w], customer_ids[pop.workspace_customer[w]], pop.workspace_name[w], cap]
        )
    files.append(
        _write(
            directory / "workspaces.csv",
            ["workspace_id", "customer_id", "workspace_name", "monthly_hard_cap_usd"],
            rows,
        )
    )

    if invoices is not None:
        rows = [
            [
                line.invoice_id,
                customer_ids[line.customer],
                line.month,
                PLANS[line.plan].plan_id,
                f"{line.amount_usd:.2f}",
                line.status,
            ]
            for line in invoices
        ]
        header = ["invoice_id", "customer_id", "invoice_month", "plan_id", "amount_usd", "status"]
        files.append(_write(directory / "invoices.csv", header, rows))
    return files


def write_invoice_rows(directory: Path, rows: list[dict]) -> Path:
    """Write ``invoices.csv`` from rows with the ``currency`` and ``amount`` columns
    (``revenue.revenue_rows``): ``amount`` in ``currency``, ``amount_usd`` only on USD rows."""
    header = [
        "invoice_id",
        "customer_id",
        "invoice_month",
        "plan_id",
        "amount_usd",
        "status",
        "currency",
        "amount",
    ]
    return _write(directory / "invoices.csv", header, [[row[h] for h in header] for row in rows])


def current_plans(pop: Population, change: PlanChange | None) -> np.ndarray:
    plans_now = pop.customer_plan.copy()
    if change:
        plans_now[change.customer] = change.new_plan
    return plans_now


def plan_invoices(
    rng,
    pop: Population,
    customer_ids: list[str],
    start: dt.date,
    end: dt.date,
    change: PlanChange | None,
    invoice_key: int,
) -> list[InvoiceLine]:
    """The invoices export, in order: one line per customer, month and plan segment."""
    # the export holds a little history before the usage window too
    first = dt.date(start.year, start.month, 1)
    for _ in range(HISTORY_MONTHS):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    months = sorted({(d.year, d.month) for d in _days(first, end)})
    discount = rng.choice(ENTERPRISE_DISCOUNTS, size=pop.n_customers)
    # month, customer, plan, amount, status, first day, last day
    lines: list[tuple[str, int, int, float, str, dt.date, dt.date]] = []
    for c in range(pop.n_customers):
        signup = pop.customer_signup[c].date()
        for year, month in months:
            days_in = calendar.monthrange(year, month)[1]
            first, last = dt.date(year, month, 1), dt.date(year, month, days_in)
            if signup > last:
                continue
            label = f"{year:04d}-{month:02d}"
            status = (
                "open"
                if (year, month) == months[-1]
                else ("open" if rng.random() < 0.07 else "paid")
            )
            begin = max(first, signup)
            segments = [(begin, last, int(pop.customer_plan[c]))]
            if change and change.customer == c:
                if change.on <= first:
                    segments = [(begin, last, change.new_plan)]
                elif change.on <= last:
                    segments = [
                        (begin, change.on - dt.timedelta(days=1), change.old_plan),
                        (change.on, last, change.new_plan),
                    ]
            for seg_start, seg_end, plan in segments:
                price = PLANS[plan].price_per_month_usd
                if PLANS[plan].plan_id == "enterprise":
                    price *= float(discount[c])
                if price <= 0:
                    continue
                share = ((seg_end - seg_start).days + 1) / days_in
                lines.append((label, c, plan, round(price * share, 2), status, seg_start, seg_end))
    lines.sort(key=lambda line: (line[0], customer_ids[line[1]], line[2]))
    # a couple of invoices issued wrong: voided and reissued at the right amount
    paid = [i for i, line in enumerate(lines) if line[4] == "paid"]
    voided = set()
    if paid:
        voided = set(rng.choice(paid, size=min(2, len(paid)), replace=False).tolist())
    out_lines = []
    for i, line in enumerate(lines):
        if i in voided:
            out_lines.append((*line[:3], round(line[3] * 1.1, 2), "void", *line[5:]))
        out_lines.append(line)
    invoice_ids = render_ids(np.arange(len(out_lines)), "in_", invoice_key).to_pylist()
    return [
        InvoiceLine(invoice_ids[i], c, month, plan, amount, status, day0, day1)
        for i, (month, c, plan, amount, status, day0, day1) in enumerate(out_lines)
    ]


def _nice(usd: np.ndarray) -> np.ndarray:
    """Round budgets the way people set them: to 5, 10, 50 or 100 dollars."""
    step = np.where(usd < 100, 5.0, np.where(usd < 500, 10.0, np.where(usd < 2000, 50.0, 100.0)))
    return np.where(np.isnan(usd), np.nan, np.maximum(step, np.round(usd / step) * step))


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def _write(path: Path, header: list[str], rows: list[list]) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    tmp.replace(path)
    return path
