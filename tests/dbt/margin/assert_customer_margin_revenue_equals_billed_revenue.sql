-- Revenue in mart_customer_monthly_margin sums, month by month, to what billing invoiced
-- (int_customer_monthly_revenue) for the months the margin mart covers: no invoice lost or
-- counted twice between billing and margin. (Replaces a test that restated the mart's own
-- gross_margin_usd = revenue_usd - ai_cost_usd.)

with

customer_margin as (
    select * from {{ ref('mart_customer_monthly_margin') }}
),

revenue as (
    select * from {{ ref('int_customer_monthly_revenue') }}
),

margin_months as (
    select distinct customer_margin.month
    from customer_margin
),

billed_by_month as (
    select
        revenue.month,
        sum(revenue.revenue_usd) as billed_usd
    from revenue
    inner join margin_months
        on revenue.month = margin_months.month
    group by revenue.month
),

margin_by_month as (
    select
        customer_margin.month,
        sum(customer_margin.revenue_usd) as margin_revenue_usd
    from customer_margin
    group by customer_margin.month
),

final as (
    select
        margin_by_month.month,
        coalesce(billed_by_month.billed_usd, 0) as billed_usd,
        margin_by_month.margin_revenue_usd
    from margin_by_month
    left join billed_by_month
        on margin_by_month.month = billed_by_month.month
    where coalesce(billed_by_month.billed_usd, 0) <> margin_by_month.margin_revenue_usd
)

select * from final
