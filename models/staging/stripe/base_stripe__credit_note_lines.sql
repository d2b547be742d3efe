{#
    The lines of each credit note's latest snapshot (ranked over the snapshots seen in its lines
    and refunds), in the smallest unit; net_amount = amount − discounts − inclusive tax.
#}

with

lines as (
    select * from {{ source('stripe', 'credit_note_lines') }}
),

snapshots as (
    select * from {{ ref('base_stripe__credit_note_snapshots') }}
),

final as (
    select
        lines.credit_note_id,
        lines.invoice_id,
        lines.customer_id as stripe_customer_id,
        lines.currency,
        lines.status,
        lines.line_id,
        lines.line_index,
        lines.line_type,
        lines.invoice_line_id,
        lines.amount - lines.discount_amount - lines.inclusive_tax_amount as net_amount
    from lines
    inner join snapshots
        on
            lines.credit_note_id = snapshots.credit_note_id
            and lines._file_sha256 = snapshots.snapshot_file_sha256
            and lines._source_row = snapshots.snapshot_source_row
)

select * from final
