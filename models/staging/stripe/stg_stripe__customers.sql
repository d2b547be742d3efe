{#
    Stripe customers in the shape of stg_billing__customers (which unions them with the CSV
    export's): customer_id is metadata.llm_margin_customer_id when set, else the Stripe id; UTM
    source, medium and campaign from the metadata keys utm_source, utm_medium, utm_campaign;
    signed_up_at is the customer's `created`. plan_id is the plan of its subscription item that
    is live (active, trialing, past_due; the latest current period first), else of its latest
    subscription item at all (a canceled subscription keeps its last plan), else of the
    latest-starting line billed to it: the item's product's metadata.llm_margin_plan_id, else
    the product id. Stripe customers sharing a metadata.llm_margin_customer_id are one customer,
    named by the latest created.
#}

with

customers as (
    select * from {{ ref('base_stripe__customers') }}
),

subscription_items as (
    select * from {{ ref('base_stripe__subscription_items') }}
),

invoices as (
    select * from {{ ref('base_stripe__invoices') }}
),

invoice_lines as (
    select * from {{ ref('base_stripe__invoice_lines') }}
),

products as (
    select * from {{ ref('base_stripe__products') }}
),

prices as (
    select * from {{ ref('base_stripe__prices') }}
),

plan_candidates as (
    select
        subscription_items.stripe_customer_id,
        coalesce(products.plan_id, subscription_items.product_id, prices.product_id) as plan_id,
        1 as from_subscription,
        case when subscription_items.status in ('active', 'trialing', 'past_due') then 1 else 0 end
            as is_live,
        subscription_items.current_period_start as starts_at
    from subscription_items
    left join prices
        on subscription_items.price_id = prices.price_id
    left join products
        on coalesce(subscription_items.product_id, prices.product_id) = products.product_id
    union all
    select
        invoices.stripe_customer_id,
        coalesce(products.plan_id, invoice_lines.product_id, prices.product_id) as plan_id,
        0 as from_subscription,
        0 as is_live,
        cast(invoice_lines.period_start_date as timestamp) as starts_at
    from invoice_lines
    inner join invoices
        on invoice_lines.invoice_id = invoices.invoice_id
    left join prices
        on invoice_lines.price_id = prices.price_id
    left join products
        on coalesce(invoice_lines.product_id, prices.product_id) = products.product_id
    where invoices.status in ('paid', 'open') and invoice_lines.net_amount > 0
),

plans_ranked as (
    select
        plan_candidates.stripe_customer_id,
        plan_candidates.plan_id,
        row_number() over (
            partition by plan_candidates.stripe_customer_id
            order by
                plan_candidates.from_subscription desc,
                plan_candidates.is_live desc,
                plan_candidates.starts_at desc,
                plan_candidates.plan_id
        ) as plan_rank
    from plan_candidates
    where plan_candidates.plan_id is not null
),

customers_ranked as (
    select
        customers.*,
        {# two Stripe customers with one llm_margin_customer_id (say, one per currency) are one
           customer: the latest created names it #}
        row_number() over (
            partition by customers.customer_id
            order by customers.created_at desc, customers.stripe_customer_id desc
        ) as customer_rank
    from customers
),

final as (
    select
        customers.customer_id,
        customers.customer_name,
        plans_ranked.plan_id,
        customers.created_at as signed_up_at,
        customers.utm_source,
        customers.utm_medium,
        customers.utm_campaign,
        customers.source_file,
        customers.stripe_customer_id,
        customers.currency
    from customers_ranked as customers
    left join plans_ranked
        on customers.stripe_customer_id = plans_ranked.stripe_customer_id
        and plans_ranked.plan_rank = 1
    where customers.customer_rank = 1
)

select * from final
