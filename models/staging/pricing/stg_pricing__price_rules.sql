{#
    Price rules of every pricing file ever loaded, typed, in load order (load_sequence).
#}

with

price_rules as (
    select * from {{ source('pricing', 'price_rules') }}
),

typed as (
    select
        _file_sha256 as price_file_sha256,
        _source_file as price_file,
        source as price_source,
        case source
            when 'negotiated' then 1
            when 'litellm' then 2
            else 3
        end as source_priority,
        export_version,
        {{ to_utc_timestamp('_loaded_at') }} as price_file_loaded_at,
        provider_id,
        model_id,
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
        cast(usd_per_unit as decimal(20, 12)) as usd_per_unit
    from price_rules
),

final as (
    select
        typed.*,
        dense_rank() over (order by typed.price_file_loaded_at, typed.price_file_sha256) as load_sequence
    from typed
)

select * from final
