"""Builds the hand-designed Stripe fixtures (helper script, not committed)."""
import json, os
from datetime import datetime, UTC

OUT = "/work/wt-stripe-prep/tests/fixtures/stripe"
os.makedirs(OUT + "/malformed", exist_ok=True)

def ts(s):  # "2025-12-01T09:12:44" UTC -> unix seconds
    return int(datetime.fromisoformat(s).replace(tzinfo=UTC).timestamp())

def page(url, data, has_more=False):
    return {"object": "list", "data": data, "has_more": has_more, "url": url}

def write_json(name, obj):
    with open(f"{OUT}/{name}", "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")

def write_jsonl(name, objs):
    with open(f"{OUT}/{name}", "w") as f:
        for o in objs:
            f.write(json.dumps(o, separators=(",", ":")) + "\n")

# ---------------------------------------------------------------- customers
def customer(cid, created, name, email, currency, metadata):
    return {
        "id": cid, "object": "customer", "address": None, "balance": 0,
        "created": ts(created), "currency": currency, "default_source": None,
        "delinquent": False, "description": None, "discount": None, "email": email,
        "invoice_prefix": cid[4:12].upper(), "invoice_settings": {"custom_fields": None,
        "default_payment_method": None, "footer": None, "rendering_options": None},
        "livemode": False, "metadata": metadata, "name": name, "phone": None,
        "preferred_locales": [], "shipping": None, "tax_exempt": "none", "test_clock": None,
    }

C_ACME = "cus_TfA1uSd9Kx2LmN"
C_GLOBEX = "cus_TfB7eUr4Qw8ZpR"
C_UMBRELLA = "cus_TfC3gBp6Hy1VtS"
C_INITECH = "cus_TfD5uNc2Jr7WxQ"
customers = [
    customer(C_ACME, "2025-11-20T14:03:11", "Acme Robotics Inc.", "billing@acme.example", "usd",
             {"llm_margin_customer_id": "cust_acme", "utm_source": "google", "utm_medium": "cpc",
              "utm_campaign": "launch-q4"}),
    customer(C_GLOBEX, "2025-12-15T10:41:27", "Globex GmbH", "rechnung@globex.example", "eur",
             {"llm_margin_customer_id": "cust_globex", "utm_source": "newsletter", "utm_medium": "email"}),
    customer(C_UMBRELLA, "2025-12-28T08:15:00", "Umbrella Analytics Ltd", "accounts@umbrella.example", "gbp", {}),
    customer(C_INITECH, "2025-11-28T17:22:40", "Initech LLC", "ap@initech.example", "usd",
             {"llm_margin_customer_id": "cust_initech", "utm_source": "partner", "utm_medium": "referral",
              "utm_campaign": "reseller-2025"}),
]
write_json("customers-page-1.json", {**page("/v1/customers", customers[:2], has_more=True)})
write_json("customers-page-2.json", page("/v1/customers", customers[2:]))

# ---------------------------------------------------------------- products, prices
P_STARTER, P_PRO = "prod_TfStarter0001", "prod_TfPro00000002"
def product(pid, name, created, meta):
    return {"id": pid, "object": "product", "active": True, "created": ts(created),
            "default_price": None, "description": None, "images": [], "livemode": False,
            "marketing_features": [], "metadata": meta, "name": name, "package_dimensions": None,
            "shippable": None, "statement_descriptor": None, "tax_code": None, "type": "service",
            "unit_label": None, "updated": ts(created), "url": None}
products = [
    product(P_STARTER, "LLM Margin Starter", "2025-11-01T09:00:00",
            {"llm_margin_plan_id": "starter", "llm_margin_target_gross_margin_pct": "70"}),
    product(P_PRO, "LLM Margin Pro", "2025-11-01T09:00:05",
            {"llm_margin_plan_id": "pro", "llm_margin_target_gross_margin_pct": "75"}),
]
write_jsonl("products.jsonl", products)

