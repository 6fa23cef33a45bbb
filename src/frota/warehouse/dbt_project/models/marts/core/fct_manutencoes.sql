-- One row per maintenance, with the vehicle version in force at the start of the (local)
-- service day; before the vehicle's first version, that first version (versao_presumida).
-- Retired records are not here: a record whose latest copy is a retirement leaves (post_hook),
-- and comes back with a later restore.
-- Incremental: each run adds the maintenances replicated since the last build (new records
-- and changed ones, by their latest copy), and re-points
-- the rows of vehicles whose history arrived since then to the version now in force (a late
-- batch can insert a version under rows built earlier). The delete+insert, the incremental
-- aggregates and the tests look rows up by manutencao_id, replicacao_seq and (placa, mes).
-- depends_on: {{ ref('stg_frota__veiculos') }}
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
            {'columns': ['mes']},
        ]),
        post_hook=[
            "{{ sem_manutencoes_retiradas(this) }}",
            "{{ refresh_statistics(this) }}",
        ],
    )
}}

{% set marca %}(select coalesce(max(replicacao_seq), 0) from {{ this }}){% endset %}

with

manutencoes as (

    select * from {{ ref('stg_frota__manutencoes') }}
    {% if is_incremental() %}
    where replicacao_seq > {{ marca }}
    {% endif %}

),

latest as (

    -- A record replicated more than once (a later batch changed it) is its latest copy; a
    -- retired one is left out.
    select * from (
        select
            *,
            row_number() over (
                partition by manutencao_id order by replicacao_seq desc, mudanca_id desc
            ) as copia
        from manutencoes
    ) as m
    where copia = 1 and not retirada

),

categorias as (

    select * from {{ ref('stg_frota__categorias') }}

),

lotes as (

    select * from {{ ref('stg_frota__lotes') }}

),

novas as (

    select
        m.manutencao_id,
        m.placa,
        m.data_manutencao,
        m.data_conclusao,
        m.tipo_manutencao,
        -- the row's own categoria wins; else the class of its tipo_manutencao
        coalesce(m.categoria, c.categoria) as categoria,
        m.categoria is null as categoria_inferida,
        m.custo,
        m.quilometragem,
        l.origem,
        m.lote_id,
        m.replicacao_seq,
        cast(null as varchar) as veiculo_sk_anterior,
        cast(null as varchar) as status_anterior,
        cast(null as varchar) as tipo_veiculo_anterior
    from latest as m
    left join categorias as c on {{ categoria_de('c', 'tipo_manutencao', 'm.tipo_manutencao') }}
    left join lotes as l on m.lote_id = l.lote_id

),

{% if is_incremental() %}
repontar as (

    -- vehicles whose history arrived since the last build: their rows may now fall in
    -- another version
    select distinct placa
    from {{ ref('stg_frota__veiculos') }}
    where replicacao_seq > {{ marca }}

),

existentes as (

    select
        f.manutencao_id,
        f.placa,
        f.data_manutencao,
        f.data_conclusao,
        f.tipo_manutencao,
        f.categoria,
        f.categoria_inferida,
        f.custo,
        f.quilometragem,
        f.origem,
        f.lote_id,
        (select max(replicacao_seq) from lotes) as replicacao_seq,
        f.veiculo_sk as veiculo_sk_anterior,
        f.status_no_servico as status_anterior,
        f.tipo_veiculo_no_servico as tipo_veiculo_anterior
    from {{ this }} as f
    where
        f.placa in (select placa from repontar)
        and not exists (
            select 1 from novas as n
            where n.manutencao_id = f.manutencao_id
        )

),

candidatas as (

    select * from novas
    union all
    select * from existentes

),
{% else %}
candidatas as (

    select * from novas

),
{% endif %}

veiculos as (

    select * from {{ ref('dim_veiculos') }}

),

apontadas as (

    select
        m.*,
        coalesce(v.veiculo_sk, p.veiculo_sk) as veiculo_sk,
        coalesce(v.tipo_veiculo, p.tipo_veiculo) as tipo_veiculo_no_servico,
        coalesce(v.status, p.status) as status_no_servico,
        v.veiculo_sk is null and p.veiculo_sk is not null as versao_presumida
    from candidatas as m
    left join veiculos as v
        on m.placa = v.placa
        and cast(m.data_manutencao as timestamp) >= v.valido_de
        and cast(m.data_manutencao as timestamp) < v.valido_ate
    left join veiculos as p
        on m.placa = p.placa and p.versao = 1 and v.veiculo_sk is null

),

final as (

    select
        manutencao_id,
        veiculo_sk,
        placa,
        data_manutencao,
        cast(date_trunc('month', data_manutencao) as date) as mes,
        data_conclusao,
        tipo_manutencao,
        categoria,
        categoria_inferida,
        custo,
        quilometragem,
        data_conclusao is not null as concluida,
        -- its source sends completion dates: without one, the vehicle is still in the shop
        {{ na_lista('origem', 'fontes_com_conclusao') }} as conclusao_registrada,
        case
            when data_conclusao is not null
                then {{ days_between('data_manutencao', 'data_conclusao') }}
        end as dias_parado,
        tipo_veiculo_no_servico,
        status_no_servico,
        versao_presumida,
        origem,
        lote_id,
        replicacao_seq
    from apontadas
    -- new rows, and re-pointed rows whose version (or its state) changed
    where
        veiculo_sk_anterior is null
        or veiculo_sk is distinct from veiculo_sk_anterior
        or status_no_servico is distinct from status_anterior
        or tipo_veiculo_no_servico is distinct from tipo_veiculo_anterior

)

select * from final
