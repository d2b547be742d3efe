{#
    What each provider billed against what we computed, per provider and month, with the likely
    cause of a difference (docs/provider-reconciliation.md):

        not invoiced      we have priced calls for the month but no invoice yet
        within tolerance  |billed - computed| <= tolerance x computed
        unpriced models   invoice lines for models none of our priced calls match explain at
                          least half the difference
        unexplained       the invoice gives no request counts: cannot tell drift from lost events
        missing events    the provider billed more requests than we priced (beyond tolerance), and
                          the share of extra requests is at least half the share of extra cost
        price drift       otherwise: about the same requests, another amount

    The llm-margin side is int_llm_calls__by_provider_day_model rolled up to the month (the same
    sums the daily reconciliation reads). reported_usd is what the providers' own daily cost
    reports add up to for the month (null when the provider has no reports): the causes are
    judged on the invoice; the reports show what to expect before it arrives.

    The tolerance is var('provider_reconciliation_tolerance_pct'), else
    $LLM_MARGIN_RECONCILIATION_TOLERANCE_PCT, else 1 (percent).
#}

{%- set tolerance_pct = var('provider_reconciliation_tolerance_pct', env_var('LLM_MARGIN_RECONCILIATION_TOLERANCE_PCT', '1')) | float %}

with

invoice_lines as (
    select * from {{ ref('stg_provider_invoices__lines') }}
),

calls_by_day as (
    select * from {{ ref('int_llm_calls__by_provider_day_model') }}
),

reported_cost as (
    select * from {{ ref('int_provider_reports__cost_by_day_model') }}
),

calls_by_model as (
    select
        calls_by_day.provider,
        {{ month_start('calls_by_day.event_date') }} as invoice_month,
        calls_by_day.model,
        calls_by_day.price_model_id,
        sum(calls_by_day.calls) as calls,
        sum(calls_by_day.priced_calls) as priced_calls,
        sum(calls_by_day.cost_usd) as cost_usd
    from calls_by_day
    group by
        calls_by_day.provider,
        {{ month_start('calls_by_day.event_date') }},
        calls_by_day.model,
        calls_by_day.price_model_id
),

reported as (
    select
        reported_cost.provider,
        {{ month_start('reported_cost.usage_date') }} as invoice_month,
        sum(reported_cost.cost_usd) as reported_usd
    from reported_cost
    group by reported_cost.provider, {{ month_start('reported_cost.usage_date') }}
),

computed as (
    select
        calls_by_model.provider,
        calls_by_model.invoice_month,
        sum(calls_by_model.calls) as logged_calls,
        sum(calls_by_model.priced_calls) as priced_calls,
        sum(calls_by_model.cost_usd) as computed_cost_usd
    from calls_by_model
    group by calls_by_model.provider, calls_by_model.invoice_month
),

priced_logged_names as (
    -- an invoice line matches our calls by the model string we logged ...
    select distinct
        calls_by_model.provider,
        calls_by_model.invoice_month,
        calls_by_model.model as model_name
    from calls_by_model
    where calls_by_model.priced_calls > 0
),

priced_catalog_names as (
    -- ... or by the catalog model it resolved to (no union: Spark 4 failed to deserialise one)
    select distinct
        calls_by_model.provider,
        calls_by_model.invoice_month,
        calls_by_model.price_model_id as model_name
    from calls_by_model
    where calls_by_model.priced_calls > 0
        and calls_by_model.price_model_id is not null
),

invoice_lines_matched as (
    select
        invoice_lines.provider,
        invoice_lines.invoice_month,
        invoice_lines.requests,
        invoice_lines.amount_usd,
        case
            when priced_logged_names.model_name is not null then true
            when priced_catalog_names.model_name is not null then true
            else false
        end as is_priced_model
    from invoice_lines
    left join priced_logged_names
        on invoice_lines.provider = priced_logged_names.provider
        and invoice_lines.invoice_month = priced_logged_names.invoice_month
        and invoice_lines.model = priced_logged_names.model_name
    left join priced_catalog_names
        on invoice_lines.provider = priced_catalog_names.provider
        and invoice_lines.invoice_month = priced_catalog_names.invoice_month
        and invoice_lines.model = priced_catalog_names.model_name
),

billed as (
    select
        invoice_lines_matched.provider,
        invoice_lines_matched.invoice_month,
        count(*) as invoice_lines,
        sum(invoice_lines_matched.amount_usd) as billed_usd,
        sum(
            case when invoice_lines_matched.is_priced_model then 0 else invoice_lines_matched.amount_usd end
        ) as unpriced_billed_usd,
        sum(
            case when invoice_lines_matched.is_priced_model then invoice_lines_matched.requests end
        ) as billed_requests,
        sum(
            case
                when invoice_lines_matched.is_priced_model and invoice_lines_matched.requests is null then 1
                else 0
            end
        ) as lines_without_requests
    from invoice_lines_matched
    group by invoice_lines_matched.provider, invoice_lines_matched.invoice_month
),

compared as (
    select
        coalesce(billed.provider, computed.provider) as provider,
        coalesce(billed.invoice_month, computed.invoice_month) as invoice_month,
        cast(coalesce(computed.logged_calls, 0) as bigint) as logged_calls,
        cast(coalesce(computed.priced_calls, 0) as bigint) as priced_calls,
        cast(billed.billed_requests as bigint) as billed_requests,
        coalesce(billed.invoice_lines, 0) as invoice_lines,
        billed.lines_without_requests,
        cast(coalesce(computed.computed_cost_usd, 0) as decimal(24, 12)) as computed_cost_usd,
        cast(billed.billed_usd as decimal(24, 12)) as billed_usd,
        cast(billed.unpriced_billed_usd as decimal(24, 12)) as unpriced_billed_usd
    from billed
    full outer join computed
        on billed.provider = computed.provider
        and billed.invoice_month = computed.invoice_month
),

differences as (
    select
        compared.*,
        cast(compared.billed_usd - compared.computed_cost_usd as decimal(24, 12)) as difference_usd,
        case
            when compared.computed_cost_usd > 0
                then cast(compared.billed_usd - compared.computed_cost_usd as double)
                / cast(compared.computed_cost_usd as double) * 100
        end as difference_pct,
        cast({{ tolerance_pct }} as double) as tolerance_pct
    from compared
),

final as (
    select
        concat(differences.provider, ':', cast(differences.invoice_month as string)) as reconciliation_id,
        differences.provider,
        differences.invoice_month as month,
        differences.computed_cost_usd,
        differences.billed_usd,
        differences.difference_usd,
        differences.difference_pct,
        differences.unpriced_billed_usd,
        differences.logged_calls,
        differences.priced_calls,
        differences.billed_requests,
        differences.invoice_lines,
        differences.tolerance_pct,
        cast(reported.reported_usd as decimal(24, 12)) as reported_usd,
        cast(differences.billed_usd - reported.reported_usd as decimal(24, 12)) as billed_minus_reported_usd,
        case
            when differences.billed_usd is null then null
            else abs(cast(differences.difference_usd as double))
                <= differences.tolerance_pct / 100 * cast(differences.computed_cost_usd as double)
        end as is_within_tolerance,
        case
            when differences.billed_usd is null then 'not invoiced'
            when abs(cast(differences.difference_usd as double))
                <= differences.tolerance_pct / 100 * cast(differences.computed_cost_usd as double)
                then 'within tolerance'
            when differences.unpriced_billed_usd > 0
                and cast(differences.unpriced_billed_usd as double)
                >= abs(cast(differences.difference_usd as double)) / 2
                then 'unpriced models'
            when differences.billed_requests is null or differences.lines_without_requests > 0
                then 'unexplained'
            when differences.billed_requests
                > differences.priced_calls * (1 + differences.tolerance_pct / 100)
                and cast(differences.billed_requests - differences.priced_calls as double)
                / differences.priced_calls
                >= cast(differences.difference_usd as double)
                / cast(differences.computed_cost_usd as double) / 2
                then 'missing events'
            else 'price drift'
        end as likely_cause
    from differences
    left join reported
        on differences.provider = reported.provider
        and differences.invoice_month = reported.invoice_month
)

select * from final
