"""The revenue plan of the Stripe form: the billing export's charges as Stripe documents.

``plan_revenue`` turns the invoices export that ``billing.plan_invoices`` plans (one line per
customer, month and plan segment; voided-and-reissued lines; open invoices) into invoices with
lines, credit notes and refunds, and plants the cases a Stripe account has and the CSV export
never had:

* two customers billed in other currencies: one in EUR (prices exclude 19 % VAT, added on top),
  one in GBP (prices include 20 % VAT); both are starter or pro customers billed for whole
  months only, so every part of their revenue has the first of a month as its service date;
* the mid-month plan change as a proration pair (credit for the unused old plan, charge for the
  new plan over the rest of the month) on the next invoice, or on an invoice issued at the change
  when the export ends that month (Stripe's ``always_invoice``);
* a 20 % discount on one line, a credit note (refunded) on a EUR invoice, a refund made directly
  on a GBP payment, an invoice marked uncollectible; the export's voided invoices stay void.

Every line serves days of one calendar month (periods run from a first of the month, or the
signup, to the next first at the subscription's time of day), so a line's revenue belongs to
the month its period starts in. Amounts are integers in the currency's minor unit.

``revenue_rows`` is the same revenue as rows of the CSV invoices export (one per line, credit
note and refund) and ``revenue_truth`` the expected revenue per customer, month and currency,
both computed from this plan, never from the written JSON.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .billing import InvoiceLine, PlanChange
from .catalog import PLANS
from .ids import render_id
from .population import Population

# list prices per month in minor units of other currencies (USD comes from the catalog)
FOREIGN_PRICES = {
    "EUR": {"starter": 2700, "pro": 13900},  # VAT added on top
    "GBP": {"starter": 2400, "pro": 12000},  # VAT included: net 20.00 / 100.00
}
VAT = {"EUR": ("exclusive", 19), "GBP": ("inclusive", 20)}
DISCOUNT_PCT = 20


@dataclass
class Line:
    line_id: str
    customer: int
    plan: int
    currency: str  # upper-case ISO code
    amount: int  # Stripe's line amount: after nothing, with inclusive tax
    start: dt.datetime  # service period, UTC; end exclusive
    end: dt.datetime
    unit_amount: int  # the price's unit amount
    discount: int = 0
    tax: int = 0
    tax_behavior: str | None = None  # exclusive | inclusive
    proration: bool = False
    invoice_item: bool = False  # a proration of the plan change (an invoice item), not a period
    credits_line: Line | None = None  # a proration credit: the line whose unused time it credits

    @property
    def net(self) -> int:
        """Revenue: the amount less its discount and any tax included in it."""
        return self.amount - self.discount - (self.tax if self.tax_behavior == "inclusive" else 0)

    @property
    def month(self) -> str:
        return self.start.strftime("%Y-%m")


@dataclass
class Invoice:
    invoice_id: str
    customer: int
    currency: str
    status: str  # paid | open | void | uncollectible
    created: dt.datetime
    billing_reason: str
    lines: list[Line] = field(default_factory=list)
    payment_key: int = 0  # sequence for payment intent / charge ids

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def total_excluding_tax(self) -> int:
        return sum(line.net for line in self.lines)

    @property
    def tax(self) -> int:
        return sum(line.tax for line in self.lines)

    @property
    def total(self) -> int:
        return self.total_excluding_tax + self.tax


@dataclass
class CreditNote:
    credit_note_id: str
    invoice: Invoice
    line: Line
    amount: int  # net of tax (this note's exclusive VAT is on top)
    tax: int
    created: dt.datetime
    refund_id: str

    @property
    def total(self) -> int:
        return self.amount + self.tax


@dataclass
class Refund:
    refund_id: str
    invoice: Invoice
    amount: int  # what went back to the card, tax included
    created: dt.datetime
    credit_note: CreditNote | None = None

    @property
    def net(self) -> int:
        """The revenue it takes back: the refund's share of the invoice net of tax."""
        if self.credit_note is not None:
            return 0  # already netted by the credit note
        taken = self.amount * self.invoice.total_excluding_tax
        if taken % self.invoice.total:
            raise ValueError(f"refund {self.refund_id} does not split into whole minor units")
        return taken // self.invoice.total


@dataclass
class RevenuePlan:
    invoices: list[Invoice]
    credit_notes: list[CreditNote]
    refunds: list[Refund]
    currency: dict[int, str]  # customer -> billing currency (absent: USD)
    enterprise_prices: dict[int, int]  # customer -> monthly unit amount of its contract price
    cases: dict[str, str | None]  # planted case -> document id


