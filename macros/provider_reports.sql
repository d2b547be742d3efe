{#
    The rows of a provider report table that come from the latest pull of their UTC day, with
    that day as usage_date. A report restates its recent days, so every pull stays in the lake and
    a day is read from the file loaded last (then the later file name, then the hash, so a tie is
    deterministic), even when that pull says less than an earlier one.
#}
{% macro latest_pull_rows(relation) -%}
    with report_rows as (
        select
            results.*,
            cast({{ to_utc_timestamp('results.bucket_start') }} as date) as usage_date
        from {{ relation }} as results
    ),

    report_pulls_ranked as (
        select
            report_rows.usage_date,
            report_rows._file_sha256,
            row_number() over (
                partition by report_rows.usage_date
                order by max(report_rows._loaded_at) desc, max(report_rows._source_file) desc, report_rows._file_sha256 desc
            ) as pull_rank
        from report_rows
        group by report_rows.usage_date, report_rows._file_sha256
    )

    select report_rows.*
    from report_rows
    inner join report_pulls_ranked
        on
            report_rows.usage_date = report_pulls_ranked.usage_date
            and report_rows._file_sha256 = report_pulls_ranked._file_sha256
            and report_pulls_ranked.pull_rank = 1
{%- endmacro %}
