{#
    Fails for every row where the expression is not true (null counts as a failure).
    Usage (model or column level):
        data_tests:
          - expression_is_true:
              arguments:
                expression: "records_read = records_loaded + records_quarantined"
#}
{% test expression_is_true(model, expression, column_name=None) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
