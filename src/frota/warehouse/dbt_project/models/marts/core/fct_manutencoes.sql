-- One row per maintenance, with the vehicle version in force on the service day.
-- Incremental: each run adds the rows of the batches replicated since the last build. The
-- delete+insert, the incremental aggregates and the tests look rows up by manutencao_id,
-- replicacao_seq and (placa, mes).
{{
    config(
        materialized='incremental',
        unique_key='manutencao_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=engine_indexes([
            {'columns': ['manutencao_id']},
            {'columns': ['replicacao_seq']},
            {'columns': ['placa', 'mes']},
        ]),
        post_hook="{{ refresh_statistics(this) }}",
    )
}}

with

manutencoes as (

    select * from {{ ref('stg_frota__manutencoes') }}
    {% if is_incremental() %}
    where replicacao_seq > (select coalesce(max(replicacao_seq), 0) from {{ this }})
    {% endif %}

),

latest as (

    -- A maintenance id replicated twice (a batch rewrote it) keeps its latest copy.
    select * from (
        select
            *,
            row_number() over (
                partition by manutencao_id order by replicacao_seq desc
            ) as copia
        from manutencoes
    ) as m
    where copia = 1

),

veiculos as (

    select * from {{ ref('dim_veiculos') }}

),

categorias as (

    select * from {{ ref('stg_frota__categorias') }}

),

final as (

    select
        m.manutencao_id,
        v.veiculo_sk,
        m.placa,
        m.data_manutencao,
        cast(date_trunc('month', m.data_manutencao) as date) as mes,
        m.data_conclusao,
        m.tipo_manutencao,
        -- the row's own categoria wins; else the class of its tipo_manutencao
        coalesce(m.categoria, c.categoria) as categoria,
        m.categoria is null as categoria_inferida,
        m.custo,
        m.quilometragem,
        m.data_conclusao is not null as concluida,
        case
            when m.data_conclusao is not null
                then {{ days_between('m.data_manutencao', 'm.data_conclusao') }}
        end as dias_parado,
        v.tipo_veiculo as tipo_veiculo_no_servico,
        v.status as status_no_servico,
        m.lote_id,
        m.replicacao_seq
    from latest as m
    left join veiculos as v
        on m.placa = v.placa
        and cast(m.data_manutencao as timestamp) >= v.valido_de
        and cast(m.data_manutencao as timestamp) < v.valido_ate
    left join categorias as c on {{ categoria_de('c', 'tipo_manutencao', 'm.tipo_manutencao') }}

)

select * from final
