{#
    Reconciliation across layers: the reconciliation mart's computed cost is the cost of the calls
    in fct_llm_calls, and what it says was billed is the sum of the staged invoice lines. A row
    comes back (and the test fails) when either total differs.
#}

with

reconciliation as (
    select * from {{ ref('mart_provider_reconciliation') }}
),

llm_calls as (
    select * from {{ ref('fct_llm_calls') }}
),

invoice_lines as (
    select * from {{ ref('stg_provider_invoices__lines') }}
),

reconciliation_totals as (
    select
        coalesce(sum(reconciliation.computed_cost_usd), 0) as computed_cost_usd,
        coalesce(sum(reconciliation.billed_usd), 0) as billed_usd
    from reconciliation
),

call_totals as (
    select coalesce(sum(llm_calls.cost_usd), 0) as cost_usd
    from llm_calls
),

invoice_totals as (
    select coalesce(sum(invoice_lines.amount_usd), 0) as amount_usd
    from invoice_lines
)

select
    reconciliation_totals.computed_cost_usd,
    call_totals.cost_usd,
    reconciliation_totals.billed_usd,
    invoice_totals.amount_usd
from reconciliation_totals
cross join call_totals
cross join invoice_totals
where reconciliation_totals.computed_cost_usd <> call_totals.cost_usd
    or reconciliation_totals.billed_usd <> invoice_totals.amount_usd