def plan_revenue(
    rng: np.random.Generator,
    pop: Population,
    legacy: list[InvoiceLine],
    change: PlanChange | None,
    key: int,
) -> RevenuePlan:
    """The Stripe documents for the export's charges, with the planted cases (module docstring)."""
    ids = _Ids(key)
    by_month: dict[tuple[int, str], list[InvoiceLine]] = defaultdict(list)
    for line in legacy:
        if line.status != "void":
            by_month[(line.customer, line.month)].append(line)
    currency = _choose_currencies(rng, pop, legacy, change)
    enterprise = {  # negotiated contracts are whole dollars
        line.customer: round(_full_month_cents(line) / 100) * 100
        for line in legacy
        if PLANS[line.plan].plan_id == "enterprise" and line.status != "void"
    }
    invoices: list[Invoice] = []
    last_month = max((line.month for line in legacy), default="")
    pending_prorations: dict[tuple[int, str], list[Line]] = {}
    for line in legacy:
        c = line.customer
        cur = currency.get(c, "USD")
        anchor = _anchor_time(pop, c)
        start = _at(line.first_day, anchor, pop.customer_signup[c])
        end = _at(_next_month(line.first_day), anchor, None)
        if line.status == "void":
            amount = round(_charge(line, cur, enterprise) * 1.1)
            inv = ids.invoice(c, cur, "void", start, "subscription_cycle")
            inv.lines.append(ids.line(line, cur, amount, start, end, _unit(line, cur, enterprise)))
            _tax(inv.lines[-1])
            invoices.append(inv)
            continue
        month_lines = by_month[(c, line.month)]
        if line is not month_lines[0]:
            continue  # the month's second segment: the plan change below
        signed_up = line.first_day == pop.customer_signup[c].date()
        reason = "subscription_create" if signed_up else "subscription_cycle"
        inv = ids.invoice(c, cur, line.status, start, reason)
        if len(month_lines) == 1:
            amount = _charge(line, cur, enterprise)
            inv.lines.append(ids.line(line, cur, amount, start, end, _unit(line, cur, enterprise)))
            inv.lines[-1].proration = line.first_day.day != 1  # a first, partial period
            _tax(inv.lines[-1])
        else:  # the plan change: the old plan for the month, then a proration pair
            old, new = month_lines
            if not (change and c == change.customer and old.plan == change.old_plan):
                raise ValueError(f"unexpected second line in {line.month} for customer {c}")
            full = _prorated_cents(old.plan, old.first_day, new.last_day)
            kept = ids.line(old, cur, full, start, end, _list_cents(old.plan))
            inv.lines.append(kept)
            on = _at(change.on, anchor, None)
            credit = ids.line(old, cur, -(full - old.cents), on, end, _list_cents(old.plan))
            credit.proration, credit.invoice_item, credit.credits_line = True, True, kept
            debit = ids.line(new, cur, new.cents, on, end, _list_cents(new.plan))
            debit.proration, debit.invoice_item = True, True
            pending_prorations[(c, _next_label(line.month))] = [credit, debit]
            if line.month == last_month:  # no next invoice in the export: invoiced at once
                now = ids.invoice(c, cur, line.status, on, "subscription_update")
                now.lines.extend(pending_prorations.pop((c, _next_label(line.month))))
                invoices.append(inv)
                invoices.append(now)
                continue
        inv.lines[:0] = pending_prorations.pop((c, line.month), [])
        invoices.append(inv)
    for c, month in pending_prorations:  # the next month had no invoice
        raise ValueError(f"proration pair of customer {c} for {month} has no invoice")

    cases: dict[str, str | None] = {
        "proration_invoice": next(
            (i.invoice_id for i in invoices if any(ln.credits_line for ln in i.lines)), None
        ),
        "void_invoice": next((i.invoice_id for i in invoices if i.status == "void"), None),
    }

    usd_paid = [
        i
        for i in invoices
        if i.status == "paid"
        and i.currency == "USD"
        and len(i.lines) == 1
        and i.lines[0].start.day == 1
        and not (change and i.customer == change.customer)
    ]
    picks = rng.permutation(len(usd_paid))[:2] if usd_paid else []
    if len(picks) >= 1:
        bad = usd_paid[int(picks[0])]
        bad.status = "uncollectible"
        cases["uncollectible_invoice"] = bad.invoice_id
    if len(picks) >= 2:
        coupon = usd_paid[int(picks[1])]
        ln = coupon.lines[0]
        ln.discount = ln.amount * DISCOUNT_PCT // 100
        cases["discount_invoice"] = coupon.invoice_id

    credit_notes: list[CreditNote] = []
    refunds: list[Refund] = []
    for cur in ("EUR", "GBP"):
        paid = [
            i for i in invoices if i.currency == cur and i.status == "paid" and len(i.lines) == 1
        ]
        if not paid:
            continue
        inv = paid[int(rng.integers(0, len(paid)))]
        when = inv.created + dt.timedelta(days=int(rng.integers(6, 20)), hours=3)
        if cur == "EUR":  # a service credit, paid back through the credit note
            line = inv.lines[0]
            amount = line.net // 5
            note = CreditNote(
                ids.next("cn_"), inv, line, amount, _vat(amount, cur), when, ids.next("re_")
            )
            credit_notes.append(note)
            refunds.append(Refund(note.refund_id, inv, note.total, when, note))
            cases["credit_note"] = note.credit_note_id
        else:  # a refund on the payment, no credit note: a quarter, rounded to whole tax steps
            step = 6  # 20 % inclusive: refund × net / total is whole for multiples of 6 pence
            amount = inv.total // 4 // step * step
            refunds.append(Refund(ids.next("re_"), inv, amount, when))
            cases["direct_refund"] = refunds[-1].refund_id
    return RevenuePlan(invoices, credit_notes, refunds, currency, enterprise, cases)


