{#
    The plan calculator's hypothetical calls, typed as the interface declares them. Ephemeral:
    whether the file exists is checked each time int_call_shapes_priced is built (the plan
    calculator writes the file, then builds that model alone); no rows before the first plan.
#}

{{ config(materialized='ephemeral') }}

with

call_shapes as (
    {{ optional_lake_source('plan_shapes', 'call_shapes') }}
),

final as (
    select
        cast(call_shapes.shape_set as string) as shape_set,
        cast(call_shapes.feature as string) as feature,
        cast(call_shapes.task_key as string) as task_key,
        cast(call_shapes.call_index as integer) as call_index,
        cast(call_shapes.provider as string) as provider,
        cast(call_shapes.model as string) as model,
        cast(call_shapes.service_tier as string) as service_tier,
        cast(call_shapes.price_date as date) as price_date,
        cast(call_shapes.second_of_day as integer) as second_of_day,
        cast(call_shapes.prompt_tokens as bigint) as prompt_tokens,
        cast(call_shapes.cached_prompt_tokens as bigint) as cached_prompt_tokens,
        cast(call_shapes.cache_write_tokens as bigint) as cache_write_tokens,
        cast(call_shapes.completion_tokens as bigint) as completion_tokens,
        cast(call_shapes.reasoning_tokens as bigint) as reasoning_tokens
    from call_shapes
)

select * from final