PR_STARTER_USD = "price_1SfStarterUsd004900"
PR_PRO_USD = "price_1SfProUsd000019900"
PR_PRO_EUR = "price_1SfProEur000015500"
PR_STARTER_GBP = "price_1SfStarterGbp003600"
def price(prid, product_id, currency, unit_amount, tax_behavior, lookup_key):
    return {"id": prid, "object": "price", "active": True, "billing_scheme": "per_unit",
            "created": ts("2025-11-01T09:05:00"), "currency": currency, "custom_unit_amount": None,
            "livemode": False, "lookup_key": lookup_key, "metadata": {}, "nickname": None,
            "product": product_id, "recurring": {"interval": "month", "interval_count": 1,
            "meter": None, "usage_type": "licensed"}, "tax_behavior": tax_behavior,
            "tiers_mode": None, "transform_quantity": None, "type": "recurring",
            "unit_amount": unit_amount, "unit_amount_decimal": str(unit_amount)}
prices = [
    price(PR_STARTER_USD, P_STARTER, "usd", 4900, "exclusive", "starter_usd_monthly"),
    price(PR_PRO_USD, P_PRO, "usd", 19900, "exclusive", "pro_usd_monthly"),
    price(PR_PRO_EUR, P_PRO, "eur", 15500, "exclusive", "pro_eur_monthly"),
    price(PR_STARTER_GBP, P_STARTER, "gbp", 3600, "inclusive", "starter_gbp_monthly"),
]
write_jsonl("prices.jsonl", prices)
price_by_id = {p["id"]: p for p in prices}

# ---------------------------------------------------------------- subscriptions (basil+: periods on items)
def subscription(sid, cust, currency, created, start, item_id, prid, period_start, period_end,
                 status="active", canceled_at=None, ended_at=None):
    return {"id": sid, "object": "subscription", "billing_cycle_anchor": ts(start),
            "cancel_at": None, "cancel_at_period_end": False, "canceled_at": canceled_at,
            "collection_method": "charge_automatically", "created": ts(created), "currency": currency,
            "customer": cust, "days_until_due": None, "default_payment_method": None,
            "description": None, "discounts": [], "ended_at": ended_at,
            "items": page(f"/v1/subscription_items?subscription={sid}", [{
                "id": item_id, "object": "subscription_item", "created": ts(created),
                "current_period_end": ts(period_end), "current_period_start": ts(period_start),
                "discounts": [], "metadata": {}, "price": price_by_id[prid], "quantity": 1,
                "subscription": sid, "tax_rates": []}]),
            "latest_invoice": None, "livemode": False, "metadata": {}, "start_date": ts(start),
            "status": status, "test_clock": None, "trial_end": None, "trial_start": None}

S_ACME, SI_ACME = "sub_1SfAcme00000000001", "si_TfAcme000000001"
S_GLOBEX, SI_GLOBEX = "sub_1SfGlobex000000001", "si_TfGlobex0000001"
S_UMBRELLA, SI_UMBRELLA = "sub_1SfUmbrella0000001", "si_TfUmbrella00001"
S_INITECH, SI_INITECH = "sub_1SfInitech00000001", "si_TfInitech000001"
subs = [
    # after the plan change of 2026-01-16 the item carries the Pro price
    subscription(S_ACME, C_ACME, "usd", "2025-12-01T09:12:44", "2025-12-01T09:12:44", SI_ACME,
                 PR_PRO_USD, "2026-02-01T09:12:44", "2026-03-01T09:12:44"),
    subscription(S_GLOBEX, C_GLOBEX, "eur", "2025-12-15T10:45:00", "2025-12-15T10:45:00", SI_GLOBEX,
                 PR_PRO_EUR, "2026-01-15T10:45:00", "2026-02-15T10:45:00"),
    subscription(S_UMBRELLA, C_UMBRELLA, "gbp", "2026-01-01T08:30:00", "2026-01-01T08:30:00", SI_UMBRELLA,
                 PR_STARTER_GBP, "2026-03-01T08:30:00", "2026-04-01T08:30:00"),
    subscription(S_INITECH, C_INITECH, "usd", "2025-12-01T17:30:00", "2025-12-01T17:30:00", SI_INITECH,
                 PR_STARTER_USD, "2026-02-01T17:30:00", "2026-03-01T17:30:00", status="canceled",
                 canceled_at=ts("2026-02-03T12:00:00"), ended_at=ts("2026-02-03T12:00:00")),
]
write_json("subscriptions.json", page("/v1/subscriptions", subs))

