"""Stripe objects (landing/stripe) mapped onto the table-export loader: one object, several tables.

The files hold Stripe objects exactly as the API returns them (docs/stripe.md): a list page
(``{"object": "list", "data": [...], "has_more": ...}``) or one object per ``.json`` file, or one
object (or one list page) per line of a ``.jsonl`` / ``.ndjson`` file, any of them optionally
gzipped. File names do not matter: each object's ``object`` field says what it is. The position
of an object (``source_row``) is its line in a JSON Lines file, or its 1-based index in the
``data`` of a ``.json`` list page (a ``.json`` single object is 1; a ``.json`` file that is not
JSON at all is one record at position 0, and nothing of it loads).

``read_stripe_objects`` reduces every file to one record per object; ``STRIPE`` declares the
validation rules (on the JSON itself: ``1500``, ``"1500"`` and ``15.5`` are told apart) and the
flattening of each kind into the lake tables of ``TABLES``:

=====================  =========================================================================
lake table             from
=====================  =========================================================================
customers              ``customer``
products               ``product``
prices                 ``price``
subscription_items     ``subscription`` × its ``items.data``
invoices               ``invoice``
invoice_lines          ``invoice`` × its ``lines.data``
invoice_payments       ``invoice`` × ``payments.data`` (``expand[]=data.payments``), else the
                       pre-2025-03-31 ``payment_intent`` / ``charge`` of the invoice
credit_note_lines      ``credit_note`` × its ``lines.data``
credit_note_refunds    ``credit_note`` × its ``refunds``
refunds                ``refund``
=====================  =========================================================================

Both API shapes load into the same columns (the ``2025-03-31.basil`` change moved a line's price
under ``pricing.price_details``, its proration flag under ``parent.*_details``, its taxes from
``tax_amounts`` to ``taxes`` and the invoice's payment into ``payments``). Amounts stay integers
in the currency's smallest unit, as Stripe sent them; staging converts them once, with the
exponent of ``seeds/currencies.csv``.

An object with any fault is quarantined whole (an invoice with one bad line keeps none of its
lines: half an invoice is a wrong number), with its kind, file, position, text and every fault.
The codes (docs/stripe.md, "Quarantine"): ``bad_json``, ``invalid_encoding``, ``empty_record``,
``not_an_object``, ``unknown_object``, ``missing_required``, ``wrong_type``,
``not_smallest_unit``, ``unknown_currency``, ``unknown_value``, ``lines_incomplete``,
``invalid_period``, ``currency_mismatch``.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.contract import Field, column
from orchestration.ingest.currencies import unknown_currency_rule
from orchestration.ingest.readers import RecordBatch, read_json_lines
from orchestration.ingest.rules import Rule, q, shown
from orchestration.ingest.table_exports import (
    ObjectMapping,
    TableExports,
    TableFileLoad,
    load_table_exports,
)

GROUP = "stripe"
KINDS = ("customer", "product", "price", "subscription", "invoice", "credit_note", "refund")
JSON_SUFFIXES = (".json", ".json.gz")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
# How much of a .json file that is not JSON is kept as its quarantined text.
BAD_FILE_TEXT = 2048

# Every Stripe object of a file, one record each. A line (JSONL) or file (.json) holding a list
# page gives one record per item of its ``data``; anything else is one record as it is.
EXPAND_SQL = """
with parsed as (
    select source_row, raw,
        case when raw is not null and json_valid(raw) then raw::json end as j
    from records
),
classed as (
    select *, j is not null and json_type(j) = 'OBJECT' and (j ->> 'object') = 'list'
        and json_type(j, '$.data') = 'ARRAY' as is_page
    from parsed
),
items as (
    select source_row, json_extract(j, '$.data[*]') as data from classed where is_page
),
expanded as (
    select source_row, unnest(range(1, len(data) + 1)) as position, unnest(data) as item
    from items
)
select {page_row} as source_row, item::varchar as raw from expanded
union all
select source_row, raw from classed where not is_page
order by 1
"""


def read_stripe_objects(path: Path) -> Iterator[RecordBatch]:
    """One record (``source_row``, ``raw``) per Stripe object of a landing file."""
    name = path.name.lower()
    with duckdb.connect() as con:
        if name.endswith(JSONL_SUFFIXES):
            for batch in read_json_lines(path):
                con.register("line_bytes", batch.table)
                con.execute(
                    "create or replace temp table records as select source_row, "
                    "rtrim(try(decode(raw_bytes)), chr(10) || chr(13)) as raw from line_bytes"
                )
                con.unregister("line_bytes")
                # objects of a page on one line share the line's number
                yield RecordBatch(
                    con.sql(EXPAND_SQL.format(page_row="source_row")).to_arrow_table(), False
                )
            return
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            data = handle.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        table = pa.table(
            {"source_row": pa.array([0], pa.int64()), "raw": pa.array([text], pa.string())}
        )
        con.register("records", table)
        out = con.sql(EXPAND_SQL.format(page_row="position")).to_arrow_table()
        con.unregister("records")
        if out.num_rows == 1 and out["source_row"][0].as_py() == 0:
            raw = out["raw"][0].as_py()
            if raw is not None and not _is_json(con, raw):
                # not JSON: kept as one record with the start of its text, quarantined as such
                out = pa.table(
                    {
                        "source_row": pa.array([0], pa.int64()),
                        "raw": pa.array([raw[:BAD_FILE_TEXT]], pa.string()),
                    }
                )
            else:
                out = pa.table(
                    {"source_row": pa.array([1], pa.int64()), "raw": out["raw"]}
                )  # a .json file of one object: that object is its first
        yield RecordBatch(out, False)


def _is_json(con: duckdb.DuckDBPyConnection, text: str) -> bool:
    return bool(con.execute("select json_valid(?)", [text]).fetchall()[0][0])


# --- SQL helpers over a JSON value (``obj``, or a list item) -------------------------------------


def text(path: str, of: str = "obj") -> str:
    """The text at ``path`` ($-less, dotted), null when absent or JSON null."""
    return f"json_extract_string({of}, {q('$.' + path)})"


def jtype(path: str, of: str = "obj") -> str:
    return f"json_type({of}, {q('$.' + path)})"


def ref_id(path: str, of: str = "obj") -> str:
    """An expandable reference: the id string, or the ``id`` of the expanded object."""
    return (
        f"case {jtype(path, of)} when 'VARCHAR' then {text(path, of)} "
        f"when 'OBJECT' then {text(path + '.id', of)} end"
    )


def integer(path: str, of: str = "obj") -> str:
    """A JSON number that is a whole number, as bigint (2.0 is 2, as in JSON Schema)."""
    return f"cast(try_cast({text(path, of)} as decimal(38, 9)) as bigint)"


def instant(path: str, of: str = "obj") -> str:
    """Unix seconds as a UTC timestamp."""
    return f"to_timestamp({integer(path, of)})"


def flag(path: str, of: str = "obj") -> str:
    return f"try_cast({text(path, of)} as boolean)"


def items(path: str, of: str = "obj") -> str:
    """The items of the JSON array at ``path`` (may contain ``[*]``), as a list of JSON."""
    return f"json_extract({of}, {q('$.' + path + '[*]')})"


def amount_sum(path: str, of: str, where: str = "true") -> str:
    """Σ ``amount`` over the array at ``path`` of ``of`` (0 when empty)."""
    return (
        f"coalesce(list_sum(list_transform(list_filter({items(path, of)}, lambda x: {where}), "
        f"lambda x: {integer('amount', 'x')})), 0)"
    )


# --- Rules ---------------------------------------------------------------------------------------


def for_kind(kind: str, rule: Rule) -> Rule:
    return replace(rule, condition=f"kind = {q(kind)} and ({rule.condition})")


def required(kind: str, path: str, *, expandable: bool = False) -> Rule:
    value = ref_id(path) if expandable else f"nullif(trim({text(path)}), '')"
    return Rule(
        "missing_required",
        path,
        f"kind = {q(kind)} and {value} is null",
        q(f"{path} is required but is missing or null"),
        10,
    )


def enum(kind: str, path: str, values: tuple[str, ...]) -> Rule:
    allowed = ", ".join(q(v) for v in values)
    return Rule(
        "unknown_value",
        path,
        f"kind = {q(kind)} and {text(path)} is not null and {text(path)} not in ({allowed})",
        q(f"{path} must be one of {', '.join(values)}; got ") + " || " + shown(text(path)),
        40,
    )


def currency(kind: str) -> list[Rule]:
    return [
        required(kind, "currency"),
        for_kind(kind, unknown_currency_rule("currency", text("currency"))),
    ]


def money(kind: str, list_path: str | None, field: str, *, needed: bool = False) -> list[Rule]:
    """An amount (``field``) at the top of the object or in every item of ``list_path``: an
    integer in the smallest currency unit; a fraction is ``not_smallest_unit``, any other JSON
    type (``"1500"``) ``wrong_type``, absent or null ``missing_required`` when ``needed``."""
    values = items(list_path) if list_path else "[obj]"
    label = f"{list_path}[].{field}" if list_path else field
    t = f"json_type(x, {q('$.' + field)})"
    fraction = (
        f"{t} = 'DOUBLE' and try_cast(json_extract_string(x, {q('$.' + field)}) as double) "
        f"<> floor(try_cast(json_extract_string(x, {q('$.' + field)}) as double))"
    )
    not_number = f"{t} is not null and {t} not in ('NULL', 'BIGINT', 'UBIGINT', 'DOUBLE')"
    absent = f"coalesce({t}, 'NULL') = 'NULL'"

    def rule(code: str, bad: str, wanted: str, priority: int) -> Rule:
        position = (
            f"list_position(list_transform({values}, lambda x: coalesce({bad}, false)), true)"
        )
        where = (
            q(f"{list_path}[") + f" || cast({position} - 1 as varchar) || " + q(f"].{field}")
            if list_path and "[*]" not in list_path
            else q(label)
        )
        value = f"json_extract({values}[{position}], {q('$.' + field)})::varchar"
        return Rule(
            code,
            label,
            f"kind = {q(kind)} and {position} > 0",
            f"{where} || {q(' ' + wanted + ': ')} || coalesce({value}, 'null')",
            priority,
        )

    out = [
        rule("not_smallest_unit", fraction, "is not an integer in the smallest currency unit", 20),
        rule("wrong_type", not_number, "is not an integer (Stripe sends amounts as numbers)", 20),
    ]
    if needed:
        out.append(rule("missing_required", absent, "is required but is missing", 10))
    return out


def lines_complete(kind: str, path: str, detail: str) -> Rule:
    """An embedded list must be all there: Stripe embeds the first 10 items only."""
    return Rule(
        "lines_incomplete",
        path,
        f"kind = {q(kind)} and ({jtype(path + '.data')} is distinct from 'ARRAY' "
        f"or coalesce({flag(path + '.has_more')}, false))",
        f"'{path} is not complete (has_more is ' || coalesce({text(path + '.has_more')}, 'absent') "
        f"|| ', ' || coalesce(cast(len({items(path + '.data')}) as varchar), 'no') "
        f"|| ' of total_count ' || coalesce({text(path + '.total_count')}, '?') "
        f"|| ' embedded): {detail}'",
        30,
    )


def line_periods(kind: str) -> Rule:
    start, end = "json_type(x, '$.period.start')", "json_type(x, '$.period.end')"
    integer_types = "('BIGINT', 'UBIGINT')"
    bad = (
        f"(coalesce({start}, 'NULL') not in {integer_types} or coalesce({end}, 'NULL') not in {integer_types} "
        f"or {integer('period.end', 'x')} < {integer('period.start', 'x')})"
    )
    position = f"list_position(list_transform({items('lines.data')}, lambda x: {bad}), true)"
    return Rule(
        "invalid_period",
        "lines.data[].period",
        f"kind = {q(kind)} and {position} > 0",
        f"'lines.data[' || cast({position} - 1 as varchar) || '].period must be two Unix times, "
        f"start <= end; got ' || coalesce(json_extract({items('lines.data')}[{position}], '$.period')::varchar, 'null')",
        30,
    )


def line_currency(kind: str) -> Rule:
    bad = f"lower({text('currency', 'x')}) <> lower({text('currency')})"
    position = f"list_position(list_transform({items('lines.data')}, lambda x: coalesce({bad}, false)), true)"
    return Rule(
        "currency_mismatch",
        "lines.data[].currency",
        f"kind = {q(kind)} and {position} > 0",
        f"'lines.data[' || cast({position} - 1 as varchar) || '].currency differs from the "
        f"{kind} currency ' || {shown(text('currency'))}",
        40,
    )


def line_ids(kind: str) -> Rule:
    position = (
        f"list_position(list_transform({items('lines.data')}, "
        f"lambda x: nullif({text('id', 'x')}, '') is null), true)"
    )
    return Rule(
        "missing_required",
        "lines.data[].id",
        f"kind = {q(kind)} and {position} > 0",
        f"'lines.data[' || cast({position} - 1 as varchar) || '].id is required but is missing'",
        10,
    )


def tax_and_discount_money(kind: str) -> list[Rule]:
    out: list[Rule] = []
    for nested in ("discount_amounts", "pretax_credit_amounts", "taxes", "tax_amounts"):
        out += money(kind, f"lines.data[*].{nested}", "amount")
    return out


KNOWN = ", ".join(q(k) for k in KINDS)
RULES: tuple[Rule, ...] = (
    Rule("invalid_encoding", None, "raw is null", "'the record is not UTF-8 text'", 0),
    Rule("empty_record", None, "trim(raw) = ''", "'an empty line'", 0),
    Rule(
        "bad_json",
        None,
        "trim(raw) <> '' and obj is null",
        "'the record is not valid JSON (a truncated file or line?): ' || " + shown("raw"),
        1,
    ),
    Rule(
        "not_an_object",
        None,
        "obj is not null and json_type(obj) <> 'OBJECT'",
        "'the record is JSON but not an object: ' || " + shown("obj::varchar"),
        2,
    ),
    Rule(
        "unknown_object",
        "object",
        f"json_type(obj) = 'OBJECT' and (kind is null or kind not in ({KNOWN}))",
        q(f"object must be one of {', '.join(KINDS)}; got ") + " || " + shown("kind"),
        5,
    ),
    Rule(
        "missing_required",
        "id",
        f"kind in ({KNOWN}) and nullif(trim({text('id')}), '') is null",
        "'id is required but is missing or null'",
        10,
    ),
    # invoice
    required("invoice", "customer", expandable=True),
    *currency("invoice"),
    enum("invoice", "status", ("draft", "open", "paid", "uncollectible", "void")),
    lines_complete(
        "invoice", "lines", "page the rest with GET /v1/invoices/{id}/lines before landing it"
    ),
    line_ids("invoice"),
    *money("invoice", "lines.data", "amount", needed=True),
    *tax_and_discount_money("invoice"),
    *money("invoice", None, "total", needed=True),
    *money("invoice", None, "total_excluding_tax"),
    line_periods("invoice"),
    line_currency("invoice"),
    # credit note
    required("credit_note", "invoice", expandable=True),
    required("credit_note", "customer", expandable=True),
    *currency("credit_note"),
    enum("credit_note", "status", ("issued", "void")),
    lines_complete("credit_note", "lines", "page the rest with GET /v1/credit_notes/{id}/lines"),
    line_ids("credit_note"),
    *money("credit_note", "lines.data", "amount", needed=True),
    *money("credit_note", "lines.data", "discount_amount"),
    *tax_and_discount_money("credit_note"),
    *money("credit_note", "refunds", "amount_refunded"),
    # refund
    *currency("refund"),
    *money("refund", None, "amount", needed=True),
    enum("refund", "status", ("pending", "requires_action", "succeeded", "failed", "canceled")),
    Rule(
        "missing_required",
        "payment_intent",
        f"kind = 'refund' and {ref_id('payment_intent')} is null and {ref_id('charge')} is null",
        "'payment_intent and charge are both missing: the refund cannot be matched to an invoice'",
        10,
    ),
    # subscription
    required("subscription", "customer", expandable=True),
    lines_complete(
        "subscription", "items", "page the rest with GET /v1/subscription_items?subscription={id}"
    ),
    # price
    *currency("price"),
    *money("price", None, "unit_amount"),
    # product
    Rule(
        "wrong_type",
        "metadata.llm_margin_target_gross_margin_pct",
        f"kind = 'product' and {text('metadata.llm_margin_target_gross_margin_pct')} is not null "
        f"and try_cast(trim({text('metadata.llm_margin_target_gross_margin_pct')}) as decimal(9, 4)) is null",
        "'metadata.llm_margin_target_gross_margin_pct is not a number: ' || "
        + shown(text("metadata.llm_margin_target_gross_margin_pct")),
        20,
    ),
)


# --- Tables --------------------------------------------------------------------------------------

TABLES: dict[str, list[Field]] = {
    "customers": [
        column("customer_id", "string", True),
        column("llm_margin_customer_id", "string"),
        column("customer_name", "string"),
        column("email", "string"),
        column("currency", "string"),
        column("created_at", "timestamp"),
        column("utm_source", "string"),
        column("utm_medium", "string"),
        column("utm_campaign", "string"),
        column("metadata_json", "string"),
    ],
    "products": [
        column("product_id", "string", True),
        column("product_name", "string"),
        column("plan_id", "string"),
        column("target_gross_margin_pct", "percent"),
        column("active", "string"),
        column("created_at", "timestamp"),
    ],
    "prices": [
        column("price_id", "string", True),
        column("product_id", "string"),
        column("currency", "string"),
        column("unit_amount", "integer"),
        column("recurring_interval", "string"),
        column("recurring_interval_count", "integer"),
        column("tax_behavior", "string"),
        column("lookup_key", "string"),
        column("active", "string"),
        column("created_at", "timestamp"),
    ],
    "subscription_items": [
        column("subscription_id", "string", True),
        column("subscription_item_id", "string"),
        column("customer_id", "string"),
        column("status", "string"),
        column("price_id", "string"),
        column("product_id", "string"),
        column("quantity", "integer"),
        column("current_period_start", "timestamp"),
        column("current_period_end", "timestamp"),
        column("created_at", "timestamp"),
        column("canceled_at", "timestamp"),
        column("ended_at", "timestamp"),
    ],
    "invoices": [
        column("invoice_id", "string", True),
        column("invoice_number", "string"),
        column("customer_id", "string"),
        column("currency", "string"),
        column("status", "string"),
        column("created_at", "timestamp"),
        column("subtotal", "integer"),
        column("total", "integer"),
        column("total_excluding_tax", "integer"),
        column("amount_paid", "integer"),
        column("paid_at", "timestamp"),
        column("voided_at", "timestamp"),
        column("marked_uncollectible_at", "timestamp"),
        column("subscription_id", "string"),
        column("billing_reason", "string"),
    ],
    "invoice_lines": [
        column("invoice_id", "string", True),
        column("line_id", "string", True),
        column("line_index", "integer"),
        column("currency", "string"),
        column("amount", "integer"),
        column("discount_amount", "integer"),
        column("inclusive_tax_amount", "integer"),
        column("exclusive_tax_amount", "integer"),
        column("period_start", "timestamp"),
        column("period_end", "timestamp"),
        column("price_id", "string"),
        column("product_id", "string"),
        column("is_proration", "string"),
        column("subscription_id", "string"),
        column("description", "string"),
    ],
    "invoice_payments": [
        column("invoice_id", "string", True),
        column("payment_intent_id", "string"),
        column("charge_id", "string"),
    ],
    "credit_note_lines": [
        column("credit_note_id", "string", True),
        column("invoice_id", "string"),
        column("customer_id", "string"),
        column("currency", "string"),
        column("status", "string"),
        column("created_at", "timestamp"),
        column("line_id", "string"),
        column("line_index", "integer"),
        column("line_type", "string"),
        column("invoice_line_id", "string"),
        column("amount", "integer"),
        column("discount_amount", "integer"),
        column("inclusive_tax_amount", "integer"),
    ],
    "credit_note_refunds": [
        column("credit_note_id", "string", True),
        column("refund_id", "string"),
        column("amount_refunded", "integer"),
    ],
    "refunds": [
        column("refund_id", "string", True),
        column("amount", "integer"),
        column("currency", "string"),
        column("status", "string"),
        column("created_at", "timestamp"),
        column("charge_id", "string"),
        column("payment_intent_id", "string"),
        column("reason", "string"),
    ],
}
# Booleans are kept as the text 'true' / 'false' (the contract's kinds have no boolean); staging
# casts them.
BOOLEAN_TEXT = "case {v} when true then 'true' when false then 'false' end"


def _bool(expression: str) -> str:
    return BOOLEAN_TEXT.format(v=expression)


def _discounts(of: str) -> str:
    """A line's discounts: ``pretax_credit_amounts`` when the line has the field (it holds the
    discounts and billing credits), else ``discount_amounts``: one of them, never both."""
    return (
        f"case when {jtype('pretax_credit_amounts', of)} = 'ARRAY' "
        f"then {amount_sum('pretax_credit_amounts', of)} "
        f"else {amount_sum('discount_amounts', of)} end"
    )


def _taxes(of: str, behavior: str) -> str:
    """Σ a line's taxes of one behavior: ``taxes`` (basil and later), else ``tax_amounts``."""
    legacy = "true" if behavior == "inclusive" else "false"
    current = f"{text('tax_behavior', 'x')} = {q(behavior)}"
    older = f"{flag('inclusive', 'x')} = {legacy}"
    return (
        f"case when {jtype('taxes', of)} = 'ARRAY' then {amount_sum('taxes', of, current)} "
        f"else {amount_sum('tax_amounts', of, older)} end"
    )


