{#
    AI gross margin per acquisition channel (the customer's utm_source, utm_medium, utm_campaign
    in the customers export; '(none)' when missing) and month: the customer margin mart summed by
    channel. Customers the customers export does not list are '(unknown customer)' in all three.
#}

with

customer_margin as (
    select * from {{ ref('mart_customer_monthly_margin') }}
),

customers as (
    select * from {{ ref('stg_billing__customers') }}
),

customer_margin_with_channels as (
    select
        customer_margin.*,
        case
            when customers.customer_id is null then '(unknown customer)'
            else coalesce(nullif(trim(customers.utm_source), ''), '(none)')
        end as utm_source,
        case
            when customers.customer_id is null then '(unknown customer)'
            else coalesce(nullif(trim(customers.utm_medium), ''), '(none)')
        end as utm_medium,
        case
            when customers.customer_id is null then '(unknown customer)'
            else coalesce(nullif(trim(customers.utm_campaign), ''), '(none)')
        end as utm_campaign
    from customer_margin
    left join customers
        on customer_margin.customer_id = customers.customer_id
),

by_channel as (
    select
        customer_margin_with_channels.utm_source,
        customer_margin_with_channels.utm_medium,
        customer_margin_with_channels.utm_campaign,
        customer_margin_with_channels.month,
        customer_margin_with_channels.is_month_to_date,
        cast(count(*) as bigint) as customers,
        cast(sum(case when customer_margin_with_channels.calls > 0 then 1 else 0 end) as bigint)
            as active_customers,
        {{ sum_if_all_known('customer_margin_with_channels.revenue_usd') }} as revenue_usd,
        cast(count(customer_margin_with_channels.unconverted_reason) as bigint) as unconverted_customers,
        cast(sum(customer_margin_with_channels.ai_cost_usd) as decimal(24, 12)) as ai_cost_usd,
        cast(sum(customer_margin_with_channels.tasks) as bigint) as tasks,
        cast(sum(customer_margin_with_channels.successful_tasks) as bigint) as successful_tasks
    from customer_margin_with_channels
    group by
        customer_margin_with_channels.utm_source,
        customer_margin_with_channels.utm_medium,
        customer_margin_with_channels.utm_campaign,
        customer_margin_with_channels.month,
        customer_margin_with_channels.is_month_to_date
),

final as (
    select
        utm_source,
        utm_medium,
        utm_campaign,
        month,
        is_month_to_date,
        customers,
        active_customers,
        revenue_usd,
        unconverted_customers,
        ai_cost_usd,
        cast(revenue_usd - ai_cost_usd as decimal(24, 12)) as gross_margin_usd,
        {{ margin_pct('revenue_usd', 'ai_cost_usd') }} as gross_margin_pct,
        {{ cost_per('ai_cost_usd', 'active_customers') }} as cost_per_active_customer_usd,
        tasks,
        successful_tasks,
        {{ cost_per('ai_cost_usd', 'successful_tasks') }} as cost_per_successful_task_usd,
        revenue_usd - ai_cost_usd < 0 as is_negative_margin
    from by_channel
)

select * from final
