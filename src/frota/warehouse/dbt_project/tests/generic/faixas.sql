{#- One query for a mart's ranges: every column of `nao_negativas` is >= 0 and every column
    of `fracoes` lies in [0, 1] (nulls pass). One test node instead of one per column: each
    node costs a query on every build. -#}
{% test faixas(model, nao_negativas=[], fracoes=[]) %}
select *
from {{ model }}
where false
{%- for column in nao_negativas %}
    or {{ column }} < 0
{%- endfor %}
{%- for column in fracoes %}
    or {{ column }} < 0 or {{ column }} > 1
{%- endfor %}
{% endtest %}