def _unnested(kind: str, path: str, name: str) -> str:
    """Each good object of ``kind`` with each item of its array ``path`` (``name``, 0-based
    ``name_index``)."""
    return f"""
    select source_row, obj, unnest(range(0, len(list_items))) as {name}_index,
        unnest(list_items) as {name}
    from (select source_row, obj, {items(path)} as list_items from good where kind = {q(kind)})
    """


TABLE_SQL: dict[str, str] = {
    "customers": f"""
        select source_row, {text("id")} as customer_id,
            nullif(trim({text("metadata.llm_margin_customer_id")}), '') as llm_margin_customer_id,
            {text("name")} as customer_name, {text("email")} as email,
            upper({text("currency")}) as currency, {instant("created")} as created_at,
            nullif(trim({text("metadata.utm_source")}), '') as utm_source,
            nullif(trim({text("metadata.utm_medium")}), '') as utm_medium,
            nullif(trim({text("metadata.utm_campaign")}), '') as utm_campaign,
            json_extract(obj, '$.metadata')::varchar as metadata_json
        from good where kind = 'customer'""",
    "products": f"""
        select source_row, {text("id")} as product_id, {text("name")} as product_name,
            nullif(trim({text("metadata.llm_margin_plan_id")}), '') as plan_id,
            try_cast(trim({text("metadata.llm_margin_target_gross_margin_pct")}) as decimal(9, 4))
                as target_gross_margin_pct,
            {_bool(flag("active"))} as active, {instant("created")} as created_at
        from good where kind = 'product'""",
    "prices": f"""
        select source_row, {text("id")} as price_id, {ref_id("product")} as product_id,
            upper({text("currency")}) as currency, {integer("unit_amount")} as unit_amount,
            {text("recurring.interval")} as recurring_interval,
            {integer("recurring.interval_count")} as recurring_interval_count,
            {text("tax_behavior")} as tax_behavior, {text("lookup_key")} as lookup_key,
            {_bool(flag("active"))} as active, {instant("created")} as created_at
        from good where kind = 'price'""",
    "subscription_items": f"""
        select source_row, {text("id")} as subscription_id, {text("id", "item")} as subscription_item_id,
            {ref_id("customer")} as customer_id, {text("status")} as status,
            coalesce({ref_id("price", "item")}, {ref_id("plan", "item")}) as price_id,
            coalesce({ref_id("price.product", "item")}, {ref_id("plan.product", "item")}) as product_id,
            {integer("quantity", "item")} as quantity,
            coalesce({instant("current_period_start", "item")}, {instant("current_period_start")})
                as current_period_start,
            coalesce({instant("current_period_end", "item")}, {instant("current_period_end")})
                as current_period_end,
            {instant("created")} as created_at, {instant("canceled_at")} as canceled_at,
            {instant("ended_at")} as ended_at
        from ({_unnested("subscription", "items.data", "item")})""",
    "invoices": f"""
        select source_row, {text("id")} as invoice_id, {text("number")} as invoice_number,
            {ref_id("customer")} as customer_id, upper({text("currency")}) as currency,
            {text("status")} as status, {instant("created")} as created_at,
            {integer("subtotal")} as subtotal, {integer("total")} as total,
            coalesce({integer("total_excluding_tax")}, {integer("total")} - case
                when {jtype("total_taxes")} = 'ARRAY'
                then {amount_sum("total_taxes", "obj", "json_extract_string(x, '$.tax_behavior') = 'exclusive'")}
                else {amount_sum("total_tax_amounts", "obj", "try_cast(json_extract_string(x, '$.inclusive') as boolean) = false")}
                end) as total_excluding_tax,
            {integer("amount_paid")} as amount_paid,
            {instant("status_transitions.paid_at")} as paid_at,
            {instant("status_transitions.voided_at")} as voided_at,
            {instant("status_transitions.marked_uncollectible_at")} as marked_uncollectible_at,
            coalesce({ref_id("parent.subscription_details.subscription")}, {ref_id("subscription")})
                as subscription_id,
            {text("billing_reason")} as billing_reason
        from good where kind = 'invoice'""",
    "invoice_lines": f"""
        select source_row, {text("id")} as invoice_id, {text("id", "line")} as line_id,
            line_index, upper(coalesce({text("currency", "line")}, {text("currency")})) as currency,
            {integer("amount", "line")} as amount,
            {_discounts("line")} as discount_amount,
            {_taxes("line", "inclusive")} as inclusive_tax_amount,
            {_taxes("line", "exclusive")} as exclusive_tax_amount,
            {instant("period.start", "line")} as period_start,
            {instant("period.end", "line")} as period_end,
            coalesce({ref_id("pricing.price_details.price", "line")}, {ref_id("price", "line")},
                {ref_id("plan", "line")}) as price_id,
            coalesce({ref_id("pricing.price_details.product", "line")},
                {ref_id("price.product", "line")}, {ref_id("plan.product", "line")}) as product_id,
            {_bool(f"coalesce({flag('parent.subscription_item_details.proration', 'line')}, {flag('parent.invoice_item_details.proration', 'line')}, {flag('proration', 'line')}, false)")}
                as is_proration,
            coalesce({ref_id("parent.subscription_item_details.subscription", "line")},
                {ref_id("parent.invoice_item_details.subscription", "line")},
                {ref_id("subscription", "line")}) as subscription_id,
            {text("description", "line")} as description
        from ({_unnested("invoice", "lines.data", "line")})""",
    "invoice_payments": f"""
        select source_row, {text("id")} as invoice_id,
            {ref_id("payment.payment_intent", "payment")} as payment_intent_id,
            {ref_id("payment.charge", "payment")} as charge_id
        from ({_unnested("invoice", "payments.data", "payment")})
        union all
        select source_row, {text("id")} as invoice_id, {ref_id("payment_intent")} as payment_intent_id,
            {ref_id("charge")} as charge_id
        from good
        where kind = 'invoice' and {jtype("payments")} is distinct from 'OBJECT'
            and coalesce({ref_id("payment_intent")}, {ref_id("charge")}) is not null""",
    "credit_note_lines": f"""
        select source_row, {text("id")} as credit_note_id, {ref_id("invoice")} as invoice_id,
            {ref_id("customer")} as customer_id, upper({text("currency")}) as currency,
            {text("status")} as status, {instant("created")} as created_at,
            {text("id", "line")} as line_id, line_index, {text("type", "line")} as line_type,
            {text("invoice_line_item", "line")} as invoice_line_id,
            {integer("amount", "line")} as amount,
            case when {jtype("pretax_credit_amounts", "line")} = 'ARRAY'
                then {amount_sum("pretax_credit_amounts", "line")}
                else coalesce({integer("discount_amount", "line")}, {amount_sum("discount_amounts", "line")})
                end as discount_amount,
            {_taxes("line", "inclusive")} as inclusive_tax_amount
        from ({_unnested("credit_note", "lines.data", "line")})""",
    "credit_note_refunds": f"""
        select source_row, {text("id")} as credit_note_id, {ref_id("refund", "refund")} as refund_id,
            {integer("amount_refunded", "refund")} as amount_refunded
        from ({_unnested("credit_note", "refunds", "refund")})""",
    "refunds": f"""
        select source_row, {text("id")} as refund_id, {integer("amount")} as amount,
            upper({text("currency")}) as currency, {text("status")} as status,
            {instant("created")} as created_at, {ref_id("charge")} as charge_id,
            {ref_id("payment_intent")} as payment_intent_id, {text("reason")} as reason
        from good where kind = 'refund'""",
}

KIND_SQL = "case when obj is not null and json_type(obj) = 'OBJECT' then json_extract_string(obj, '$.object') end"


def entity_of(path: Path) -> str | None:
    """Every JSON or JSON Lines file holds Stripe objects (of any kind)."""
    return "objects" if path.name.lower().endswith(JSON_SUFFIXES + JSONL_SUFFIXES) else None


STRIPE = TableExports(
    GROUP,
    TABLES,
    entity_of,
    "*.json, *.jsonl or *.ndjson (optionally .gz) holding Stripe objects or list pages",
    read=read_stripe_objects,
    mapping=ObjectMapping(KIND_SQL, RULES, TABLE_SQL),
)


def load_stripe(
    landing: Path, lake_root: Path, *, now: datetime | None = None
) -> list[TableFileLoad]:
    return load_table_exports(landing, lake_root, STRIPE, now=now)
