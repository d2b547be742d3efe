{#
    What each customer was billed per month, in the reporting currency (docs/margin.md "Revenue",
    docs/currencies.md): one row per customer and month that any revenue part serves
    (stg_billing__revenue_lines, every billing source). Paid and open parts are revenue (accrual:
    an open invoice bills a service delivered; revenue_open_usd says how much is not paid yet);
    uncollectible parts are not, and are shown as uncollectible_usd; void invoices never reach
    here. Credit notes and refunds are negative parts and net in.

    Each part is converted at the rate of its service date (int_fx__revenue_rates); a part already
    in the reporting currency needs no rate. If any revenue part of the month has no usable rate,
    revenue_usd is null and unconverted_reason says why: a month is never shown with its foreign
    revenue as zero.

    plan_id is the plan in force at month end: with a mid-month plan change, the plan the
    customer carried into its next billed month, else the plan of its latest-starting charged
    part, else its current plan in the customers export, else the dearer plan. Customers missing
    from the customers export keep their rows (DECISIONLOG 2026-11-29).
#}

{%- set reporting = reporting_currency() %}

with

revenue_lines as (
    select * from {{ ref('stg_billing__revenue_lines') }}
),

rates as (
    select * from {{ ref('int_fx__revenue_rates') }}
),

customers as (
    select * from {{ ref('stg_billing__customers') }}
),

plans as (
    select * from {{ ref('stg_billing__plans') }}
),

parts_converted as (
    select
        revenue_lines.customer_id,
        revenue_lines.service_month as month,
        revenue_lines.service_date,
        revenue_lines.document_id,
        revenue_lines.kind,
        revenue_lines.status,
        revenue_lines.status in ('paid', 'open') as is_revenue,
        revenue_lines.plan_id,
        revenue_lines.currency,
        revenue_lines.amount,
        case
            when revenue_lines.currency = '{{ reporting }}' then revenue_lines.amount
            else {{ convert_currency('revenue_lines.amount', 'rates.rate') }}
        end as amount_reporting,
        rates.unconverted_reason
    from revenue_lines
    left join rates
        on
            revenue_lines.currency = rates.currency
            and revenue_lines.service_date = rates.service_date
),

monthly_totals as (
    select
        parts_converted.customer_id,
        parts_converted.month,
        case when count(distinct parts_converted.currency) = 1 then max(parts_converted.currency) end
            as billing_currency,
        case when count(distinct parts_converted.currency) = 1
            then cast(
                coalesce(sum(case when parts_converted.is_revenue then parts_converted.amount end), 0)
                as decimal(24, 12)
            )
        end as revenue_in_billing_currency,
        case when count(case when parts_converted.is_revenue and parts_converted.amount_reporting is null then 1 end) = 0
            then cast(
                coalesce(sum(case when parts_converted.is_revenue then parts_converted.amount_reporting end), 0)
                as decimal(24, 12)
            )
        end as revenue_usd,
        case when count(case when parts_converted.status = 'open' and parts_converted.amount_reporting is null then 1 end) = 0
            then cast(
                coalesce(sum(case when parts_converted.status = 'open' then parts_converted.amount_reporting end), 0)
                as decimal(24, 12)
            )
        end as revenue_open_usd,
        case when count(case when parts_converted.status = 'uncollectible' and parts_converted.amount_reporting is null then 1 end) = 0
            then cast(
                coalesce(sum(case when parts_converted.status = 'uncollectible' then parts_converted.amount_reporting end), 0)
                as decimal(24, 12)
            )
        end as uncollectible_usd,
        min(parts_converted.unconverted_reason) as unconverted_reason,
        cast(
            count(distinct case when parts_converted.kind in ('csv_invoice', 'invoice_line') then parts_converted.document_id end)
            as bigint
        ) as invoices,
        count(distinct case when parts_converted.is_revenue then parts_converted.plan_id end) > 1 as has_plan_change
    from parts_converted
    group by parts_converted.customer_id, parts_converted.month
),

months_with_next as (
    select
        monthly_totals.*,
        lead(monthly_totals.month) over (
            partition by monthly_totals.customer_id order by monthly_totals.month
        ) as next_billed_month
    from monthly_totals
),

plans_billed as (
    select
        parts_converted.customer_id,
        parts_converted.month,
        parts_converted.plan_id,
        max(case when parts_converted.amount > 0 then 1 else 0 end) as is_charged,
        max(case when parts_converted.amount > 0 then parts_converted.service_date end) as charged_from
    from parts_converted
    where parts_converted.plan_id is not null and parts_converted.is_revenue
    group by parts_converted.customer_id, parts_converted.month, parts_converted.plan_id
),

plan_candidates_ranked as (
    select
        months_with_next.customer_id,
        months_with_next.month,
        plans_billed.plan_id,
        row_number() over (
            partition by months_with_next.customer_id, months_with_next.month
            order by
                case when plans_billed_next.plan_id is not null then 1 else 0 end desc,
                plans_billed.charged_from desc nulls last,
                case when plans_billed.plan_id = customers.plan_id then 1 else 0 end desc,
                plans_billed.is_charged desc,
                plans.price_per_month_usd desc nulls last,
                plans_billed.plan_id desc
        ) as plan_rank
    from months_with_next
    inner join plans_billed
        on
            months_with_next.customer_id = plans_billed.customer_id
            and months_with_next.month = plans_billed.month
    left join plans_billed as plans_billed_next
        on
            months_with_next.customer_id = plans_billed_next.customer_id
            and months_with_next.next_billed_month = plans_billed_next.month
            and plans_billed.plan_id = plans_billed_next.plan_id
    left join customers
        on months_with_next.customer_id = customers.customer_id
    left join plans
        on plans_billed.plan_id = plans.plan_id
),

final as (
    select
        months_with_next.customer_id,
        months_with_next.month,
        coalesce(plan_candidates_ranked.plan_id, customers.plan_id) as plan_id,
        months_with_next.billing_currency,
        months_with_next.revenue_in_billing_currency,
        '{{ reporting }}' as reporting_currency,
        months_with_next.revenue_usd,
        months_with_next.revenue_open_usd,
        months_with_next.uncollectible_usd,
        months_with_next.unconverted_reason,
        months_with_next.invoices,
        months_with_next.has_plan_change
    from months_with_next
    left join plan_candidates_ranked
        on
            months_with_next.customer_id = plan_candidates_ranked.customer_id
            and months_with_next.month = plan_candidates_ranked.month
            and plan_candidates_ranked.plan_rank = 1
    left join customers
        on months_with_next.customer_id = customers.customer_id
)

select * from final
