{#
    Whether a model name in a provider's report is the model llm-margin logged: the same string,
    or the logged name plus a dated snapshot suffix, -YYYY-MM-DD (OpenAI: gpt-4o-2024-08-06 for a
    gateway that logs gpt-4o) or -YYYYMMDD (Anthropic: claude-3-5-haiku-20241022). gpt-4o does not
    match gpt-4o-mini-2024-07-18: the suffix must be the date alone.
#}
{% macro provider_model_matches(provider_model, our_model) -%}
    {%- set suffix = 'substring(' ~ provider_model ~ ', length(' ~ our_model ~ ') + 2)' -%}
    (
        {{ provider_model }} = {{ our_model }}
        or (
            substring({{ provider_model }}, 1, length({{ our_model }}) + 1) = concat({{ our_model }}, '-')
            and (
                (length({{ provider_model }}) = length({{ our_model }}) + 11
                    and substring({{ suffix }}, 5, 1) = '-'
                    and {{ try_cast_or_null(suffix, 'date') }} is not null)
                or (length({{ provider_model }}) = length({{ our_model }}) + 9
                    and {{ try_cast_or_null(suffix, 'bigint') }} is not null)
            )
        )
    )
{%- endmacro %}
