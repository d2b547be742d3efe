{#
    OpenAI's costs, one row per UTC day, line item and project of the latest pull of that day.
    The report has no model field: a line item reads "<model>, <component>", sometimes prefixed
    "<tier> | " (e.g. "priority | gpt-4o-2024-08-06, output"). The prefix is the cost tier
    (standard when absent); the model is the text before the last ", ", the component the text
    after it: input, cached input (cache_read), output; anything else is 'other' and still counts
    in the provider's cost. A line item without ", " has no model (web search tool calls).
    amount.value is US dollars.
#}

with

dated as (
    {{ latest_pull_rows(source('provider_reports', 'openai_costs')) }}
),

latest as (
    select
        dated.*,
        case
            when {{ dbt.position("' | '", 'dated.line_item') }} > 0
                then substring(dated.line_item, {{ dbt.position("' | '", 'dated.line_item') }} + 3)
            else dated.line_item
        end as item,
        case
            when {{ dbt.position("' | '", 'dated.line_item') }} > 0
                then substring(dated.line_item, 1, {{ dbt.position("' | '", 'dated.line_item') }} - 1)
            else 'standard'
        end as cost_tier
    from dated
),

split as (
    select
        latest.*,
        -- the last ", " of the item is the first " ," of the item reversed
        {{ dbt.position("' ,'", 'reverse(latest.item)') }} as comma_from_end
    from latest
),

final as (
    select
        concat(split._file_sha256, ':', cast(split._source_row as string)) as report_row_id,
        'openai' as provider,
        split.usage_date,
        split.line_item,
        split.cost_tier,
        case
            when split.comma_from_end > 0
                then substring(split.item, 1, length(split.item) - split.comma_from_end - 1)
        end as model,
        case
            when split.comma_from_end > 0
                then substring(split.item, length(split.item) - split.comma_from_end + 2)
        end as raw_component,
        case
            when split.comma_from_end = 0 then 'other'
            when substring(split.item, length(split.item) - split.comma_from_end + 2) = 'input' then 'input'
            when substring(split.item, length(split.item) - split.comma_from_end + 2) = 'cached input'
                then 'cache_read'
            when substring(split.item, length(split.item) - split.comma_from_end + 2) = 'output' then 'output'
            else 'other'
        end as cost_component,
        split.project_id,
        cast(split.amount_value as decimal(24, 12)) as amount_usd,
        split._source_file as source_file,
        split.position
    from split
)

select * from final
