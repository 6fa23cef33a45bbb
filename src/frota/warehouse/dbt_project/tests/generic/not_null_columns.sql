{#- One query for a model's required columns: the rows where any of `columns` is null. One
    test node instead of a `not_null` per column: each node costs dbt's per-node overhead
    (compile, a query, its events and files) on every build. -#}
{% test not_null_columns(model, columns) %}
select *
from {{ model }}
where false
{%- for column in columns %}
    or {{ column }} is null
{%- endfor %}
{% endtest %}
