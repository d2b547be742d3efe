{#
    The workspaces of the latest workspaces export (an export is a full list: the latest one replaces the
    ones before, which stay in the lake). A workspace_id listed twice keeps its first row.
#}

with

exports as (
    select * from {{ source('billing', 'workspaces') }}
),

latest_export as (
    select max(exports._loaded_at) as loaded_at
    from exports
),

rows_ranked as (
    select
        exports.workspace_id,
        exports.customer_id,
        exports.workspace_name,
        exports.monthly_hard_cap_usd,
        exports._source_file as source_file,
        row_number() over (partition by exports.workspace_id order by exports._source_row) as row_rank
    from exports
    inner join latest_export
        on exports._loaded_at = latest_export.loaded_at
),

final as (
    select
        workspace_id,
        customer_id,
        workspace_name,
        monthly_hard_cap_usd,
        source_file
    from rows_ranked
    where row_rank = 1
)

select * from final