def revenue_rows(plan: RevenuePlan, customer_ids: list[str]) -> list[dict]:
    """The plan as rows of the CSV invoices export: one per line, credit note and refund.

    ``amount`` is the revenue (net of discounts and tax) in major units of ``currency``;
    ``amount_usd`` repeats it for USD rows and is empty otherwise. A multi-line invoice's rows
    are ``<invoice id>-<n>``.
    """
    rows = []
    for inv in plan.invoices:
        for n, line in enumerate(inv.lines, start=1):
            suffix = "" if len(inv.lines) == 1 else f"-{n}"
            rows.append(
                _row(
                    inv.invoice_id + suffix,
                    customer_ids[inv.customer],
                    line.month,
                    line.plan,
                    line.net,
                    inv.currency,
                    inv.status,
                )
            )
    for note in plan.credit_notes:
        rows.append(
            _row(
                note.credit_note_id,
                customer_ids[note.invoice.customer],
                note.line.month,
                note.line.plan,
                -note.amount,
                note.invoice.currency,
                note.invoice.status,
            )
        )
    for refund in plan.refunds:
        if refund.credit_note is None:
            line = refund.invoice.lines[0]
            rows.append(
                _row(
                    refund.refund_id,
                    customer_ids[refund.invoice.customer],
                    line.month,
                    line.plan,
                    -refund.net,
                    refund.invoice.currency,
                    refund.invoice.status,
                )
            )
    return rows


def revenue_truth(plan: RevenuePlan, customer_ids: list[str]) -> list[dict]:
    """Expected revenue per customer, service month and invoice currency, in minor units.

    ``revenue``: lines of paid and open invoices less credit notes and refunds (accrual);
    ``open``: the part of it on invoices not yet paid; ``uncollectible``: lines of invoices
    marked uncollectible (not revenue). Void invoices count nowhere.
    """
    sums: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for inv in plan.invoices:
        for line in inv.lines:
            if line.end.date() > _next_month(line.start.date()):
                raise ValueError(f"line {line.line_id} serves more than one month")
            key = (customer_ids[inv.customer], line.month, inv.currency)
            if inv.status in ("paid", "open"):
                sums[key][0] += line.net
                if inv.status == "open":
                    sums[key][1] += line.net
            elif inv.status == "uncollectible":
                sums[key][2] += line.net
    for note in plan.credit_notes:
        sums[(customer_ids[note.invoice.customer], note.line.month, note.invoice.currency)][0] -= (
            note.amount
        )
    for refund in plan.refunds:
        line = refund.invoice.lines[0]
        sums[(customer_ids[refund.invoice.customer], line.month, refund.invoice.currency)][0] -= (
            refund.net
        )
    return [
        {
            "customer_id": c,
            "service_month": month,
            "currency": cur,
            "revenue_minor": v[0],
            "open_minor": v[1],
            "uncollectible_minor": v[2],
        }
        for (c, month, cur), v in sorted(sums.items())
    ]


def export_truth(lines: list[InvoiceLine], customer_ids: list[str]) -> list[dict]:
    """``revenue_truth`` of the CSV export alone (``billing="csv"``): USD, by invoice month."""
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for line in lines:
        if line.status != "void":
            key = (customer_ids[line.customer], line.month)
            sums[key][0] += line.cents
            sums[key][1] += line.cents if line.status == "open" else 0
    return [
        {
            "customer_id": c,
            "service_month": month,
            "currency": "USD",
            "revenue_minor": v[0],
            "open_minor": v[1],
            "uncollectible_minor": v[2],
        }
        for (c, month), v in sorted(sums.items())
    ]


