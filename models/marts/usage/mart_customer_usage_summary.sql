{#
    What arrived per customer: records received, quarantined, collapsed as duplicates or stream
    versions, and the calls, tokens and cost that remain, per the customer each call is charged
    to (its task's, as in fct_llm_calls: an untagged retry counts for its task's customer).
    Quarantined records count under the customer readable in them; records with none, and
    orphan calls whose task named no customer, are '(untagged)'.
#}

with

quarantined as (
    select * from {{ ref('quarantined_usage_events') }}
),

llm_calls as (
    select * from {{ ref('fct_llm_calls') }}
),

calls_by_customer as (
    select
        coalesce(llm_calls.customer_id, '(untagged)') as customer_id,
        cast(count(*) as bigint) as calls,
        cast(sum(llm_calls.versions_received) as bigint) as records_loaded,
        cast(sum(llm_calls.versions_received - 1) as bigint) as records_collapsed,
        cast(sum(case when llm_calls.is_incomplete then 1 else 0 end) as bigint) as incomplete_calls,
        cast(count(distinct llm_calls.workspace_id) as bigint) as workspaces,
        cast(sum(llm_calls.prompt_tokens) as bigint) as prompt_tokens,
        cast(sum(llm_calls.cached_prompt_tokens) as bigint) as cached_prompt_tokens,
        cast(sum(llm_calls.completion_tokens) as bigint) as completion_tokens,
        cast(sum(llm_calls.reasoning_tokens) as bigint) as reasoning_tokens,
        cast(sum(llm_calls.cost_usd) as decimal(24, 12)) as cost_usd,
        cast(sum(case when llm_calls.is_priced then 0 else 1 end) as bigint) as unpriced_calls,
        min(llm_calls.occurred_at) as first_call_at,
        max(llm_calls.occurred_at) as last_call_at
    from llm_calls
    group by coalesce(llm_calls.customer_id, '(untagged)')
),

quarantined_by_customer as (
    select
        coalesce(quarantined.customer_id, '(untagged)') as customer_id,
        cast(count(*) as bigint) as records_quarantined
    from quarantined
    group by coalesce(quarantined.customer_id, '(untagged)')
),

final as (
    select
        coalesce(calls_by_customer.customer_id, quarantined_by_customer.customer_id) as customer_id,
        coalesce(calls_by_customer.records_loaded, 0) as records_loaded,
        coalesce(quarantined_by_customer.records_quarantined, 0) as records_quarantined,
        coalesce(calls_by_customer.records_collapsed, 0) as records_collapsed,
        coalesce(calls_by_customer.calls, 0) as calls,
        coalesce(calls_by_customer.incomplete_calls, 0) as incomplete_calls,
        coalesce(calls_by_customer.workspaces, 0) as workspaces,
        coalesce(calls_by_customer.prompt_tokens, 0) as prompt_tokens,
        coalesce(calls_by_customer.cached_prompt_tokens, 0) as cached_prompt_tokens,
        coalesce(calls_by_customer.completion_tokens, 0) as completion_tokens,
        coalesce(calls_by_customer.reasoning_tokens, 0) as reasoning_tokens,
        coalesce(calls_by_customer.prompt_tokens, 0)
        + coalesce(calls_by_customer.completion_tokens, 0) as total_tokens,
        coalesce(calls_by_customer.cost_usd, cast(0 as decimal(24, 12))) as cost_usd,
        coalesce(calls_by_customer.unpriced_calls, 0) as unpriced_calls,
        calls_by_customer.first_call_at,
        calls_by_customer.last_call_at
    from calls_by_customer
    full outer join quarantined_by_customer
        on calls_by_customer.customer_id = quarantined_by_customer.customer_id
)

select * from final