# ---------------------------------------------------------------- invoices, basil+ shape
def tax(amount, behavior, taxable, rate):
    return {"amount": amount, "tax_behavior": behavior, "tax_rate_details": {"tax_rate": rate},
            "taxability_reason": "standard_rated", "taxable_amount": taxable, "type": "tax_rate_details"}

def line(lid, inv, cur, amount, desc, prid, start, end, *, sub, si=None, proration=False,
         invoice_item=None, discounts=(), taxes=(), credited=None, discountable=True):
    p = price_by_id[prid]
    if invoice_item:
        parent = {"type": "invoice_item_details", "invoice_item_details": {
            "invoice_item": invoice_item, "proration": proration,
            "proration_details": {"credited_items": credited}, "subscription": sub},
            "subscription_item_details": None}
    else:
        parent = {"type": "subscription_item_details", "invoice_item_details": None,
                  "subscription_item_details": {"invoice_item": None, "proration": proration,
                  "proration_details": {"credited_items": None}, "subscription": sub,
                  "subscription_item": si}}
    return {"id": lid, "object": "line_item", "amount": amount, "currency": cur,
            "description": desc, "discount_amounts": [{"amount": a, "discount": d} for a, d in discounts],
            "discountable": discountable, "discounts": [d for _, d in discounts], "invoice": inv,
            "livemode": False, "metadata": {}, "parent": parent,
            "period": {"end": ts(end), "start": ts(start)},
            "pretax_credit_amounts": [{"amount": a, "credit_balance_transaction": None, "discount": d,
                                       "type": "discount"} for a, d in discounts],
            "pricing": {"price_details": {"price": prid, "product": p["product"]},
                        "type": "price_details", "unit_amount_decimal": p["unit_amount_decimal"]},
            "quantity": 1, "subtotal": amount, "taxes": list(taxes)}

def invoice(iid, number, cust, cur, created, status, lines, *, sub, billing_reason="subscription_cycle",
            payments=None, paid_at=None, voided_at=None, uncollectible_at=None, post_cn=0):
    excl_tax = sum(t["amount"] for l in lines for t in l["taxes"] if t["tax_behavior"] == "exclusive")
    all_tax = sum(t["amount"] for l in lines for t in l["taxes"])
    disc = sum(d["amount"] for l in lines for d in l["discount_amounts"])
    subtotal = sum(l["amount"] for l in lines)
    total = subtotal - disc + excl_tax
    disc_by = {}
    for l in lines:
        for d in l["discount_amounts"]:
            disc_by[d["discount"]] = disc_by.get(d["discount"], 0) + d["amount"]
    taxes_by = {}
    for l in lines:
        for t in l["taxes"]:
            k = (t["tax_rate_details"]["tax_rate"], t["tax_behavior"])
            a, b = taxes_by.get(k, (0, 0))
            taxes_by[k] = (a + t["amount"], b + t["taxable_amount"])
    paid = total if status == "paid" else 0
    due = total if status != "draft" else 0
    inv = {
        "id": iid, "object": "invoice", "account_country": "US", "account_name": "LLM Margin Demo Co",
        "amount_due": due, "amount_overpaid": 0, "amount_paid": paid,
        "amount_remaining": due - paid if status in ("open", "uncollectible") else 0,
        "amount_shipping": 0, "attempt_count": 1 if status != "draft" else 0,
        "attempted": status != "draft", "auto_advance": status == "open",
        "billing_reason": billing_reason, "collection_method": "charge_automatically",
        "created": ts(created), "currency": cur, "customer": cust, "customer_email": None,
        "customer_name": None, "default_payment_method": None, "description": None, "discounts": [],
        "due_date": None, "ending_balance": 0, "hosted_invoice_url": None, "invoice_pdf": None,
        "lines": page(f"/v1/invoices/{iid}/lines", lines) | {"total_count": len(lines)},
        "livemode": False, "metadata": {}, "number": number,
        "parent": {"quote_details": None, "subscription_details": {"metadata": {}, "subscription": sub},
                   "type": "subscription_details"},
        "period_end": ts(created), "period_start": ts(created),
        "post_payment_credit_notes_amount": post_cn, "pre_payment_credit_notes_amount": 0,
        "starting_balance": 0, "status": status,
        "status_transitions": {"finalized_at": ts(created) + 3600 if status != "draft" else None,
                               "marked_uncollectible_at": uncollectible_at, "paid_at": paid_at,
                               "voided_at": voided_at},
        "subtotal": subtotal, "subtotal_excluding_tax": subtotal - (all_tax - excl_tax),
        "total": total,
        "total_discount_amounts": [{"amount": a, "discount": d} for d, a in disc_by.items()],
        "total_excluding_tax": subtotal - disc - (all_tax - excl_tax),
        "total_pretax_credit_amounts": [{"amount": a, "credit_balance_transaction": None, "discount": d,
                                         "type": "discount"} for d, a in disc_by.items()],
        "total_taxes": [{"amount": a, "tax_behavior": b, "tax_rate_details": {"tax_rate": r},
                         "taxability_reason": "standard_rated", "taxable_amount": ta,
                         "type": "tax_rate_details"} for (r, b), (a, ta) in taxes_by.items()],
    }
    if payments is not None:
        inv["payments"] = page("/v1/invoice_payments", payments)
    return inv

