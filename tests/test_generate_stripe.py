"""The generator's revenue as Stripe objects: the API's shapes, the planted cases, and the same
revenue as the CSV form and the truth, worked out here from the written JSON."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sample_data import generate

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "stripe"
PARAMS = {"events": 3000, "days": 60, "customers": 40}
EXCLUSIVE, INCLUSIVE = "exclusive", "inclusive"
RETIRED = ("CYP", "EEK", "LTL", "LVL", "MTL", "ROL", "SIT", "SKK", "TRL", "HRK", "RUB")


# -- the data ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dirs(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("gen-stripe")
    csv_dir, stripe_dir = root / "csv", root / "stripe"
    generate(
        csv_dir,
        progress=False,
        traces_dir=root / "no-traces-here",
        billing="both",
        stripe_data_dir=stripe_dir,
        **PARAMS,
    )
    return csv_dir, stripe_dir


@pytest.fixture(scope="module")
def landing(dirs) -> Path:
    return dirs[1] / "landing" / "stripe"


@pytest.fixture(scope="module")
def objects(landing: Path) -> dict[str, list[dict]]:
    """Every written object by its ``object`` field, whatever file holds it."""
    out: dict[str, list[dict]] = defaultdict(list)
    for path in sorted(landing.iterdir()):
        for obj in _read_objects(path):
            out[obj["object"]].append(obj)
    return out


@pytest.fixture(scope="module")
def summary(dirs) -> dict:
    return json.loads((dirs[0] / "truth" / "summary.json").read_text())


@pytest.fixture(scope="module")
def truth(dirs) -> dict[tuple[str, str, str], tuple[int, int, int]]:
    rows = pq.read_table(dirs[1] / "truth" / "revenue.parquet").to_pylist()
    return {
        (r["customer_id"], r["service_month"].strftime("%Y-%m"), r["currency"]): (
            r["revenue_minor"],
            r["open_minor"],
            r["uncollectible_minor"],
        )
        for r in rows
    }


def _read_objects(path: Path) -> list[dict]:
    if path.suffix == ".jsonl":
        items = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    else:
        items = [json.loads(path.read_text())]
    out = []
    for item in items:
        out += item["data"] if item.get("object") == "list" else [item]
    return out


def _csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# -- shapes, checked by hand (no stripe SDK) -----------------------------------------------------
INT, STR, BOOL, DICT, LIST = "<int>", "<str>", "<bool>", "<object>", "<list>"
OPT_INT, OPT_STR = "<int or null>", "<str or null>"


def _page(item_spec: dict) -> dict:
    return {"object": "list", "data": ("list", item_spec), "has_more": BOOL, "url": STR}


TAX = {"amount": INT, "tax_behavior": STR, "taxable_amount": INT, "tax_rate_details": DICT}
PRICE = {
    "id": STR,
    "object": "price",
    "product": STR,
    "currency": STR,
    "unit_amount": INT,
    "recurring": {"interval": STR, "interval_count": INT},
    "tax_behavior": STR,
    "active": BOOL,
    "type": STR,
}
SPECS: dict[str, dict] = {
    "customer": {
        "id": STR,
        "object": "customer",
        "created": INT,
        "currency": OPT_STR,
        "email": OPT_STR,
        "name": STR,
        "metadata": DICT,
        "balance": INT,
    },
    "product": {"id": STR, "object": "product", "name": STR, "metadata": DICT, "active": BOOL},
    "price": PRICE,
    "subscription": {
        "id": STR,
        "object": "subscription",
        "customer": STR,
        "status": STR,
        "created": INT,
        "currency": STR,
        "items": _page(
            {
                "id": STR,
                "object": "subscription_item",
                "price": PRICE,
                "quantity": INT,
                "current_period_start": INT,
                "current_period_end": INT,
            }
        ),
    },
    "invoice": {
        "id": STR,
        "object": "invoice",
        "customer": STR,
        "currency": STR,
        "status": STR,
        "created": INT,
        "billing_reason": STR,
        "subtotal": INT,
        "subtotal_excluding_tax": INT,
        "total": INT,
        "total_excluding_tax": INT,
        "amount_due": INT,
        "amount_paid": INT,
        "amount_remaining": INT,
        "post_payment_credit_notes_amount": INT,
        "status_transitions": {
            "finalized_at": OPT_INT,
            "paid_at": OPT_INT,
            "voided_at": OPT_INT,
            "marked_uncollectible_at": OPT_INT,
        },
        "parent": {"type": STR, "subscription_details": {"subscription": STR}},
        "total_taxes": ("list", TAX),
        "total_discount_amounts": ("list", {"amount": INT, "discount": STR}),
        "total_pretax_credit_amounts": ("list", {"amount": INT, "type": STR}),
        "lines": _page(
            {
                "id": STR,
                "object": "line_item",
                "amount": INT,
                "subtotal": INT,
                "currency": STR,
                "quantity": INT,
                "period": {"start": INT, "end": INT},
                "discount_amounts": ("list", {"amount": INT, "discount": STR}),
                "pretax_credit_amounts": ("list", {"amount": INT, "type": STR}),
                "taxes": ("list", TAX),
                "pricing": {"type": STR, "price_details": {"price": STR, "product": STR}},
                "parent": {"type": STR},
            }
        ),
        "payments": _page(
            {
                "id": STR,
                "object": "invoice_payment",
                "amount_paid": INT,
                "currency": STR,
                "invoice": STR,
                "status": STR,
                "payment": {"type": STR, "payment_intent": STR},
            }
        ),
    },
    "credit_note": {
        "id": STR,
        "object": "credit_note",
        "invoice": STR,
        "customer": STR,
        "currency": STR,
        "status": STR,
        "type": STR,
        "amount": INT,
        "total": INT,
        "total_excluding_tax": INT,
        "refunds": ("list", {"refund": STR, "amount_refunded": INT, "type": STR}),
        "lines": _page(
            {
                "id": STR,
                "type": STR,
                "invoice_line_item": STR,
                "amount": INT,
                "discount_amount": INT,
                "taxes": ("list", TAX),
            }
        ),
    },
    "refund": {
        "id": STR,
        "object": "refund",
        "amount": INT,
        "currency": STR,
        "status": STR,
        "charge": STR,
        "payment_intent": STR,
        "created": INT,
    },
}


def _problems(value, spec, where: str) -> list[str]:
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        out = []
        for key, sub in spec.items():
            if key not in value:
                out.append(f"{where}.{key}: missing")
            else:
                out += _problems(value[key], sub, f"{where}.{key}")
        return out
    if isinstance(spec, tuple):  # ("list", item spec): a list of such items
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [p for i, v in enumerate(value) for p in _problems(v, spec[1], f"{where}[{i}]")]
    kinds = {
        INT: lambda v: isinstance(v, int) and not isinstance(v, bool),
        STR: lambda v: isinstance(v, str),
        BOOL: lambda v: isinstance(v, bool),
        DICT: lambda v: isinstance(v, dict),
        LIST: lambda v: isinstance(v, list),
        OPT_INT: lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
        OPT_STR: lambda v: v is None or isinstance(v, str),
    }
    if spec in kinds:
        return [] if kinds[spec](value) else [f"{where}: {value!r} is not {spec}"]
    return [] if value == spec else [f"{where}: {value!r} is not {spec!r}"]


def test_the_hand_written_shapes_fit_the_stripe_fixtures() -> None:
    """The shape checks below are the fixtures' shapes: the current-API fixture files pass them."""
    seen = set()
    for name in ("customers-page-1.json", "customers-page-2.json", "products.jsonl",
                 "prices.jsonl", "subscriptions.json", "invoices.jsonl", "credit_notes.jsonl",
                 "refunds.json"):  # fmt: skip
        for obj in _read_objects(FIXTURES / name):
            seen.add(obj["object"])
            assert _problems(obj, SPECS[obj["object"]], obj["id"]) == []
    assert seen == set(SPECS)


