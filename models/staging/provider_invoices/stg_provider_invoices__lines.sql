{#
    The lines of the latest invoice of each provider and month. An invoice file is the whole
    invoice of one provider month: a corrected invoice (a new file) replaces the one loaded before
    it, which stays in the lake. Within one file a (provider, month, model) listed twice is summed
    by the mart, not here: staging keeps every line of the invoice it keeps.
#}

with

lines as (
    select * from {{ source('provider_invoices', 'lines') }}
),

latest_file as (
    select
        lines.provider,
        lines.invoice_month,
        max(lines._loaded_at) as loaded_at
    from lines
    group by lines.provider, lines.invoice_month
),

final as (
    select
        concat(lines._file_sha256, ':', cast(lines._source_row as string)) as invoice_line_id,
        lower(lines.provider) as provider,
        cast(concat(lines.invoice_month, '-01') as date) as invoice_month,
        lines.model,
        lines.requests,
        cast(lines.amount_usd as decimal(24, 12)) as amount_usd,
        upper(lines.currency) as currency,
        lines._source_file as source_file,
        lines._source_row as source_row
    from lines
    inner join latest_file
        on lines.provider = latest_file.provider
        and lines.invoice_month = latest_file.invoice_month
        and lines._loaded_at = latest_file.loaded_at
)

select * from final
