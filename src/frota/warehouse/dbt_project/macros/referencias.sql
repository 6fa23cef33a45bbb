{#- The values of many models' columns missing from `alvo`.`campo`: a `relationships` check
    over all of them in one query, so one test node (each node costs dbt's fixed per-node
    overhead on every build). `colunas`: [model, column, where] triples (where: a filter, or
    none for every row). Nulls are not checked, as in `relationships`. -#}
{% macro ausentes_em(colunas, alvo, campo) -%}
with

valores as (
    {%- for modelo, coluna, filtro in colunas %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        '{{ modelo }}.{{ coluna }}' as coluna,
        {{ coluna }} as valor
    from {{ ref(modelo) }}
    {%- if filtro %}
    where {{ filtro }}
    {%- endif %}
    {%- endfor %}

)

select distinct
    v.coluna,
    v.valor
from valores as v
where
    v.valor is not null
    and not exists (
        select 1 from {{ ref(alvo) }} as a
        where a.{{ campo }} = v.valor
    )
{%- endmacro %}