def test_written_objects_have_the_fixture_shapes(objects: dict[str, list[dict]]) -> None:
    assert set(objects) == set(SPECS)
    problems = [
        p
        for kind, objs in objects.items()
        for o in objs
        for p in _problems(o, SPECS[kind], o["id"])
    ]
    assert problems == []
    for kind, objs in objects.items():
        ids = [o["id"] for o in objs]
        assert len(ids) == len(set(ids)), f"duplicate {kind} ids"


def test_every_number_is_an_integer(landing: Path) -> None:
    """Money in minor units and timestamps in seconds: no JSON number with a fraction."""

    def floats(value) -> int:
        if isinstance(value, float):
            return 1
        if isinstance(value, dict):
            return sum(floats(v) for v in value.values())
        if isinstance(value, list):
            return sum(floats(v) for v in value)
        return 0

    for path in landing.iterdir():
        texts = path.read_text().splitlines() if path.suffix == ".jsonl" else [path.read_text()]
        assert sum(floats(json.loads(t)) for t in texts if t.strip()) == 0, path.name


def test_list_pages_chain(landing: Path, objects: dict[str, list[dict]]) -> None:
    for name, url in (("customers", "/v1/customers"), ("invoices", "/v1/invoices")):
        pages = sorted(
            landing.glob(f"{name}-page-*.json"), key=lambda p: int(p.stem.split("-")[-1])
        )
        assert len(pages) >= 2, f"{name}: expected several pages"
        bodies = [json.loads(p.read_text()) for p in pages]
        assert [b["has_more"] for b in bodies] == [True] * (len(bodies) - 1) + [False]
        assert all(b["object"] == "list" and b["url"] == url and b["data"] for b in bodies)
        created = [o["created"] for b in bodies for o in b["data"]]
        assert created == sorted(created, reverse=True), f"{name}: not newest first"
    for inv in objects["invoice"]:
        assert inv["lines"]["has_more"] is False
        assert inv["lines"]["total_count"] == len(inv["lines"]["data"]) <= 10


