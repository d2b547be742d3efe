{#
    Price rules of every loaded export, typed. The export loaded last is the one in force
    (is_current_export); older exports stay for history.
#}

with

price_rules as (
    select * from {{ source('pricing', 'price_rules') }}
),

typed as (
    select
        _file_sha256 as export_sha256,
        source as price_source,
        export_version,
        {{ to_utc_timestamp('_loaded_at') }} as export_loaded_at,
        provider_id as price_provider_id,
        model_id as price_model_id,
        rule_kind,
        rule_rank,
        context_key,
        context_value,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to,
        case when tod_start is not null then
            cast(substr(tod_start, 1, 2) as integer) * 3600
            + cast(substr(tod_start, 4, 2) as integer) * 60
            + cast(substr(tod_start, 7, 2) as integer)
        end as tod_start_second,
        case when tod_end is not null then
            cast(substr(tod_end, 1, 2) as integer) * 3600
            + cast(substr(tod_end, 4, 2) as integer) * 60
            + cast(substr(tod_end, 7, 2) as integer)
        end as tod_end_second,
        price_key,
        usage_key,
        unit_per,
        tier_start,
        cast(usd_per_unit as decimal(38, 12)) as usd_per_unit
    from price_rules
),

final as (
    select
        typed.*,
        typed.export_loaded_at = max(typed.export_loaded_at) over () as is_current_export
    from typed
)

select * from final