def payment(pid, iid, cur, amount, pi, at):
    return {"id": pid, "object": "invoice_payment", "amount_paid": amount, "amount_requested": amount,
            "created": ts(at), "currency": cur, "invoice": iid, "is_default": True, "livemode": False,
            "payment": {"payment_intent": pi, "type": "payment_intent"}, "status": "paid",
            "status_transitions": {"canceled_at": None, "paid_at": ts(at)}}

DISC = "di_1SgAcmeWelcome20pct01"
TXR_DE = "txr_1SfDeVat19pct000001"
TXR_UK = "txr_1SfUkVat20pct000001"
inv = []
# --- acme, USD
inv.append(invoice("in_1SfAcme0000000000000001", "TFA1USD-0001", C_ACME, "usd", "2025-12-01T09:12:44", "paid",
    [line("il_1SfAcme00000000000000a1", "in_1SfAcme0000000000000001", "usd", 4900, "1 × LLM Margin Starter (at $49.00 / month)",
          PR_STARTER_USD, "2025-12-01T09:12:44", "2026-01-01T09:12:44", sub=S_ACME, si=SI_ACME)],
    sub=S_ACME, billing_reason="subscription_create", paid_at=ts("2025-12-01T09:12:50"),
    payments=[payment("inpay_1SfAcme00000000001", "in_1SfAcme0000000000000001", "usd", 4900, "pi_3SfAcme0000000000000001", "2025-12-01T09:12:50")]))
inv.append(invoice("in_1SgAcme0000000000000002", "TFA1USD-0002", C_ACME, "usd", "2026-01-01T09:12:44", "paid",
    [line("il_1SgAcme00000000000000a2", "in_1SgAcme0000000000000002", "usd", 4900, "1 × LLM Margin Starter (at $49.00 / month)",
          PR_STARTER_USD, "2026-01-01T09:12:44", "2026-02-01T09:12:44", sub=S_ACME, si=SI_ACME,
          discounts=[(980, DISC)])],
    sub=S_ACME, paid_at=ts("2026-01-01T10:13:02"),
    payments=[payment("inpay_1SgAcme00000000002", "in_1SgAcme0000000000000002", "usd", 3920, "pi_3SgAcme0000000000000002", "2026-01-01T10:13:02")]))