# -- helpers -------------------------------------------------------------------------------------
class _Ids:
    """Stripe-like ids (prefix + 16 hex), unique per prefix, from one key."""

    def __init__(self, key: int) -> None:
        self.key = key
        self.counts: dict[str, int] = defaultdict(int)

    def next(self, prefix: str) -> str:
        n = self.counts[prefix]
        self.counts[prefix] += 1
        return render_id(n, prefix, self.key ^ _prefix_key(prefix))

    def invoice(self, c: int, cur: str, status: str, created: dt.datetime, reason: str) -> Invoice:
        seq = self.counts["in_"]
        return Invoice(self.next("in_"), c, cur, status, created, reason, payment_key=seq)

    def line(self, source: InvoiceLine, cur: str, amount: int, start, end, unit: int) -> Line:
        return Line(self.next("il_"), source.customer, source.plan, cur, amount, start, end, unit)


def _prefix_key(prefix: str) -> int:
    """A stable per-prefix key tweak (``hash()`` of a str changes between runs)."""
    return int.from_bytes(prefix.encode().ljust(8, b"_")[:8], "big")


def _choose_currencies(
    rng: np.random.Generator, pop: Population, legacy: list[InvoiceLine], change
) -> dict[int, str]:
    """A EUR and a GBP customer: starter or pro, billed for whole months only, no plan change."""
    partial = {ln.customer for ln in legacy if ln.first_day.day != 1}
    billed = sorted({ln.customer for ln in legacy})
    pool = [
        c
        for c in billed
        if c not in partial
        and PLANS[int(pop.customer_plan[c])].plan_id in FOREIGN_PRICES["EUR"]
        and not (change and c == change.customer)
    ]
    chosen = rng.permutation(len(pool))[:2]
    return {pool[int(i)]: cur for i, cur in zip(chosen, ("EUR", "GBP"), strict=False)}


def _full_month_cents(line: InvoiceLine) -> int:
    days = (line.last_day - line.first_day).days + 1
    month_days = (_next_month(line.first_day) - line.first_day.replace(day=1)).days
    return round(line.cents * month_days / days)


def _unit(line: InvoiceLine, cur: str, enterprise: dict[int, int]) -> int:
    plan_id = PLANS[line.plan].plan_id
    if cur != "USD":
        return FOREIGN_PRICES[cur][plan_id]
    if plan_id == "enterprise":
        return enterprise[line.customer]
    return _list_cents(line.plan)


def _list_cents(plan: int) -> int:
    return round(PLANS[plan].price_per_month_usd * 100)


def _prorated_cents(plan: int, first_day: dt.date, last_day: dt.date) -> int:
    """The export's amount for a plan over these days (billing.plan_invoices' rounding)."""
    days_in = (_next_month(first_day) - first_day.replace(day=1)).days
    share = ((last_day - first_day).days + 1) / days_in
    return round(round(PLANS[plan].price_per_month_usd * share, 2) * 100)


def _charge(line: InvoiceLine, cur: str, enterprise: dict[int, int]) -> int:
    """The line amount: the export's amount (USD), else the whole-month foreign price."""
    if cur == "USD":
        return line.cents
    return FOREIGN_PRICES[cur][PLANS[line.plan].plan_id]


def _tax(line: Line) -> None:
    if line.currency in VAT:
        line.tax_behavior = VAT[line.currency][0]
        line.tax = _vat(line.amount, line.currency)


def _vat(amount: int, cur: str) -> int:
    behavior, pct = VAT[cur]
    if behavior == "exclusive":
        return round(amount * pct / 100)
    return round(amount * pct / (100 + pct))


def _anchor_time(pop: Population, c: int) -> dt.time:
    return pop.customer_signup[c].timetz()


def _at(day: dt.date, anchor: dt.time, signup: dt.datetime | None) -> dt.datetime:
    """``day`` at the subscription's time of day; the signup itself on the signup day."""
    if signup is not None and signup.date() == day:
        return signup
    return dt.datetime.combine(day, anchor).astimezone(dt.UTC)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _next_label(month: str) -> str:
    year, mon = (int(x) for x in month.split("-"))
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def _row(doc: str, customer: str, month: str, plan: int, minor: int, cur: str, status: str):
    major = f"{'-' if minor < 0 else ''}{abs(minor) // 100}.{abs(minor) % 100:02d}"
    return {
        "invoice_id": doc,
        "customer_id": customer,
        "invoice_month": month,
        "plan_id": PLANS[plan].plan_id,
        "amount_usd": major if cur == "USD" else "",
        "status": status,
        "currency": cur,
        "amount": major,
    }
