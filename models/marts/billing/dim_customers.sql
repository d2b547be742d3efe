{#
    One row per customer of the latest customers export, with the name people know it by: the
    screens (the weekly report, BI tools) show names and keep the id beside them. Customers that
    appear only in usage data are not here (their name is unknown); readers fall back to the id.
#}

with

customers as (
    select * from {{ ref('stg_billing__customers') }}
),

final as (
    select
        customers.customer_id,
        customers.customer_name
    from customers
)

select * from final