def test_customers_carry_the_generated_ids_and_utm(dirs, objects) -> None:
    csv_customers = {
        r["customer_id"]: r for r in _csv(dirs[0] / "landing" / "billing" / "customers.csv")
    }
    by_id = {c["metadata"]["llm_margin_customer_id"]: c for c in objects["customer"]}
    assert set(by_id) == set(csv_customers)
    for cid, row in csv_customers.items():
        meta = by_id[cid]["metadata"]
        for key in ("utm_source", "utm_medium", "utm_campaign"):
            assert meta.get(key, "") == row[key]
        assert by_id[cid]["name"] == row["customer_name"]
        assert by_id[cid]["id"] != cid  # Stripe's own id
    plans = {p["metadata"]["llm_margin_plan_id"] for p in objects["product"]}
    assert plans >= {"starter", "pro", "enterprise"}
    assert {p["currency"] for p in objects["price"]} == {"usd", "eur", "gbp"}


def test_the_planted_cases_exist(objects, summary) -> None:
    invoices = {i["id"]: i for i in objects["invoice"]}
    customers = {c["id"]: c for c in objects["customer"]}
    cases = summary["parameters"]["stripe_cases"]

    def of(customer_id: str) -> list[dict]:
        stripe_id = next(
            c["id"] for c in customers.values()
            if c["metadata"]["llm_margin_customer_id"] == customer_id
        )  # fmt: skip
        return [i for i in invoices.values() if i["customer"] == stripe_id]

    eur = of(cases["eur_customer"])
    assert eur and all(i["currency"] == "eur" for i in eur)
    for inv in eur:
        taxes = [t for line in inv["lines"]["data"] for t in line["taxes"]]
        assert taxes and all(t["tax_behavior"] == EXCLUSIVE for t in taxes)
        assert inv["total"] == inv["total_excluding_tax"] + sum(t["amount"] for t in taxes)
    gbp = of(cases["gbp_customer"])
    assert gbp and all(i["currency"] == "gbp" for i in gbp)
    for inv in gbp:
        taxes = [t for line in inv["lines"]["data"] for t in line["taxes"]]
        assert taxes and all(t["tax_behavior"] == INCLUSIVE for t in taxes)
        assert (
            inv["total"]
            == inv["subtotal"]
            == inv["total_excluding_tax"] + sum(t["amount"] for t in taxes)
        )

    proration = invoices[cases["proration_invoice"]]
    pair = [ln for ln in proration["lines"]["data"] if _is_proration(ln)]
    assert len(pair) == 2 and sorted(ln["amount"] > 0 for ln in pair) == [False, True]
    assert pair[0]["period"] == pair[1]["period"]
    assert _day(pair[0]["period"]["start"]).day != 1  # mid-month
    credit = next(ln for ln in pair if ln["amount"] < 0)
    credited = credit["parent"]["invoice_item_details"]["proration_details"]["credited_items"]
    assert credited["invoice"] in invoices
    assert {ln["pricing"]["price_details"]["product"] for ln in pair} != {
        credit["pricing"]["price_details"]["product"]
    }  # two plans
    change = summary["parameters"]["plan_change"]
    assert _day(pair[0]["period"]["start"]).isoformat() == change["on"]

    assert invoices[cases["uncollectible_invoice"]]["status"] == "uncollectible"
    assert invoices[cases["void_invoice"]]["status"] == "void"
    discounted = invoices[cases["discount_invoice"]]
    assert discounted["total_discount_amounts"] and discounted["status"] == "paid"

    notes = {n["id"]: n for n in objects["credit_note"]}
    refunds = {r["id"]: r for r in objects["refund"]}
    note = notes[cases["credit_note"]]
    assert note["status"] == "issued" and invoices[note["invoice"]]["currency"] == "eur"
    assert [r["refund"] for r in note["refunds"]] and all(
        r["refund"] in refunds for r in note["refunds"]
    )
    direct = refunds[cases["direct_refund"]]
    assert direct["id"] not in {r["refund"] for n in notes.values() for r in n["refunds"]}
    assert direct["currency"] == "gbp"
    assert any(
        p["payment"]["payment_intent"] == direct["payment_intent"]
        for i in gbp
        for p in i["payments"]["data"]
    )


