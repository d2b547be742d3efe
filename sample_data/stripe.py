"""The revenue plan written as Stripe API objects into ``landing/stripe/``.

The objects have the shapes the Stripe API returns (API version ``2026-10-28.endive``, the
shapes of ``tests/fixtures/stripe/``): amounts are integers in the currency's minor unit,
timestamps Unix seconds, currencies lower case. Files:

* ``customers-page-<n>.json``: list pages of ``GET /v1/customers`` (newest first, chained by
  ``has_more``); ``metadata.llm_margin_customer_id`` is the generated customer id, UTM keys as
  the CSV export has them;
* ``products.jsonl``, ``prices.jsonl``: one object per line; a product per plan
  (``metadata.llm_margin_plan_id`` and the plan's other attributes; ``default_price`` its USD list
  price), prices in USD (list and negotiated enterprise contracts), EUR and GBP;
* ``subscriptions-page-<n>.json``: one subscription per billed customer, its item priced at the
  customer's current plan;
* ``invoices-page-<n>.json``: list pages of ``GET /v1/invoices?expand[]=data.payments``, lines
  embedded;
* ``credit_notes.jsonl`` and ``refunds.json``.

What is in them, and why, is ``sample_data/revenue.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from .catalog import PLANS
from .ids import render_id, render_ids
from .population import Population
from .revenue import FOREIGN_PRICES, VAT, CreditNote, Invoice, Line, Refund, RevenuePlan

PAGE_SIZE = {"customers": 25, "subscriptions": 100, "invoices": 100}
ACCOUNT = ("US", "LLM Margin Demo Co")
SYMBOL = {"USD": "$", "EUR": "€", "GBP": "£"}


def stripe_customer_ids(n_customers: int, key: int) -> list[str]:
    """Stripe's own customer ids (``cus_`` + 14 characters), distinct from llm-margin's."""
    return render_ids(np.arange(n_customers), "cus_", key ^ 0x5354524950450001, 14).to_pylist()


def write_stripe(
    directory: Path,
    plan: RevenuePlan,
    pop: Population,
    customer_ids: list[str],
    current_plan: np.ndarray,
    last_month_start: dt.date,
    key: int,
) -> list[Path]:
    """Write the Stripe objects of ``plan``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    w = _Writer(plan, pop, customer_ids, current_plan, last_month_start, key)
    files: list[Path] = []
    files += _pages(directory, "customers", "/v1/customers", w.customers())
    files.append(_jsonl(directory / "products.jsonl", w.products()))
    files.append(_jsonl(directory / "prices.jsonl", list(w.prices.values())))
    files += _pages(directory, "subscriptions", "/v1/subscriptions", w.subscriptions())
    invoices = sorted(plan.invoices, key=lambda i: (i.created, i.invoice_id), reverse=True)
    files += _pages(directory, "invoices", "/v1/invoices", [w.invoice(i) for i in invoices])
    files.append(
        _jsonl(directory / "credit_notes.jsonl", [w.credit_note(n) for n in plan.credit_notes])
    )
    refunds = sorted(plan.refunds, key=lambda r: r.created, reverse=True)
    files.append(
        _page_file(directory / "refunds.json", "/v1/refunds", [w.refund(r) for r in refunds], False)
    )
    return files


