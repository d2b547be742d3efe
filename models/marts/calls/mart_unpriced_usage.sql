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
        count(*) as calls,
        sum(calls.prompt_tokens) as prompt_tokens,
        sum(calls.completion_tokens) as completion_tokens,
        min(calls.occurred_at) as first_call_at,
        max(calls.occurred_at) as last_call_at
    from calls
    where not calls.is_priced
    group by calls.provider, calls.model, calls.unpriced_reason
)

select * from final