# -- revenue, worked out from the JSON (EXPECTED.md's rules; decisions: open is revenue) ---------
def _day(ts: int) -> dt.date:
    return dt.datetime.fromtimestamp(ts, dt.UTC).date()


def _is_proration(line: dict) -> bool:
    parent = line.get("parent") or {}
    details = parent.get("invoice_item_details") or parent.get("subscription_item_details") or {}
    return bool(details.get("proration", line.get("proration", False)))


def _net(line: dict) -> int:
    credits = line.get("pretax_credit_amounts")
    discount = sum(
        d["amount"] for d in (credits if credits is not None else line["discount_amounts"])
    )
    inclusive = sum(t["amount"] for t in line.get("taxes", []) if t["tax_behavior"] == INCLUSIVE)
    return line["amount"] - discount - inclusive


def _split(amount: int, start: int, end: int) -> list[tuple[dt.date, int]]:
    """(first date of the part, minor units) per month, by UTC days, cumulative floors."""
    first, last = _day(start), _day(end)
    n = (last - first).days
    if n == 0:
        return [(first, amount)]
    parts, done, cum, day = [], 0, 0, first
    while day < last:
        nxt = min(last, (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1))
        cum += (nxt - day).days
        upto = amount * cum // n
        parts.append((day, upto - done))
        done, day = upto, nxt
    return parts


