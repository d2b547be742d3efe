{#
    Stripe products as plans, in the shape of stg_billing__plans (which unions them with the CSV
    export's): one row per product; plan_id is metadata.llm_margin_plan_id, else the product id;
    target_gross_margin_pct is metadata.llm_margin_target_gross_margin_pct. Plans stay in USD:
    price_per_month_usd is the product's monthly USD price (active first, then the latest), null
    when it has none. Stripe knows nothing of included tasks, overage or seats: null. Products
    sharing a plan id are one plan, named by the active one, then the latest created.
#}

with

products as (
    select * from {{ ref('base_stripe__products') }}
),

prices as (
    select * from {{ ref('base_stripe__prices') }}
),

currencies as (
    select * from {{ ref('currencies') }}
),

monthly_usd_prices_ranked as (
    select
        prices.product_id,
        {{ minor_to_major('prices.unit_amount', 'currencies.minor_unit_exponent') }} as price_per_month_usd,
        row_number() over (
            partition by prices.product_id
            order by case when prices.is_active then 1 else 0 end desc, prices.created_at desc, prices.price_id
        ) as price_rank
    from prices
    inner join currencies
        on prices.currency = currencies.currency
    where
        prices.currency = 'USD'
        and prices.recurring_interval = 'month'
        and prices.recurring_interval_count = 1
        and prices.unit_amount is not null
),

products_ranked as (
    select
        products.*,
        {# products sharing a metadata.llm_margin_plan_id (one archived, one live) are one plan:
           the active one names it, then the latest created #}
        row_number() over (
            partition by products.plan_id
            order by case when products.is_active then 1 else 0 end desc, products.created_at desc,
                products.product_id desc
        ) as product_rank
    from products
),

final as (
    select
        products.plan_id,
        products.product_name as plan_name,
        cast(monthly_usd_prices_ranked.price_per_month_usd as decimal(18, 6)) as price_per_month_usd,
        cast(products.target_gross_margin_pct as decimal(9, 4)) as target_gross_margin_pct,
        cast(null as bigint) as included_tasks,
        cast(null as decimal(18, 6)) as overage_per_task_usd,
        cast(null as bigint) as seats_included,
        products.source_file,
        products.product_id
    from products_ranked as products
    left join monthly_usd_prices_ranked
        on products.product_id = monthly_usd_prices_ranked.product_id
        and monthly_usd_prices_ranked.price_rank = 1
    where products.product_rank = 1
)

select * from final