inv.append(invoice("in_1ShAcme0000000000000003", "TFA1USD-0003", C_ACME, "usd", "2026-02-01T09:12:44", "paid",
    [line("il_1ShAcme00000000000000p1", "in_1ShAcme0000000000000003", "usd", -2529,
          "Unused time on LLM Margin Starter after 16 Jan 2026", PR_STARTER_USD,
          "2026-01-16T11:40:05", "2026-02-01T09:12:44", sub=S_ACME, proration=True,
          invoice_item="ii_1SgAcmeProrationCredit01", discountable=False,
          credited={"invoice": "in_1SgAcme0000000000000002", "invoice_line_items": ["il_1SgAcme00000000000000a2"]}),
     line("il_1ShAcme00000000000000p2", "in_1ShAcme0000000000000003", "usd", 10271,
          "Remaining time on LLM Margin Pro after 16 Jan 2026", PR_PRO_USD,
          "2026-01-16T11:40:05", "2026-02-01T09:12:44", sub=S_ACME, proration=True,
          invoice_item="ii_1SgAcmeProrationDebit001", discountable=False),
     line("il_1ShAcme00000000000000a3", "in_1ShAcme0000000000000003", "usd", 19900, "1 × LLM Margin Pro (at $199.00 / month)",
          PR_PRO_USD, "2026-02-01T09:12:44", "2026-03-01T09:12:44", sub=S_ACME, si=SI_ACME)],
    sub=S_ACME, paid_at=ts("2026-02-01T10:14:40"),
    payments=[payment("inpay_1ShAcme00000000003", "in_1ShAcme0000000000000003", "usd", 27642, "pi_3ShAcme0000000000000003", "2026-02-01T10:14:40")]))
# --- globex, EUR, 19 % VAT on top (exclusive)
inv.append(invoice("in_1SfGlobex00000000000001", "TFB7EUR-0001", C_GLOBEX, "eur", "2025-12-15T10:45:00", "paid",
    [line("il_1SfGlobex000000000000b1", "in_1SfGlobex00000000000001", "eur", 15500, "1 × LLM Margin Pro (at €155.00 / month)",
          PR_PRO_EUR, "2025-12-15T10:45:00", "2026-01-15T10:45:00", sub=S_GLOBEX, si=SI_GLOBEX,
          taxes=[tax(2945, "exclusive", 15500, TXR_DE)])],
    sub=S_GLOBEX, billing_reason="subscription_create", paid_at=ts("2025-12-15T10:45:09"),
    payments=[payment("inpay_1SfGlobex0000000001", "in_1SfGlobex00000000000001", "eur", 18445, "pi_3SfGlobex000000000000001", "2025-12-15T10:45:09")]))
inv.append(invoice("in_1SgGlobex00000000000002", "TFB7EUR-0002", C_GLOBEX, "eur", "2026-01-15T10:45:00", "paid",
    [line("il_1SgGlobex000000000000b2", "in_1SgGlobex00000000000002", "eur", 15500, "1 × LLM Margin Pro (at €155.00 / month)",
          PR_PRO_EUR, "2026-01-15T10:45:00", "2026-02-15T10:45:00", sub=S_GLOBEX, si=SI_GLOBEX,
          taxes=[tax(2945, "exclusive", 15500, TXR_DE)])],
    sub=S_GLOBEX, paid_at=ts("2026-01-15T11:45:31"), post_cn=3689,
    payments=[payment("inpay_1SgGlobex0000000002", "in_1SgGlobex00000000000002", "eur", 18445, "pi_3SgGlobex000000000000002", "2026-01-15T11:45:31")]))
# --- umbrella, GBP, price includes 20 % VAT (inclusive)
inv.append(invoice("in_1SgUmbrella000000000001", "TFC3GBP-0001", C_UMBRELLA, "gbp", "2026-01-01T08:30:00", "paid",
    [line("il_1SgUmbrella00000000000c1", "in_1SgUmbrella000000000001", "gbp", 3600, "1 × LLM Margin Starter (at £36.00 / month)",
          PR_STARTER_GBP, "2026-01-01T08:30:00", "2026-02-01T08:30:00", sub=S_UMBRELLA, si=SI_UMBRELLA,
          taxes=[tax(600, "inclusive", 3000, TXR_UK)])],
    sub=S_UMBRELLA, billing_reason="subscription_create", paid_at=ts("2026-01-01T08:30:07"),
    payments=[payment("inpay_1SgUmbrella00000001", "in_1SgUmbrella000000000001", "gbp", 3600, "pi_3SgUmbrella0000000000001", "2026-01-01T08:30:07")]))