def stripe_revenue(objs: dict[str, list[dict]]) -> tuple[dict, list[tuple[str, dt.date]]]:
    """(customer, YYYY-MM, CURRENCY) -> [revenue, open, uncollectible]; plus every part's
    (currency, service date)."""
    ids = {
        c["id"]: (c.get("metadata") or {}).get("llm_margin_customer_id") or c["id"]
        for c in objs["customer"]
    }
    sums: dict = defaultdict(lambda: [0, 0, 0])
    dates = []
    lines_by_id, invoice_by_pi = {}, {}
    for inv in objs["invoice"]:
        for line in inv["lines"]["data"]:
            lines_by_id[line["id"]] = (inv, line)
        for pay in inv.get("payments", {}).get("data", []):
            invoice_by_pi[pay["payment"]["payment_intent"]] = inv

    def add(inv, line, amount, slot):
        cur = inv["currency"].upper()
        for day, part in _split(amount, line["period"]["start"], line["period"]["end"]):
            sums[(ids[inv["customer"]], day.strftime("%Y-%m"), cur)][slot] += part
            dates.append((cur, day))
            if slot == 0 and inv["status"] == "open":
                sums[(ids[inv["customer"]], day.strftime("%Y-%m"), cur)][1] += part

    for inv in objs["invoice"]:
        slot = {"paid": 0, "open": 0, "uncollectible": 2}.get(inv["status"])
        if slot is None:
            continue
        for line in inv["lines"]["data"]:
            add(inv, line, _net(line), slot)
    via_notes = set()
    for note in objs.get("credit_note", []):
        via_notes |= {r["refund"] for r in note["refunds"]}
        if note["status"] != "issued":
            continue
        for cl in note["lines"]["data"]:
            inv, line = lines_by_id[cl["invoice_line_item"]]
            add(inv, line, -(cl["amount"] - cl["discount_amount"]), 0)
    for refund in objs.get("refund", []):
        if refund["status"] != "succeeded" or refund["id"] in via_notes:
            continue
        inv = invoice_by_pi[refund["payment_intent"]]
        taken = refund["amount"] * inv["total_excluding_tax"]
        assert taken % inv["total"] == 0, "refund does not split into whole minor units"
        net = taken // inv["total"]
        lines = inv["lines"]["data"]
        total_net = sum(_net(ln) for ln in lines)
        done = cum = 0
        for line in lines:
            cum += _net(line)
            upto = net * cum // total_net
            add(inv, line, -(upto - done), 0)
            done = upto
    return sums, dates


def test_the_revenue_arithmetic_reproduces_expected_md() -> None:
    """This test's own arithmetic against the hand-worked numbers of EXPECTED.md."""
    objs: dict[str, list[dict]] = defaultdict(list)
    for name in ("customers-page-1.json", "customers-page-2.json", "invoices.jsonl",
                 "credit_notes.jsonl", "refunds.json"):  # fmt: skip
        for obj in _read_objects(FIXTURES / name):
            objs[obj["object"]].append(obj)
    sums, _ = stripe_revenue(objs)
    got = {k: v[0] for k, v in sums.items() if v[0]}
    assert got == {
        ("cust_acme", "2025-12", "USD"): 4900,
        ("cust_acme", "2026-01", "USD"): 11662,
        ("cust_acme", "2026-02", "USD"): 19900,
        ("cust_globex", "2025-12", "EUR"): 8500,
        ("cust_globex", "2026-01", "EUR"): 13800,
        ("cust_globex", "2026-02", "EUR"): 5600,
        ("cus_TfC3gBp6Hy1VtS", "2026-01", "GBP"): 3000,
        ("cus_TfC3gBp6Hy1VtS", "2026-02", "GBP"): 2000,
        ("cus_TfC3gBp6Hy1VtS", "2026-03", "GBP"): 3000,  # open: revenue (accrual)
    }
    assert sums[("cus_TfC3gBp6Hy1VtS", "2026-03", "GBP")][1] == 3000


def test_stripe_revenue_per_customer_and_month_equals_the_truth(objects, truth) -> None:
    sums, _ = stripe_revenue(objects)
    got = {k: tuple(v) for k, v in sums.items() if any(v)}
    expected = {k: v for k, v in truth.items() if any(v)}
    assert got == expected
    assert any(v[1] for v in expected.values()), "no open revenue in the truth"
    assert sum(1 for v in expected.values() if v[2]) == 1, "one uncollectible invoice"
    assert {k[2] for k in expected} == {"USD", "EUR", "GBP"}


