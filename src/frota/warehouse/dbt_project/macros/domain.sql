{#- Helpers shared by the models. The company's words are classified in Python, not here:
    frota.contract.categories fills raw.frota_categorias before each build
    (stg_frota__categorias). -#}

{#- The category of `word` (an expression) in `coluna`, from the relation `categorias`:
    a join condition, `coalesce(word, '')` matching how a missing word is written. -#}
{% macro categoria_de(categorias, coluna, word) -%}
    {{ categorias }}.coluna = '{{ coluna }}' and {{ categorias }}.palavra = coalesce({{ word }}, '')
{%- endmacro %}

{#- A stable key from columns: md5 of their text joined by '|'. -#}
{% macro surrogate_key(columns) -%}
    md5(
    {%- for col in columns -%}
        coalesce(cast({{ col }} as varchar), '∅'){% if not loop.last %} || '|' || {% endif %}
    {%- endfor -%}
    )
{%- endmacro %}

{#- a / b as a float, null when b is 0 or null. -#}
{% macro safe_divide(a, b) -%}
    (cast({{ a }} as double precision) / nullif(cast({{ b }} as double precision), 0))
{%- endmacro %}

{#- Easter Sunday of `year` (anonymous Gregorian algorithm, integer arithmetic only). -#}
{% macro easter_sunday(year) -%}
    {%- set a = '(' ~ year ~ ' % 19)' -%}
    {%- set b = int_div(year, 100) -%}
    {%- set c = '(' ~ year ~ ' % 100)' -%}
    {%- set d = int_div(b, 4) -%}
    {%- set e = '(' ~ b ~ ' % 4)' -%}
    {%- set f = int_div('(' ~ b ~ ' + 8)', 25) -%}
    {%- set g = int_div('(' ~ b ~ ' - ' ~ f ~ ' + 1)', 3) -%}
    {%- set h = '((19 * ' ~ a ~ ' + ' ~ b ~ ' - ' ~ d ~ ' - ' ~ g ~ ' + 15) % 30)' -%}
    {%- set i = int_div(c, 4) -%}
    {%- set k = '(' ~ c ~ ' % 4)' -%}
    {%- set l = '((32 + 2 * ' ~ e ~ ' + 2 * ' ~ i ~ ' - ' ~ h ~ ' - ' ~ k ~ ') % 7)' -%}
    {%- set m = int_div('(' ~ a ~ ' + 11 * ' ~ h ~ ' + 22 * ' ~ l ~ ')', 451) -%}
    {%- set n = '(' ~ h ~ ' + ' ~ l ~ ' - 7 * ' ~ m ~ ' + 114)' -%}
    make_date(
        cast({{ year }} as integer),
        cast({{ int_div(n, 31) }} as integer),
        cast(({{ n }} % 31) + 1 as integer)
    )
{%- endmacro %}