class _Writer:
    def __init__(self, plan, pop, customer_ids, current_plan, last_month_start, key) -> None:
        self.plan = plan
        self.pop = pop
        self.customer_ids = customer_ids
        self.current_plan = current_plan
        self.last_month_start = last_month_start
        self.key = key
        self.stripe_ids = stripe_customer_ids(pop.n_customers, key)
        self.prices: dict[tuple[int, str, int], dict] = {}
        for p, plan_def in enumerate(PLANS):
            self._price(p, "USD", round(plan_def.price_per_month_usd * 100))
        for cur, by_plan in FOREIGN_PRICES.items():
            for plan_id, unit in by_plan.items():
                self._price(_plan_index(plan_id), cur, unit)
        for c in sorted(plan.enterprise_prices):
            self._price(int(pop.customer_plan[c]), "USD", plan.enterprise_prices[c])
        self.numbers: dict[str, int] = {}  # invoice id -> its number for the customer
        counts: dict[int, int] = defaultdict(int)
        for inv in sorted(plan.invoices, key=lambda i: (i.created, i.payment_key)):
            counts[inv.customer] += 1
            self.numbers[inv.invoice_id] = counts[inv.customer]
        self.credited: dict[str, int] = defaultdict(int)
        for note in plan.credit_notes:
            self.credited[note.invoice.invoice_id] += note.total

    # -- ids -------------------------------------------------------------------------------------
    def _id(self, prefix: str, n: int, width: int = 16) -> str:
        tweak = int.from_bytes(prefix.encode().ljust(8, b"_")[:8], "big")
        return render_id(n, prefix, self.key ^ tweak, width)

    def sub_id(self, c: int) -> str:
        return self._id("sub_", c)

    def item_id(self, c: int) -> str:
        return self._id("si_", c, 14)

    def payment_intent(self, inv: Invoice) -> str:
        return self._id("pi_", inv.payment_key)

    def charge(self, inv: Invoice) -> str:
        return self._id("ch_", inv.payment_key)

    # -- catalog ---------------------------------------------------------------------------------
    def products(self) -> list[dict]:
        return [self._product(p) for p in range(len(PLANS))]

    def _product(self, p: int) -> dict:
        plan = PLANS[p]
        created = _ts(dt.datetime(2025, 1, 6, 9, 0, p, tzinfo=dt.UTC))
        return {
            "id": self._product_id(p),
            "object": "product",
            "active": True,
            "created": created,
            "default_price": self.prices[(p, "USD", round(plan.price_per_month_usd * 100))]["id"],
            "description": None,
            "images": [],
            "livemode": False,
            "marketing_features": [],
            "metadata": {
                "llm_margin_plan_id": plan.plan_id,
                "llm_margin_target_gross_margin_pct": f"{plan.target_gross_margin_pct:g}",
                "llm_margin_included_tasks": str(plan.included_tasks),
                "llm_margin_overage_per_task_usd": f"{plan.overage_per_task_usd:g}",
                "llm_margin_seats_included": str(plan.seats_included),
            },
            "name": f"LLM Margin {plan.plan_name}",
            "package_dimensions": None,
            "shippable": None,
            "statement_descriptor": None,
            "tax_code": None,
            "type": "service",
            "unit_label": None,
            "updated": created,
            "url": None,
        }

    def _product_id(self, p: int) -> str:
        return self._id("prod_", p, 14)

    def _price(self, p: int, cur: str, unit: int) -> dict:
        found = self.prices.get((p, cur, unit))
        if found is not None:
            return found
        plan = PLANS[p]
        listed = cur != "USD" or unit == round(plan.price_per_month_usd * 100)
        price = {
            "id": self._id("price_", len(self.prices), 24),
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "created": _ts(dt.datetime(2025, 1, 6, 9, 5, tzinfo=dt.UTC)),
            "currency": cur.lower(),
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": f"{plan.plan_id}_{cur.lower()}_monthly" if listed else None,
            "metadata": {},
            "nickname": None if listed else f"{plan.plan_name} contract {unit // 100}",
            "product": self._product_id(p),
            "recurring": {
                "interval": "month",
                "interval_count": 1,
                "meter": None,
                "usage_type": "licensed",
            },
            "tax_behavior": VAT[cur][0] if cur in VAT else "exclusive",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "recurring",
            "unit_amount": unit,
            "unit_amount_decimal": str(unit),
        }
        self.prices[(p, cur, unit)] = price
        return price

    def _customer_price(self, c: int) -> dict:
        p = int(self.current_plan[c])
        cur = self.plan.currency.get(c, "USD")
        if cur != "USD":
            return self._price(p, cur, FOREIGN_PRICES[cur][PLANS[p].plan_id])
        unit = self.plan.enterprise_prices.get(c, round(PLANS[p].price_per_month_usd * 100))
        return self._price(p, cur, unit)

    # -- customers and subscriptions -------------------------------------------------------------
    def customers(self) -> list[dict]:
        out = []
        for c in range(self.pop.n_customers):
            source, medium, campaign = self.pop.utm[c]
            metadata = {"llm_margin_customer_id": self.customer_ids[c]}
            for name, value in (
                ("utm_source", source),
                ("utm_medium", medium),
                ("utm_campaign", campaign),
            ):
                if value:
                    metadata[name] = value
            name = self.pop.customer_name[c]
            slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20] or "customer"
            sid = self.stripe_ids[c]
            out.append(
                {
                    "id": sid,
                    "object": "customer",
                    "address": None,
                    "balance": 0,
                    "created": _ts(self.pop.customer_signup[c]),
                    "currency": self.plan.currency.get(c, "USD").lower(),
                    "default_source": None,
                    "delinquent": False,
                    "description": None,
                    "discount": None,
                    "email": f"billing@{slug}.example",
                    "invoice_prefix": sid[4:12].upper(),
                    "invoice_settings": {
                        "custom_fields": None,
                        "default_payment_method": None,
                        "footer": None,
                        "rendering_options": None,
                    },
                    "livemode": False,
                    "metadata": metadata,
                    "name": name,
                    "phone": None,
                    "preferred_locales": [],
                    "shipping": None,
                    "tax_exempt": "none",
                    "test_clock": None,
                }
            )
        out.sort(key=lambda o: (o["created"], o["id"]), reverse=True)
        return out

    def subscriptions(self) -> list[dict]:
        out = []
        for c in range(self.pop.n_customers):
            signup = self.pop.customer_signup[c]
            anchor_day = signup.date() if signup.day == 1 else _next_month(signup.date())
            anchor = dt.datetime.combine(anchor_day, signup.timetz())
            period_day = max(self.last_month_start, signup.date())
            period_start = (
                signup
                if period_day == signup.date()
                else dt.datetime.combine(period_day, signup.timetz())
            )
            period_end = dt.datetime.combine(_next_month(period_day), signup.timetz())
            cur = self.plan.currency.get(c, "USD")
            out.append(
                {
                    "id": self.sub_id(c),
                    "object": "subscription",
                    "billing_cycle_anchor": _ts(anchor),
                    "cancel_at": None,
                    "cancel_at_period_end": False,
                    "canceled_at": None,
                    "collection_method": "charge_automatically",
                    "created": _ts(signup),
                    "currency": cur.lower(),
                    "customer": self.stripe_ids[c],
                    "days_until_due": None,
                    "default_payment_method": None,
                    "description": None,
                    "discounts": [],
                    "ended_at": None,
                    "items": {
                        "object": "list",
                        "data": [
                            {
                                "id": self.item_id(c),
                                "object": "subscription_item",
                                "created": _ts(signup),
                                "current_period_end": _ts(period_end),
                                "current_period_start": _ts(period_start),
                                "discounts": [],
                                "metadata": {},
                                "price": self._customer_price(c),
                                "quantity": 1,
                                "subscription": self.sub_id(c),
                                "tax_rates": [],
                            }
                        ],
                        "has_more": False,
                        "url": f"/v1/subscription_items?subscription={self.sub_id(c)}",
                    },
                    "latest_invoice": None,
                    "livemode": False,
                    "metadata": {},
                    "start_date": _ts(signup),
                    "status": "active",
                    "test_clock": None,
                    "trial_end": None,
                    "trial_start": None,
                }
            )
        out.sort(key=lambda o: (o["created"], o["id"]), reverse=True)
        return out

    # -- invoices --------------------------------------------------------------------------------
    def invoice(self, inv: Invoice) -> dict:
        c = inv.customer
        created = _ts(inv.created)
        total = inv.total
        paid = inv.status == "paid"
        paid_at = created + 6 if paid else None
        lines = [self._line(inv, line) for line in inv.lines]
        discounts = [
            (line.discount, self._discount_id(line)) for line in inv.lines if line.discount
        ]
        credited = self.credited.get(inv.invoice_id, 0)
        return {
            "id": inv.invoice_id,
            "object": "invoice",
            "account_country": ACCOUNT[0],
            "account_name": ACCOUNT[1],
            "amount_due": total,
            "amount_overpaid": 0,
            "amount_paid": total if paid else 0,
            "amount_remaining": total if inv.status in ("open", "uncollectible") else 0,
            "amount_shipping": 0,
            "attempt_count": 1,
            "attempted": True,
            "auto_advance": inv.status == "open",
            "billing_reason": inv.billing_reason,
            "collection_method": "charge_automatically",
            "created": created,
            "currency": inv.currency.lower(),
            "customer": self.stripe_ids[c],
            "customer_email": None,
            "customer_name": None,
            "default_payment_method": None,
            "description": None,
            "discounts": [d for _, d in discounts],
            "due_date": None,
            "ending_balance": 0,
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "lines": {
                "object": "list",
                "data": lines,
                "has_more": False,
                "url": f"/v1/invoices/{inv.invoice_id}/lines",
                "total_count": len(lines),
            },
            "livemode": False,
            "metadata": {},
            "number": f"{self.stripe_ids[c][4:11].upper()}-{self.numbers[inv.invoice_id]:04d}",
            "parent": {
                "quote_details": None,
                "subscription_details": {"metadata": {}, "subscription": self.sub_id(c)},
                "type": "subscription_details",
            },
            "period_end": created,
            "period_start": created,
            "post_payment_credit_notes_amount": credited,
            "pre_payment_credit_notes_amount": 0,
            "starting_balance": 0,
            "status": inv.status,
            "status_transitions": {
                "finalized_at": created + 3600,
                "marked_uncollectible_at": created + 21 * 86400
                if inv.status == "uncollectible"
                else None,
                "paid_at": paid_at,
                "voided_at": created + 7200 if inv.status == "void" else None,
            },
            "subtotal": inv.subtotal,
            "subtotal_excluding_tax": sum(
                ln.amount - (ln.tax if ln.tax_behavior == "inclusive" else 0) for ln in inv.lines
            ),
            "total": total,
            "total_discount_amounts": [{"amount": a, "discount": d} for a, d in discounts],
            "total_excluding_tax": inv.total_excluding_tax,
            "total_pretax_credit_amounts": [_pretax_credit(a, d) for a, d in discounts],
            "total_taxes": _total_taxes(self, inv.lines),
            "payments": {
                "object": "list",
                "data": [self._payment(inv, paid_at)] if paid else [],
                "has_more": False,
                "url": "/v1/invoice_payments",
            },
        }

    def _discount_id(self, line: Line) -> str:
        return "di_" + line.line_id[3:]

    def _line(self, inv: Invoice, line: Line) -> dict:
        plan = PLANS[line.plan]
        price = self._price(line.plan, line.currency, line.unit_amount)
        c = inv.customer
        if line.invoice_item:
            on = line.start.strftime("%-d %b %Y")
            verb = "Unused" if line.amount < 0 else "Remaining"
            description = f"{verb} time on LLM Margin {plan.plan_name} after {on}"
            credited = line.credits_line
            parent = {
                "type": "invoice_item_details",
                "invoice_item_details": {
                    "invoice_item": "ii_" + line.line_id[3:],
                    "proration": True,
                    "proration_details": {
                        "credited_items": None
                        if credited is None
                        else {
                            "invoice": self._invoice_of(credited),
                            "invoice_line_items": [credited.line_id],
                        }
                    },
                    "subscription": self.sub_id(c),
                },
                "subscription_item_details": None,
            }
        else:
            unit = f"{SYMBOL[line.currency]}{line.unit_amount // 100}.{line.unit_amount % 100:02d}"
            description = f"1 × LLM Margin {plan.plan_name} (at {unit} / month)"
            parent = {
                "type": "subscription_item_details",
                "invoice_item_details": None,
                "subscription_item_details": {
                    "invoice_item": None,
                    "proration": line.proration,
                    "proration_details": {"credited_items": None},
                    "subscription": self.sub_id(c),
                    "subscription_item": self.item_id(c),
                },
            }
        discount_id = self._discount_id(line)
        return {
            "id": line.line_id,
            "object": "line_item",
            "amount": line.amount,
            "currency": line.currency.lower(),
            "description": description,
            "discount_amounts": [{"amount": line.discount, "discount": discount_id}]
            if line.discount
            else [],
            "discountable": parent["type"] == "subscription_item_details",
            "discounts": [discount_id] if line.discount else [],
            "invoice": inv.invoice_id,
            "livemode": False,
            "metadata": {},
            "parent": parent,
            "period": {"end": _ts(line.end), "start": _ts(line.start)},
            "pretax_credit_amounts": [_pretax_credit(line.discount, discount_id)]
            if line.discount
            else [],
            "pricing": {
                "price_details": {"price": price["id"], "product": price["product"]},
                "type": "price_details",
                "unit_amount_decimal": str(line.unit_amount),
            },
            "quantity": 1,
            "subtotal": line.amount,
            "taxes": [self._tax(line.currency, line.tax, line.tax_behavior, _taxable(line))]
            if line.tax_behavior
            else [],
        }

    def _invoice_of(self, line: Line) -> str:
        for inv in self.plan.invoices:
            if any(ln is line for ln in inv.lines):
                return inv.invoice_id
        raise ValueError(f"line {line.line_id} is on no invoice")

    def _tax(self, cur: str, amount: int, behavior: str, taxable: int) -> dict:
        return {
            "amount": amount,
            "tax_behavior": behavior,
            "tax_rate_details": {"tax_rate": self._id("txr_", ("EUR", "GBP").index(cur), 20)},
            "taxability_reason": "standard_rated",
            "taxable_amount": taxable,
            "type": "tax_rate_details",
        }

    def _payment(self, inv: Invoice, paid_at: int) -> dict:
        return {
            "id": self._id("inpay_", inv.payment_key, 16),
            "object": "invoice_payment",
            "amount_paid": inv.total,
            "amount_requested": inv.total,
            "created": paid_at,
            "currency": inv.currency.lower(),
            "invoice": inv.invoice_id,
            "is_default": True,
            "livemode": False,
            "payment": {"payment_intent": self.payment_intent(inv), "type": "payment_intent"},
            "status": "paid",
            "status_transitions": {"canceled_at": None, "paid_at": paid_at},
        }

    # -- credit notes and refunds ----------------------------------------------------------------
    def credit_note(self, note: CreditNote) -> dict:
        inv = note.invoice
        created = _ts(note.created)
        taxes = [self._tax(inv.currency, note.tax, "exclusive", note.amount)] if note.tax else []
        return {
            "id": note.credit_note_id,
            "object": "credit_note",
            "amount": note.total,
            "amount_shipping": 0,
            "created": created,
            "currency": inv.currency.lower(),
            "customer": self.stripe_ids[inv.customer],
            "customer_balance_transaction": None,
            "discount_amount": 0,
            "discount_amounts": [],
            "effective_at": created,
            "invoice": inv.invoice_id,
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": "cnli_" + note.credit_note_id[3:],
                        "object": "credit_note_line_item",
                        "amount": note.amount,
                        "description": "Service credit: degraded service",
                        "discount_amount": 0,
                        "discount_amounts": [],
                        "invoice_line_item": note.line.line_id,
                        "livemode": False,
                        "metadata": {},
                        "pretax_credit_amounts": [],
                        "quantity": 1,
                        "tax_rates": [],
                        "taxes": taxes,
                        "type": "invoice_line_item",
                        "unit_amount": None,
                        "unit_amount_decimal": None,
                    }
                ],
                "has_more": False,
                "url": f"/v1/credit_notes/{note.credit_note_id}/lines",
                "total_count": 1,
            },
            "livemode": False,
            "memo": "Service credit for degraded service",
            "metadata": {},
            "number": f"{self.stripe_ids[inv.customer][4:11].upper()}-CN-01",
            "out_of_band_amount": None,
            "pdf": "",
            "post_payment_amount": note.total,
            "pre_payment_amount": 0,
            "pretax_credit_amounts": [],
            "reason": "order_change",
            "refunds": [
                {
                    "amount_refunded": note.total,
                    "payment_record_refund": None,
                    "refund": note.refund_id,
                    "type": "refund",
                }
            ],
            "status": "issued",
            "subtotal": note.amount,
            "subtotal_excluding_tax": note.amount,
            "total": note.total,
            "total_excluding_tax": note.amount,
            "total_taxes": taxes,
            "type": "post_payment",
            "voided_at": None,
        }

    def refund(self, refund: Refund) -> dict:
        inv = refund.invoice
        return {
            "id": refund.refund_id,
            "object": "refund",
            "amount": refund.amount,
            "balance_transaction": "txn_" + refund.refund_id[3:],
            "charge": self.charge(inv),
            "created": _ts(refund.created),
            "currency": inv.currency.lower(),
            "description": None,
            "destination_details": {
                "card": {
                    "reference_status": "pending",
                    "reference_type": "acquirer_reference_number",
                    "type": "refund",
                },
                "type": "card",
            },
            "metadata": {},
            "payment_intent": self.payment_intent(inv),
            "reason": None if refund.credit_note else "requested_by_customer",
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }


