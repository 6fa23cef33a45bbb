-- Time between corrective maintenances per vehicle (mean time between failures, in days).
-- Incremental: each build recomputes only the vehicles new maintenances touch (the gaps need
-- each vehicle's whole sequence, so the vehicle is the unit); a vehicle left without
-- corrective maintenances is deleted.
-- depends_on: {{ ref('stg_frota__manutencoes') }}
{{
    config(
        materialized='incremental',
        unique_key='placa',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=[
            "delete from {{ this }} where qtd_corretivas = 0",
            "{{ refresh_statistics(this) }}",
        ],
    )
}}

with

{% if is_incremental() %}
veiculos as (

    select distinct placa from ({{ manutencoes_afetadas(this) }}) as afetadas

),
{% endif %}

corretivas as (

    select
        placa,
        manutencao_id,
        data_manutencao
    from {{ ref('fct_manutencoes') }}
    where
        categoria = 'corretiva'
        {% if is_incremental() %}
        and placa in (select placa from veiculos)
        {% endif %}

),

intervalos as (

    select
        placa,
        data_manutencao,
        {{ days_between(
            'lag(data_manutencao) over (partition by placa order by data_manutencao, manutencao_id)',
            'data_manutencao'
        ) }} as dias_desde_anterior
    from corretivas

),

por_veiculo as (

    select
        placa,
        count(*) as qtd_corretivas,
        min(data_manutencao) as primeira_corretiva,
        max(data_manutencao) as ultima_corretiva,
        count(dias_desde_anterior) as qtd_intervalos,
        avg(cast(dias_desde_anterior as double precision)) as media_dias_entre_corretivas,
        min(dias_desde_anterior) as min_dias_entre_corretivas,
        max(dias_desde_anterior) as max_dias_entre_corretivas
    from intervalos
    group by placa

),

final as (

    -- replicacao_seq: the newest replication this row has seen (new maintenances of a vehicle
    -- may all be preventive: the mark must move on anyway, or they would be read again)
    select
        *,
        (select max(replicacao_seq) from {{ ref('stg_frota__lotes') }}) as replicacao_seq
    from por_veiculo
    {% if is_incremental() %}
    -- vehicles touched that no longer have a corrective maintenance: a row for the
    -- delete+insert to replace, which the post-hook then removes
    union all
    select
        v.placa,
        0,
        null,
        null,
        0,
        null,
        null,
        null,
        (select max(replicacao_seq) from {{ ref('stg_frota__lotes') }})
    from veiculos as v
    where v.placa not in (select placa from por_veiculo)
    {% endif %}

)

select * from final
