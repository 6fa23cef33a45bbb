{#- A model's row checks in one query, so one test node: each node costs dbt's fixed per-node
    overhead (compile, queries, events, files: tens of milliseconds) on every build, more than
    most of these queries. Each failing row names the check it broke (verificacao).
    chaves: lists of columns whose combination is unique (a row per repeated key);
    nao_nulas: required columns; valores: {column: accepted values} (quoted unless numbers);
    nao_negativas: columns >= 0; fracoes: columns in [0, 1]. Nulls pass all but nao_nulas. -#}
{% test integridade(model, chaves=[], nao_nulas=[], valores={}, nao_negativas=[], fracoes=[]) %}
{%- set regras = [] -%}
{%- for coluna in nao_nulas -%}
    {%- do regras.append((coluna ~ ' is null', coluna ~ ' is null')) -%}
{%- endfor -%}
{%- for coluna, aceitos in valores.items() -%}
    {%- set lista = [] -%}
    {%- for valor in aceitos -%}
        {%- do lista.append(valor if valor is number else "'" ~ (valor | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {%- set condicao = coluna ~ ' not in (' ~ lista | join(', ') ~ ')' -%}
    {%- do regras.append((condicao, coluna ~ ' not accepted')) -%}
{%- endfor -%}
{%- for coluna in nao_negativas -%}
    {%- do regras.append((coluna ~ ' < 0', coluna ~ ' < 0')) -%}
{%- endfor -%}
{%- for coluna in fracoes -%}
    {%- do regras.append(('(' ~ coluna ~ ' < 0 or ' ~ coluna ~ ' > 1)', coluna ~ ' outside [0, 1]')) -%}
{%- endfor -%}
{%- if regras %}
select verificacao from (
    select
        case
        {%- for condicao, nome in regras %}
            when {{ condicao }} then '{{ nome }}'
        {%- endfor %}
        end as verificacao
    from {{ model }}
) as linhas
where verificacao is not null
{%- endif %}
{%- for chave in chaves %}
{% if regras or not loop.first %}union all{% endif %}
select 'duplicate key ({{ chave | join(", ") }})'
from {{ model }}
group by {{ chave | join(', ') }}
having count(*) > 1
{%- endfor %}
{% endtest %}