def test_csv_form_carries_the_same_revenue(dirs, truth) -> None:
    rows = _csv(dirs[0] / "landing" / "billing" / "invoices.csv")
    sums: dict = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        currency = row.get("currency") or "USD"
        text = row.get("amount") or row["amount_usd"]
        whole, _, cents = text.lstrip("-").partition(".")
        minor = (int(whole) * 100 + int(cents.ljust(2, "0"))) * (-1 if text.startswith("-") else 1)
        key = (row["customer_id"], row["invoice_month"], currency)
        if row["status"] in ("paid", "open"):
            sums[key][0] += minor
            sums[key][1] += minor if row["status"] == "open" else 0
        elif row["status"] == "uncollectible":
            sums[key][2] += minor
        if currency == "USD":
            assert row["amount_usd"] == row["amount"]
        else:
            assert row["amount_usd"] == ""
    assert {k: tuple(v) for k, v in sums.items() if any(v)} == {
        k: v for k, v in truth.items() if any(v)
    }


def test_foreign_revenue_is_served_from_the_first_of_each_month(objects) -> None:
    """The CSV form dates a month's revenue on its first day; so must every EUR/GBP part, or the
    two forms would convert at different rates."""
    _, dates = stripe_revenue(objects)
    foreign = [(cur, day) for cur, day in dates if cur != "USD"]
    assert foreign and all(day.day == 1 for _, day in foreign)


def test_both_forms_share_every_other_file(dirs) -> None:
    csv_dir, stripe_dir = dirs

    def files(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (root / "landing").rglob("*")
            if p.is_file()
        }

    a, b = files(csv_dir), files(stripe_dir)
    shared = set(a) & set(b)
    assert {k for k in a if k not in shared} == {
        "landing/billing/customers.csv",
        "landing/billing/invoices.csv",
        "landing/billing/plans.csv",
    }
    assert all(k.startswith("landing/stripe/") for k in b if k not in shared)
    assert all(a[k] == b[k] for k in shared)
    header = _csv(csv_dir / "landing" / "billing" / "invoices.csv")[0].keys()
    assert {"currency", "amount", "amount_usd"} <= set(header)
    listed = json.loads((stripe_dir / "truth" / "summary.json").read_text())["files"]
    assert sorted(listed) == sorted(
        k for k in b if not k.startswith("landing/billing/") or k.endswith("workspaces.csv")
    )


# -- the ECB rates file --------------------------------------------------------------------------
def test_ecb_rates_file_has_the_ecb_layout(dirs, objects) -> None:
    path = dirs[1] / "landing" / "fx" / "eurofxref-hist.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    fixture_header = (
        (PROJECT_ROOT / "tests/fixtures/fx/eurofxref-hist.csv").read_text().splitlines()[0]
    )
    assert ",".join(header) == fixture_header
    assert header[0] == "Date" and header[-1] == ""
    dates = [dt.date.fromisoformat(r[0]) for r in body]
    assert dates == sorted(dates, reverse=True) and len(set(dates)) == len(dates)
    assert all(d.weekday() < 5 for d in dates)
    assert not {d for d in dates if (d.month, d.day) in {(1, 1), (12, 25), (12, 26), (5, 1)}}
    # every weekday the file skips is a TARGET closing day (Easter: 20 Apr 2025, 5 Apr 2026)
    weekdays = {
        dates[-1] + dt.timedelta(days=i)
        for i in range((dates[0] - dates[-1]).days + 1)
        if (dates[-1] + dt.timedelta(days=i)).weekday() < 5
    }
    easter = {dt.date(2025, 4, 18), dt.date(2025, 4, 21), dt.date(2026, 4, 3), dt.date(2026, 4, 6)}
    fixed = {(1, 1), (5, 1), (12, 25), (12, 26)}
    assert all((d.month, d.day) in fixed or d in easter for d in weekdays - set(dates))
    col = {name: i for i, name in enumerate(header)}
    for row in body:
        assert len(row) == len(header) and row[-1] == ""
        assert all(row[col[c]] == "N/A" for c in RETIRED)
        assert 1.0 < float(row[col["USD"]]) < 1.4 and 0.75 < float(row[col["GBP"]]) < 1.0
    # a rate on or before every foreign service date, at most a few days earlier
    _, parts = stripe_revenue(objects)
    for cur, day in parts:
        if cur != "USD":
            assert any(day - dt.timedelta(days=5) <= d <= day for d in dates), day


