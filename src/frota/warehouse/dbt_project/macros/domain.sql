{#- Helpers shared by the models. The company's words are classified in Python, not here:
    frota.contract.categories fills raw.frota_categorias before each build
    (stg_frota__categorias). -#}

{#- The category of `word` (an expression) in `coluna`, from the relation `categorias`:
    a join condition, `coalesce(word, '')` matching how a missing word is written. -#}
{% macro categoria_de(categorias, coluna, word) -%}
    {{ categorias }}.coluna = '{{ coluna }}' and {{ categorias }}.palavra = coalesce({{ word }}, '')
{%- endmacro %}

{#- `expr` is one of the words in the list var `name` (false for an empty list). -#}
{% macro na_lista(expr, name) -%}
    {%- set words = var(name) -%}
    {%- if words | length == 0 -%}
        false
    {%- else -%}
        {{ expr }} in ({% for w in words %}'{{ w | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{#- Days of the half-open day span [de, ate) that fall in the month starting at `mes`. -#}
{% macro dias_no_mes(de, ate, mes) -%}
    {{ days_between(
        'greatest(' ~ de ~ ', ' ~ mes ~ ')',
        "least(" ~ ate ~ ", cast(" ~ mes ~ " + interval '1 month' as date))"
    ) }}
{%- endmacro %}

{#- One row per month the half-open day span [de, ate) touches (column `mes`, a date):
    a lateral join, `cross join lateral {{ meses_de('s.de', 's.ate') }}`. -#}
{% macro meses_de(de, ate) -%}
    generate_series(
        cast(date_trunc('month', {{ de }}) as timestamp),
        cast(date_trunc('month', cast({{ ate }} as date) - 1) as timestamp),
        interval '1 month'
    ) as meses (mes_ts)
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

{#- Whole metres of `km` (a bigint) driven after `dias` of a stretch of `total` days: round half
    up of 1000 · km · dias / total, in integer arithmetic (exact on every engine). -#}
{% macro metros_ate(km, dias, total) -%}
    {{ int_div('2000 * ' ~ km ~ ' * ' ~ dias ~ ' + ' ~ total, '2 * ' ~ total) }}
{%- endmacro %}