inv.append(invoice("in_1ShUmbrella000000000002", "TFC3GBP-0002", C_UMBRELLA, "gbp", "2026-02-01T08:30:00", "paid",
    [line("il_1ShUmbrella00000000000c2", "in_1ShUmbrella000000000002", "gbp", 3600, "1 × LLM Margin Starter (at £36.00 / month)",
          PR_STARTER_GBP, "2026-02-01T08:30:00", "2026-03-01T08:30:00", sub=S_UMBRELLA, si=SI_UMBRELLA,
          taxes=[tax(600, "inclusive", 3000, TXR_UK)])],
    sub=S_UMBRELLA, paid_at=ts("2026-02-01T09:30:12"),
    payments=[payment("inpay_1ShUmbrella00000002", "in_1ShUmbrella000000000002", "gbp", 3600, "pi_3ShUmbrella0000000000002", "2026-02-01T09:30:12")]))
inv.append(invoice("in_1SiUmbrella000000000003", "TFC3GBP-0003", C_UMBRELLA, "gbp", "2026-03-01T08:30:00", "open",
    [line("il_1SiUmbrella00000000000c3", "in_1SiUmbrella000000000003", "gbp", 3600, "1 × LLM Margin Starter (at £36.00 / month)",
          PR_STARTER_GBP, "2026-03-01T08:30:00", "2026-04-01T08:30:00", sub=S_UMBRELLA, si=SI_UMBRELLA,
          taxes=[tax(600, "inclusive", 3000, TXR_UK)])],
    sub=S_UMBRELLA, payments=[]))
write_jsonl("invoices.jsonl", inv)

# ---------------------------------------------------------------- invoices, 2024-06-20 (pre-basil) shape
def legacy_line(lid, inv_id, amount, start, end):
    p = price_by_id[PR_STARTER_USD]
    return {"id": lid, "object": "line_item", "amount": amount, "amount_excluding_tax": amount,
            "currency": "usd", "description": "1 × LLM Margin Starter (at $49.00 / month)",
            "discount_amounts": [], "discountable": True, "discounts": [], "invoice": inv_id,
            "invoice_item": None, "livemode": False, "metadata": {},
            "period": {"end": ts(end), "start": ts(start)},
            "plan": {"id": PR_STARTER_USD, "object": "plan", "active": True, "amount": 4900,
                     "amount_decimal": "4900", "billing_scheme": "per_unit", "currency": "usd",
                     "interval": "month", "interval_count": 1, "product": P_STARTER, "usage_type": "licensed"},
            "price": p, "proration": False, "proration_details": {"credited_items": None},
            "quantity": 1, "subscription": S_INITECH, "subscription_item": SI_INITECH,
            "tax_amounts": [], "tax_rates": [], "type": "subscription",
            "unit_amount_excluding_tax": "4900"}

