{# Calls without a price, by provider and model: unknown is not zero, so it is listed here. #}

with

calls as (
    select * from {{ ref('fct_llm_calls') }}
),

final as (
    select
        calls.provider,
        calls.model,
        calls.unpriced_reason,
        cast(count(*) as bigint) as calls,
        cast(sum(calls.prompt_tokens) as bigint) as prompt_tokens,
        cast(sum(calls.completion_tokens) as bigint) as completion_tokens,
        cast(min(calls.occurred_at) as timestamp) as first_call_at,
        cast(max(calls.occurred_at) as timestamp) as last_call_at
    from calls
    where not calls.is_priced
    group by calls.provider, calls.model, calls.unpriced_reason
)

select * from final
