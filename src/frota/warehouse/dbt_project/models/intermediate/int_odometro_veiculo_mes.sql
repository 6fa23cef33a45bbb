-- Kilometres driven per vehicle and month, from every odometer reading frota has: the one
-- taken at each service (quilometragem) and the vehicle's registered odometer
-- (quilometragem_total) of each state in its history, on its local date. A reading lower than an
-- earlier one is out of sequence (the odometer never goes back, as the loader's rule says):
-- it is counted in qtd_leituras_fora_de_sequencia and left out. Between two consecutive valid
-- readings the distance is spread evenly over the days after the first up to the second;
-- nothing is assumed before the first reading or after the last, so a vehicle's kilometres
-- over any period add up to (odometer at its end − odometer at its start).
-- Incremental: each build recomputes the vehicles touched since the last one.
-- depends_on: {{ ref('stg_frota__manutencoes') }}
-- depends_on: {{ ref('stg_frota__veiculos') }}
{{
    config(
        materialized='incremental',
        unique_key='placa',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=[
            "delete from {{ this }} where mes is null",
            "{{ refresh_statistics(this) }}",
        ],
    )
}}

{#- incremental: only the touched vehicles' readings -#}
{% set so_os_afetados = 'and placa in (select placa from veiculos)' if is_incremental() else '' %}

with

{% if is_incremental() %}
veiculos as (

    select distinct placa from ({{ veiculos_afetados(this) }}) as afetados

),
{% endif %}

leituras as (

    select
        placa,
        data_manutencao as data,
        cast(quilometragem as bigint) as km
    from {{ ref('fct_manutencoes') }}
    where quilometragem is not null {{ so_os_afetados }}

    union all

    select
        placa,
        cast({{ hora_local('vigente_desde') }} as date),
        quilometragem_total
    from {{ ref('stg_frota__veiculos') }}
    where quilometragem_total is not null {{ so_os_afetados }}

),

classificadas as (

    select
        *,
        coalesce(
            km < max(km) over (
                partition by placa order by data, km
                rows between unbounded preceding and 1 preceding
            ),
            false
        ) as fora_de_sequencia
    from leituras

),

-- the valid odometer at the end of each day with a reading
diarias as (

    select
        placa,
        data,
        max(km) as km
    from classificadas
    where not fora_de_sequencia
    group by placa, data

),

trechos as (

    -- from one reading day to the next: km spread over the days (de, ate]
    select
        placa,
        data as de,
        lead(data) over (partition by placa order by data) as ate,
        lead(km) over (partition by placa order by data) - km as km
    from diarias

),

por_mes_trecho as (

    -- [de + 1, ate + 1): the days that carry the distance. A month's share is the odometer
    -- interpolated at its last day minus at the day before it (each capped to the stretch),
    -- in whole metres, rounded half up with integer arithmetic: exact decimals, the same on
    -- every engine, and the months of a stretch add up to its km exactly (a float share per
    -- month gave 999.9999999999994 for 1000).
    select
        t.placa,
        cast(meses.mes_ts as date) as mes,
        {% set mes = 'cast(meses.mes_ts as date)' -%}
        {% set fim = "least(t.ate, cast(" ~ mes ~ " + interval '1 month' as date) - 1)" -%}
        {% set inicio = 'greatest(t.de, ' ~ mes ~ ' - 1)' -%}
        cast(
            (
                {{ metros_ate('t.km', days_between('t.de', fim), 't.dias') }}
                - {{ metros_ate('t.km', days_between('t.de', inicio), 't.dias') }}
            ) * 0.001 as numeric(18, 3)
        ) as km
    from (
        select
            *,
            {{ days_between('de', 'ate') }} as dias
        from trechos
        where ate is not null
    ) as t
    cross join lateral {{ meses_de('cast(t.de + 1 as date)', 'cast(t.ate + 1 as date)') }}

),

km_mes as (

    select
        placa,
        mes,
        sum(km) as km_percorridos
    from por_mes_trecho
    group by placa, mes

),

leituras_mes as (

    select
        placa,
        cast(date_trunc('month', data) as date) as mes,
        count(*) as qtd_leituras,
        count(case when fora_de_sequencia then 1 end) as qtd_leituras_fora_de_sequencia,
        min(case when not fora_de_sequencia then data end) as primeira_leitura_em,
        min(case when not fora_de_sequencia then km end) as km_primeira_leitura,
        max(case when not fora_de_sequencia then data end) as ultima_leitura_em,
        max(case when not fora_de_sequencia then km end) as km_ultima_leitura
    from classificadas
    group by placa, cast(date_trunc('month', data) as date)

),

final as (

    select
        coalesce(k.placa, l.placa) as placa,
        coalesce(k.mes, l.mes) as mes,
        cast(coalesce(k.km_percorridos, 0) as numeric(18, 3)) as km_percorridos,
        coalesce(l.qtd_leituras, 0) as qtd_leituras,
        coalesce(l.qtd_leituras_fora_de_sequencia, 0) as qtd_leituras_fora_de_sequencia,
        l.primeira_leitura_em,
        l.km_primeira_leitura,
        l.ultima_leitura_em,
        l.km_ultima_leitura,
        (select max(replicacao_seq) from {{ ref('stg_frota__lotes') }}) as replicacao_seq
    from km_mes as k
    full outer join leituras_mes as l on k.placa = l.placa and k.mes = l.mes

    {% if is_incremental() %}
    -- touched vehicles left without readings: a row for the delete+insert to replace
    union all
    select
        v.placa,
        null,
        -- typed as above: PostgreSQL types a union of numeric(18, 3) and 0 as bare numeric,
        -- which the incremental run's schema check calls a change
        cast(0 as numeric(18, 3)),
        0,
        0,
        null,
        null,
        null,
        null,
        (select max(replicacao_seq) from {{ ref('stg_frota__lotes') }})
    from veiculos as v
    -- not exists: an anti-join (PostgreSQL runs `not in` over a large subquery row by row)
    where
        not exists (
            select 1 from leituras as l
            where l.placa = v.placa
        )
    {% endif %}

)

select * from final