def legacy_invoice(iid, number, created, status, lid, start, end, *, paid_at=None, uncollectible_at=None,
                   voided_at=None, charge=None, pi=None):
    paid = 4900 if status == "paid" else 0
    return {"id": iid, "object": "invoice", "account_country": "US", "account_name": "LLM Margin Demo Co",
            "amount_due": 4900, "amount_paid": paid,
            "amount_remaining": 4900 - paid if status in ("open", "uncollectible") else 0,
            "amount_shipping": 0, "attempt_count": 1, "attempted": True, "auto_advance": False,
            "billing_reason": "subscription_cycle", "charge": charge,
            "collection_method": "charge_automatically", "created": ts(created), "currency": "usd",
            "customer": C_INITECH, "discount": None, "discounts": [], "ending_balance": 0,
            "lines": page(f"/v1/invoices/{iid}/lines", [legacy_line(lid, iid, 4900, start, end)]) | {"total_count": 1},
            "livemode": False, "metadata": {}, "number": number, "paid": status == "paid",
            "paid_out_of_band": False, "payment_intent": pi,
            "period_end": ts(created), "period_start": ts(created),
            "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0,
            "starting_balance": 0, "status": status,
            "status_transitions": {"finalized_at": ts(created) + 3600, "marked_uncollectible_at": uncollectible_at,
                                   "paid_at": paid_at, "voided_at": voided_at},
            "subscription": S_INITECH, "subscription_details": {"metadata": {}},
            "subtotal": 4900, "subtotal_excluding_tax": 4900, "tax": None, "total": 4900,
            "total_discount_amounts": [], "total_excluding_tax": 4900, "total_tax_amounts": []}

legacy = [
    legacy_invoice("in_1SfInitech0000000000001", "TFD5USD-0001", "2025-12-01T17:30:00", "paid",
                   "il_1SfInitech000000000000d1", "2025-12-01T17:30:00", "2026-01-01T17:30:00",
                   paid_at=ts("2025-12-01T17:30:06"), charge="ch_3SfInitech000000000000001",
                   pi="pi_3SfInitech000000000000001"),
    legacy_invoice("in_1SgInitech0000000000002", "TFD5USD-0002", "2026-01-01T17:30:00", "uncollectible",
                   "il_1SgInitech000000000000d2", "2026-01-01T17:30:00", "2026-02-01T17:30:00",
                   uncollectible_at=ts("2026-01-29T17:31:00"), pi="pi_3SgInitech000000000000002"),
    legacy_invoice("in_1ShInitech0000000000003", "TFD5USD-0003", "2026-02-01T17:30:00", "void",
                   "il_1ShInitech000000000000d3", "2026-02-01T17:30:00", "2026-03-01T17:30:00",
                   voided_at=ts("2026-02-03T12:00:00"), pi="pi_3ShInitech000000000000003"),
]
write_json("invoices-api-2024-06-20.json", page("/v1/invoices", legacy))

# ---------------------------------------------------------------- credit note (basil+), refunded
RE_CN = "re_3SgGlobex0000000000000CN1"
cn = {"id": "cn_1SgGlobex00000000000001", "object": "credit_note", "amount": 3689, "amount_shipping": 0,
      "created": ts("2026-01-22T15:02:10"), "currency": "eur", "customer": C_GLOBEX,
      "customer_balance_transaction": None, "discount_amount": 0, "discount_amounts": [],
      "effective_at": ts("2026-01-22T15:02:10"), "invoice": "in_1SgGlobex00000000000002",
      "lines": page("/v1/credit_notes/cn_1SgGlobex00000000000001/lines", [{
          "id": "cnli_1SgGlobex0000000000001", "object": "credit_note_line_item", "amount": 3100,
          "description": "Service credit: outage 19-20 Jan 2026", "discount_amount": 0,
          "discount_amounts": [], "invoice_line_item": "il_1SgGlobex000000000000b2", "livemode": False,
          "metadata": {}, "pretax_credit_amounts": [], "quantity": 1, "tax_rates": [],
          "taxes": [tax(589, "exclusive", 3100, TXR_DE)], "type": "invoice_line_item",
          "unit_amount": None, "unit_amount_decimal": None}]) | {"total_count": 1},
      "livemode": False, "memo": "Service credit for the outage of 19-20 Jan 2026", "metadata": {},
      "number": "TFB7EUR-0002-CN-01", "out_of_band_amount": None, "pdf": "", "post_payment_amount": 3689,
      "pre_payment_amount": 0, "pretax_credit_amounts": [], "reason": "order_change",
      "refunds": [{"amount_refunded": 3689, "payment_record_refund": None, "refund": RE_CN, "type": "refund"}],
      "status": "issued", "subtotal": 3100, "subtotal_excluding_tax": 3100, "total": 3689,
      "total_excluding_tax": 3100, "total_taxes": [{"amount": 589, "tax_behavior": "exclusive",
      "tax_rate_details": {"tax_rate": TXR_DE}, "taxability_reason": "standard_rated",
      "taxable_amount": 3100, "type": "tax_rate_details"}], "type": "post_payment", "voided_at": None}
