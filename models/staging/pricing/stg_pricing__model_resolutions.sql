with

model_resolutions as (
    select * from {{ source('pricing', 'model_resolutions') }}
),

final as (
    select
        raw_provider,
        raw_model,
        raw_provider || '/' || raw_model as model_resolution_id,
        calls_seen,
        is_resolved,
        price_provider_id,
        price_model_id,
        is_context_priced,
        unresolved_reason,
        catalog_version,
        {{ to_utc_timestamp('resolved_at') }} as resolved_at
    from model_resolutions
)

select * from final