# -- options -------------------------------------------------------------------------------------
def test_both_needs_a_second_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="stripe_data_dir"):
        generate(tmp_path / "a", billing="both", progress=False, events=10, days=1, customers=1)
    with pytest.raises(ValueError, match="two data directories"):
        generate(
            tmp_path / "a",
            billing="both",
            stripe_data_dir=tmp_path / "a",
            progress=False,
            events=10,
            days=1,
            customers=1,
        )
    with pytest.raises(ValueError, match="billing must be one of"):
        generate(tmp_path / "a", billing="xml", progress=False, events=10, days=1, customers=1)


def test_stripe_form_is_deterministic_and_leaves_csv_revenue_out(tmp_path: Path) -> None:
    small = {"events": 300, "days": 40, "customers": 8, "progress": False}

    def run(name: str) -> dict[str, str]:
        root = tmp_path / name
        generate(root, billing="stripe", traces_dir=tmp_path / "none", **small)
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (root / "landing").rglob("*")
            if p.is_file() and not p.match("usage_events/*")
        }

    first, second = run("one"), run("two")
    assert first == second
    assert not any(
        k.startswith("landing/billing/") and not k.endswith("workspaces.csv") for k in first
    )
    assert "landing/fx/eurofxref-hist.csv" in first
    assert any(k.startswith("landing/stripe/invoices-page-") for k in first)


def test_a_plan_change_before_the_last_month_is_prorated_on_the_next_cycle_invoice(
    tmp_path: Path,
) -> None:
    root = tmp_path / "data"
    generate(
        root,
        billing="stripe",
        progress=False,
        days=90,
        events=300,
        customers=12,
        traces_dir=tmp_path / "none",
    )
    parameters = json.loads((root / "truth" / "summary.json").read_text())["parameters"]
    change = dt.date.fromisoformat(parameters["plan_change"]["on"])
    objs: dict[str, list[dict]] = defaultdict(list)
    for path in sorted((root / "landing" / "stripe").iterdir()):
        for obj in _read_objects(path):
            objs[obj["object"]].append(obj)
    invoice = next(
        i for i in objs["invoice"] if i["id"] == parameters["stripe_cases"]["proration_invoice"]
    )
    assert invoice["billing_reason"] == "subscription_cycle"
    regular = [ln for ln in invoice["lines"]["data"] if not _is_proration(ln)]
    pair = [ln for ln in invoice["lines"]["data"] if _is_proration(ln)]
    assert len(regular) == 1 and len(pair) == 2
    next_month = (change.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    assert _day(regular[0]["period"]["start"]) == next_month  # billed on the next invoice ...
    assert all(_day(ln["period"]["start"]) == change for ln in pair)  # ... for the change month
    sums, _ = stripe_revenue(objs)
    rows = pq.read_table(root / "truth" / "revenue.parquet").to_pylist()
    truth = {
        (r["customer_id"], r["service_month"].strftime("%Y-%m"), r["currency"]): (
            r["revenue_minor"],
            r["open_minor"],
            r["uncollectible_minor"],
        )
        for r in rows
    }
    assert {k: tuple(v) for k, v in sums.items() if any(v)} == {
        k: v for k, v in truth.items() if any(v)
    }


def test_target_closing_days() -> None:
    from sample_data.fx import business_days, target_holidays

    # Good Friday and Easter Monday: Easter Sunday was 20 Apr 2025, is 5 Apr 2026, 28 Mar 2027
    assert {dt.date(2025, 4, 18), dt.date(2025, 4, 21)} <= target_holidays(2025)
    assert {dt.date(2026, 4, 3), dt.date(2026, 4, 6)} <= target_holidays(2026)
    assert {dt.date(2027, 3, 26), dt.date(2027, 3, 29)} <= target_holidays(2027)
    days = business_days(dt.date(2025, 12, 22), dt.date(2026, 1, 6))
    assert days == [
        dt.date(2025, 12, 22),
        dt.date(2025, 12, 23),
        dt.date(2025, 12, 24),
        dt.date(2025, 12, 29),
        dt.date(2025, 12, 30),
        dt.date(2025, 12, 31),
        dt.date(2026, 1, 2),
        dt.date(2026, 1, 5),
        dt.date(2026, 1, 6),
    ]
