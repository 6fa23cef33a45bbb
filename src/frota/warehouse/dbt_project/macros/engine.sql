{#- Engine differences live here, behind adapter.dispatch; models stay engine-neutral. -#}

{#- Whole days from date a to date b (b - a). -#}
{% macro days_between(a, b) -%}
    {{ return(adapter.dispatch('days_between', 'frota')(a, b)) }}
{%- endmacro %}

{% macro default__days_between(a, b) -%}
    cast(cast({{ b }} as date) - cast({{ a }} as date) as bigint)
{%- endmacro %}

{% macro duckdb__days_between(a, b) -%}
    date_diff('day', cast({{ a }} as date), cast({{ b }} as date))
{%- endmacro %}


{#- Integer division that truncates on every engine. -#}
{% macro int_div(a, b) -%}
    {{ return(adapter.dispatch('int_div', 'frota')(a, b)) }}
{%- endmacro %}

{% macro default__int_div(a, b) -%}
    div(({{ a }}), ({{ b }}))
{%- endmacro %}

{% macro duckdb__int_div(a, b) -%}
    (({{ a }}) // ({{ b }}))
{%- endmacro %}


{#- One row per day, column `data`, from start_date to end_date (both date expressions). -#}
{% macro date_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_spine', 'frota')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__date_spine(start_date, end_date) -%}
    select cast(d as date) as data
    from generate_series(
        cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp), interval '1 day'
    ) as spine (d)
{%- endmacro %}

{% macro duckdb__date_spine(start_date, end_date) -%}
    select cast(unnest(generate_series(
        cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp), interval 1 day
    )) as date) as data
{%- endmacro %}


{#- Indexes for a model's config: PostgreSQL uses them for the incremental lookups; DuckDB's
    zone maps do that job, and its ART indexes would only slow the deletes and inserts. -#}
{% macro engine_indexes(indexes) -%}
    {{ return(adapter.dispatch('engine_indexes', 'frota')(indexes)) }}
{%- endmacro %}

{% macro default__engine_indexes(indexes) -%}
    {{ return([]) }}
{%- endmacro %}

{% macro postgres__engine_indexes(indexes) -%}
    {{ return(indexes) }}
{%- endmacro %}


{#- Post-hook: fresh planner statistics for a table just (re)written, before the next model
    reads it (PostgreSQL's autovacuum comes too late for the same build). Not after an
    incremental run: it changes a few vehicles' rows, which leave the statistics as they were,
    and ANALYZE reads a sample of the whole table each time (autovacuum analyzes a table once
    a tenth of it has changed). -#}
{% macro refresh_statistics(relation) -%}
    {{ return(adapter.dispatch('refresh_statistics', 'frota')(relation)) }}
{%- endmacro %}

{% macro default__refresh_statistics(relation) -%}
    {{ return('') }}
{%- endmacro %}

{% macro postgres__refresh_statistics(relation) -%}
    {%- if not is_incremental() %}analyze {{ relation }}{% endif -%}
{%- endmacro %}


{#- A naive UTC timestamp (as frota stores every time) as the naive local time of the
    operator's time zone (var fuso_horario, the `timezone` setting). DuckDB's ICU is built in. -#}
{% macro hora_local(ts) -%}
    {{ return(adapter.dispatch('hora_local', 'frota')(ts)) }}
{%- endmacro %}

{% macro default__hora_local(ts) -%}
    cast((cast({{ ts }} as timestamp) at time zone 'UTC') at time zone '{{ var("fuso_horario") }}'
        as timestamp)
{%- endmacro %}

{% macro duckdb__hora_local(ts) -%}
    cast(timezone('{{ var("fuso_horario") }}', timezone('UTC', cast({{ ts }} as timestamp)))
        as timestamp)
{%- endmacro %}