write_jsonl("credit_notes.jsonl", [cn])

# ---------------------------------------------------------------- refunds
def refund(rid, amount, cur, created, charge, pi, reason, metadata=None):
    return {"id": rid, "object": "refund", "amount": amount, "balance_transaction": "txn_" + rid[3:],
            "charge": charge, "created": ts(created), "currency": cur, "description": None,
            "destination_details": {"card": {"reference_status": "pending", "reference_type": "acquirer_reference_number",
                                             "type": "refund"}, "type": "card"},
            "metadata": metadata or {}, "payment_intent": pi, "reason": reason,
            "receipt_number": None, "source_transfer_reversal": None, "status": "succeeded",
            "transfer_reversal": None}
refunds = [
    # the refund the credit note above paid out: already netted by the credit note
    refund(RE_CN, 3689, "eur", "2026-01-22T15:02:11", "ch_3SgGlobex000000000000002",
           "pi_3SgGlobex000000000000002", None),
    # a refund made on the payment directly (Dashboard "Refund payment"), no credit note
    refund("re_3ShUmbrella000000000000R1", 1200, "gbp", "2026-02-10T13:20:00", "ch_3ShUmbrella0000000000002",
           "pi_3ShUmbrella0000000000002", "requested_by_customer"),
]
write_json("refunds.json", page("/v1/refunds", refunds))

# ---------------------------------------------------------------- malformed
M = OUT + "/malformed"
good = invoice("in_1SgMalformed00000000001", "TFMAL-0001", C_ACME, "usd", "2026-01-05T12:00:00", "paid",
    [line("il_1SgMalformed0000000000m1", "in_1SgMalformed00000000001", "usd", 1500, "Extra seats",
          PR_STARTER_USD, "2026-01-05T12:00:00", "2026-01-05T12:00:00", sub=None,
          invoice_item="ii_1SgMalformedSeats0001")], sub=None, billing_reason="manual",
    paid_at=ts("2026-01-05T12:00:30"))
good["parent"] = None
cut = json.dumps(inv[1], separators=(",", ":"))
with open(M + "/invoices-truncated.jsonl", "w") as f:
    f.write(json.dumps(good, separators=(",", ":")) + "\n")
    f.write(cut[: len(cut) // 2])  # the download stopped mid-object; no final newline
with open(M + "/customers-truncated.json", "w") as f:
    text = json.dumps(page("/v1/customers", customers), indent=2)
    f.write(text[: int(len(text) * 0.6)])

def variant(base, iid, **changes):
    o = json.loads(json.dumps(base))
    o["id"] = iid
    o["lines"]["url"] = f"/v1/invoices/{iid}/lines"
    for l in o["lines"]["data"]:
        l["invoice"] = iid
    for k, v in changes.items():
        o[k] = v
    return o
no_customer = variant(good, "in_1SgMalformed00000000002", customer=None, number="TFMAL-0002")
non_integer = variant(good, "in_1SgMalformed00000000003", number="TFMAL-0003")
non_integer["lines"]["data"][0]["amount"] = 15.0 + 0.5  # dollars where cents are due
unknown_cur = variant(good, "in_1SgMalformed00000000004", currency="zzz", number="TFMAL-0004")
for l in unknown_cur["lines"]["data"]:
    l["currency"] = "zzz"
lines_cut = variant(good, "in_1SgMalformed00000000005", number="TFMAL-0005")
lines_cut["lines"]["has_more"] = True
lines_cut["lines"]["total_count"] = 14
string_amount = variant(good, "in_1SgMalformed00000000006", number="TFMAL-0006")
string_amount["lines"]["data"][0]["amount"] = "1500"
write_jsonl("malformed/invoices-bad.jsonl", [good, no_customer, non_integer, unknown_cur, lines_cut, string_amount])
print("ok")
