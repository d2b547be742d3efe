{#
    Every amount that makes revenue, from every billing source, in one shape: one row per revenue
    part (docs/margin.md "Revenue"). The CSV invoices export gives one part per invoice, serving its
    invoice month (service_date = the month's first day). Void invoices earn nothing and are left
    out here; paid, open and uncollectible parts stay, and int_customer_monthly_revenue says which
    count as revenue. Amounts are in the part's own currency: conversion happens once, downstream.
#}

with

csv_invoices as (
    select * from {{ ref('stg_billing__invoices') }}
),

csv_parts as (
    select
        'csv' as source,
        csv_invoices.customer_id,
        csv_invoices.invoice_id as document_id,
        csv_invoices.invoice_id as line_id,
        'csv_invoice' as kind,
        csv_invoices.status,
        csv_invoices.plan_id,
        false as is_proration,
        cast(concat(csv_invoices.invoice_month, '-01') as date) as service_month,
        cast(concat(csv_invoices.invoice_month, '-01') as date) as service_date,
        csv_invoices.currency,
        csv_invoices.amount
    from csv_invoices
    where csv_invoices.status != 'void'
),

final as (
    select * from csv_parts
)

select * from final
