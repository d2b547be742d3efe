{#
    What each customer was billed per month: one row per customer and month with at least one
    non-void invoice. Void invoices earn nothing and are left out; credit notes (negative amounts)
    net into revenue_usd. plan_id is the plan in force at month end: with a mid-month plan change
    (two prorated invoices on two plans), the plan the customer carried into its next billed
    month, else (the latest month) its current plan in the customers export, else the dearer
    plan. Customers missing from the customers export keep their rows (DECISIONLOG 2026-11-29).
#}

with

invoices as (
    select * from {{ ref('stg_billing__invoices') }}
),

customers as (
    select * from {{ ref('stg_billing__customers') }}
),

plans as (
    select * from {{ ref('stg_billing__plans') }}
),

billed_invoices as (
    select
        invoices.customer_id,
        cast(concat(invoices.invoice_month, '-01') as date) as month,
        invoices.plan_id,
        invoices.amount_usd
    from invoices
    where invoices.status != 'void'
),

monthly_totals as (
    select
        billed_invoices.customer_id,
        billed_invoices.month,
        cast(sum(billed_invoices.amount_usd) as decimal(24, 12)) as revenue_usd,
        cast(count(*) as bigint) as invoices,
        count(distinct billed_invoices.plan_id) > 1 as has_plan_change
    from billed_invoices
    group by billed_invoices.customer_id, billed_invoices.month
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
        billed_invoices.customer_id,
        billed_invoices.month,
        billed_invoices.plan_id,
        max(case when billed_invoices.amount_usd > 0 then 1 else 0 end) as is_charged
    from billed_invoices
    where billed_invoices.plan_id is not null
    group by billed_invoices.customer_id, billed_invoices.month, billed_invoices.plan_id
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
        months_with_next.revenue_usd,
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
