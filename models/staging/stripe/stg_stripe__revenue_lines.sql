{#
    Stripe's revenue parts, in the shape of stg_billing__revenue_lines (docs/stripe.md "Revenue"):

    * an invoice line earns amount − discounts − inclusive tax (exclusive tax is not in amount);
    * an issued credit note's line of type invoice_line_item reduces the line it credits by its
      own amount − discounts − inclusive tax; a custom_line_item line is spread over its
      invoice's lines in proportion to their net amounts;
    * a succeeded refund that no credit note paid out (one that did is already netted by it) is
      matched to its invoice by payment intent, else charge; its net-of-tax part
      amount × total_excluding_tax / total is spread over the invoice's lines like a custom
      credit note line;
    * every amount is then split over the calendar months of its line's service period by UTC
      days (date(start) <= d < date(end); a line with start = end is one part on date(start)),
      in minor units with cumulative floors, so a line's parts sum to it exactly;
    * minor units become major units with the exponent of seeds/currencies.csv.

    Parts of paid, open and uncollectible invoices are kept (int_customer_monthly_revenue says
    which count as revenue); void and draft invoices give none. Portable SQL: no generate_series,
    the months of a period come from a small offsets table (periods up to 100 months).
#}

with

invoices as (
    select * from {{ ref('base_stripe__invoices') }}
),

invoice_lines as (
    select * from {{ ref('base_stripe__invoice_lines') }}
),

invoice_payments as (
    select * from {{ ref('base_stripe__invoice_payments') }}
),

credit_note_lines as (
    select * from {{ ref('base_stripe__credit_note_lines') }}
),

credit_note_refunds as (
    select * from {{ ref('base_stripe__credit_note_refunds') }}
),

refunds as (
    select * from {{ ref('base_stripe__refunds') }}
),

customers as (
    select * from {{ ref('base_stripe__customers') }}
),

products as (
    select * from {{ ref('base_stripe__products') }}
),

prices as (
    select * from {{ ref('base_stripe__prices') }}
),

currencies as (
    select * from {{ ref('currencies') }}
),

digits as (
    select 0 as digit union all select 1 union all select 2 union all select 3
    union all select 4 union all select 5 union all select 6 union all select 7
    union all select 8 union all select 9
),

month_offsets as (
    select tens.digit * 10 + ones.digit as month_offset
    from digits as tens
    cross join digits as ones
),

billed_invoices as (
    select
        invoices.invoice_id,
        coalesce(customers.customer_id, invoices.stripe_customer_id) as customer_id,
        invoices.status,
        invoices.currency,
        invoices.total,
        invoices.total_excluding_tax
    from invoices
    left join customers
        on invoices.stripe_customer_id = customers.stripe_customer_id
    where invoices.status in ('paid', 'open', 'uncollectible')
),

billed_lines as (
    select
        billed_invoices.invoice_id,
        billed_invoices.customer_id,
        billed_invoices.status,
        billed_invoices.currency,
        invoice_lines.line_id,
        invoice_lines.line_index,
        invoice_lines.period_start_date,
        invoice_lines.period_end_date,
        invoice_lines.is_proration,
        invoice_lines.net_amount,
        coalesce(products.plan_id, invoice_lines.product_id, prices.product_id) as plan_id
    from invoice_lines
    inner join billed_invoices
        on invoice_lines.invoice_id = billed_invoices.invoice_id
    left join prices
        on invoice_lines.price_id = prices.price_id
    left join products
        on coalesce(invoice_lines.product_id, prices.product_id) = products.product_id
),

line_amounts as (
    select
        'invoice_line' as kind,
        billed_lines.invoice_id as document_id,
        billed_lines.invoice_id,
        billed_lines.line_id,
        billed_lines.net_amount as amount_minor
    from billed_lines
),

credited_line_amounts as (
    select
        'credit_note' as kind,
        credit_note_lines.credit_note_id as document_id,
        credit_note_lines.invoice_id,
        credit_note_lines.invoice_line_id as line_id,
        -credit_note_lines.net_amount as amount_minor
    from credit_note_lines
    where credit_note_lines.status = 'issued' and credit_note_lines.line_type = 'invoice_line_item'
),

{# Amounts on a whole invoice, spread over its lines below: custom credit note lines, refunds. #}
custom_credit_amounts as (
    select
        'credit_note' as kind,
        credit_note_lines.credit_note_id as document_id,
        credit_note_lines.invoice_id,
        -credit_note_lines.net_amount as amount_minor
    from credit_note_lines
    where credit_note_lines.status = 'issued' and credit_note_lines.line_type = 'custom_line_item'
),

refunds_to_match as (
    select refunds.*
    from refunds
    left join credit_note_refunds
        on refunds.refund_id = credit_note_refunds.refund_id
    where refunds.status = 'succeeded' and credit_note_refunds.refund_id is null
),

refund_invoices_ranked as (
    select
        refunds_to_match.refund_id,
        refunds_to_match.amount,
        billed_invoices.invoice_id,
        billed_invoices.total,
        billed_invoices.total_excluding_tax,
        {# one payment paying several invoices is ambiguous: the first invoice id takes it #}
        row_number() over (
            partition by refunds_to_match.refund_id order by billed_invoices.invoice_id
        ) as invoice_rank
    from refunds_to_match
    inner join (select distinct invoice_id, payment_intent_id, charge_id from invoice_payments) as payments
        on
            refunds_to_match.payment_intent_id = payments.payment_intent_id
            or (
                (refunds_to_match.payment_intent_id is null or payments.payment_intent_id is null)
                and refunds_to_match.charge_id = payments.charge_id
            )
    inner join billed_invoices
        on payments.invoice_id = billed_invoices.invoice_id
),

refund_amounts as (
    select
        'refund' as kind,
        refund_invoices_ranked.refund_id as document_id,
        refund_invoices_ranked.invoice_id,
        -cast(floor(
            refund_invoices_ranked.amount * refund_invoices_ranked.total_excluding_tax
            / refund_invoices_ranked.total
        ) as bigint) as amount_minor
    from refund_invoices_ranked
    where refund_invoices_ranked.invoice_rank = 1 and refund_invoices_ranked.total <> 0
),

invoice_amounts as (
    select * from custom_credit_amounts
    union all
    select * from refund_amounts
),

{# Cumulative floors over the invoice's lines (by position) in proportion to their net amounts. #}
line_weights as (
    select
        billed_lines.invoice_id,
        billed_lines.line_id,
        billed_lines.net_amount,
        sum(billed_lines.net_amount) over (
            partition by billed_lines.invoice_id order by billed_lines.line_index, billed_lines.line_id
            rows between unbounded preceding and current row
        ) as net_through,
        sum(billed_lines.net_amount) over (partition by billed_lines.invoice_id) as net_total
    from billed_lines
),

spread_amounts as (
    select
        invoice_amounts.kind,
        invoice_amounts.document_id,
        line_weights.invoice_id,
        line_weights.line_id,
        cast(floor(invoice_amounts.amount_minor * line_weights.net_through / line_weights.net_total) as bigint)
        - cast(floor(
            invoice_amounts.amount_minor * (line_weights.net_through - line_weights.net_amount)
            / line_weights.net_total
        ) as bigint) as amount_minor
    from invoice_amounts
    inner join line_weights
        on invoice_amounts.invoice_id = line_weights.invoice_id
    where line_weights.net_total <> 0
),

amounts as (
    select kind, document_id, invoice_id, line_id, sum(amount_minor) as amount_minor
    from (
        select * from line_amounts
        union all
        select * from credited_line_amounts
        union all
        select * from spread_amounts
    ) as all_amounts
    group by kind, document_id, invoice_id, line_id
),

amounts_on_lines as (
    select
        amounts.kind,
        amounts.document_id,
        amounts.line_id,
        amounts.amount_minor,
        billed_lines.customer_id,
        billed_lines.status,
        billed_lines.plan_id,
        billed_lines.is_proration,
        billed_lines.currency,
        billed_lines.period_start_date,
        billed_lines.period_end_date,
        {{ datediff_days('billed_lines.period_start_date', 'billed_lines.period_end_date') }} as period_days
    from amounts
    inner join billed_lines
        on amounts.invoice_id = billed_lines.invoice_id and amounts.line_id = billed_lines.line_id
),

month_parts as (
    select
        amounts_on_lines.*,
        {{ add_months(month_start('amounts_on_lines.period_start_date'), 'month_offsets.month_offset') }}
            as service_month
    from amounts_on_lines
    cross join month_offsets
    where
        month_offsets.month_offset = 0
        or (
            amounts_on_lines.period_days > 0
            and {{ add_months(month_start('amounts_on_lines.period_start_date'), 'month_offsets.month_offset') }}
            < amounts_on_lines.period_end_date
        )
),

part_bounds as (
    select
        month_parts.*,
        greatest(month_parts.period_start_date, month_parts.service_month) as part_start_date,
        least(month_parts.period_end_date, {{ add_months('month_parts.service_month', 1) }}) as part_end_date
    from month_parts
),

parts as (
    select
        part_bounds.*,
        case
            when part_bounds.period_days <= 0 then part_bounds.amount_minor
            else
                cast(floor(
                    part_bounds.amount_minor
                    * {{ datediff_days('part_bounds.period_start_date', 'part_bounds.part_end_date') }}
                    / part_bounds.period_days
                ) as bigint)
                - cast(floor(
                    part_bounds.amount_minor
                    * {{ datediff_days('part_bounds.period_start_date', 'part_bounds.part_start_date') }}
                    / part_bounds.period_days
                ) as bigint)
        end as part_amount_minor
    from part_bounds
),

final as (
    select
        'stripe' as source,
        parts.customer_id,
        parts.document_id,
        parts.line_id,
        parts.kind,
        parts.status,
        parts.plan_id,
        parts.is_proration,
        parts.service_month,
        parts.part_start_date as service_date,
        parts.currency,
        {{ minor_to_major('parts.part_amount_minor', 'currencies.minor_unit_exponent') }} as amount
    from parts
    inner join currencies
        on parts.currency = currencies.currency
    where parts.kind = 'invoice_line' or parts.part_amount_minor <> 0
)

select * from final