def _total_taxes(w: _Writer, lines: list[Line]) -> list[dict]:
    taxed = [ln for ln in lines if ln.tax_behavior]
    if not taxed:
        return []
    return [
        w._tax(
            taxed[0].currency,
            sum(ln.tax for ln in taxed),
            taxed[0].tax_behavior,
            sum(_taxable(ln) for ln in taxed),
        )
    ]


def _taxable(line: Line) -> int:
    return line.amount - line.tax if line.tax_behavior == "inclusive" else line.amount


def _pretax_credit(amount: int, discount: str) -> dict:
    return {
        "amount": amount,
        "credit_balance_transaction": None,
        "discount": discount,
        "type": "discount",
    }


def _plan_index(plan_id: str) -> int:
    return next(i for i, p in enumerate(PLANS) if p.plan_id == plan_id)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _ts(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _pages(directory: Path, name: str, url: str, objects: list[dict]) -> list[Path]:
    size = PAGE_SIZE[name]
    chunks = [objects[i : i + size] for i in range(0, len(objects), size)] or [[]]
    return [
        _page_file(directory / f"{name}-page-{n}.json", url, chunk, n < len(chunks))
        for n, chunk in enumerate(chunks, start=1)
    ]


def _page_file(path: Path, url: str, data: list[dict], has_more: bool) -> Path:
    page = {"object": "list", "data": data, "has_more": has_more, "url": url}
    return _atomic(path, json.dumps(page, ensure_ascii=False, indent=1) + "\n")


def _jsonl(path: Path, objects: list[dict]) -> Path:
    text = "".join(json.dumps(o, ensure_ascii=False, separators=(",", ":")) + "\n" for o in objects)
    return _atomic(path, text)


def _atomic(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
