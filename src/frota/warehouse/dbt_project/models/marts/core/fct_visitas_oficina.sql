-- One row per shop visit: a vehicle's maintenances whose shop intervals overlap or touch
-- [data_manutencao, data_conclusao] merged into one stay, so a visit with several services
-- counts its days once. A maintenance still open (its source sends completion dates, this
-- one has none yet) keeps the visit open up to the reference date; a maintenance whose
-- source never sends completion dates is a same-day stay (sem_data_conclusao: its downtime
-- is unknown, counted 0). dias_parado = data_saida - data_entrada (nights in the shop), or
-- data_referencia - data_entrada while open.
-- Incremental: each build merges again the visits of the vehicles whose maintenances changed
-- since the last one; the other vehicles with an open visit keep their visits, copied with
-- the open one's days counted to the new reference date (no pass over their maintenances).
-- depends_on: {{ ref('stg_frota__manutencoes') }}
{{
    config(
        materialized='incremental',
        unique_key='placa',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=[
            "delete from {{ this }} where qtd_servicos = 0",
            "{{ refresh_statistics(this) }}",
        ],
    )
}}

with

periodo as (

    select * from {{ ref('int_periodo') }}

),

{% if is_incremental() %}
veiculos as (

    select distinct placa from ({{ manutencoes_afetadas(this) }}) as afetadas

),

abertos as (

    -- untouched vehicles with an open visit: its days grow with the reference date
    select distinct c.placa from {{ this }} as c
    where
        c.em_aberto
        and not exists (
            select 1 from veiculos as t
            where t.placa = c.placa
        )

),
{% endif %}

servicos as (

    select
        f.placa,
        f.manutencao_id,
        f.data_manutencao as entrada,
        case
            when f.data_conclusao is not null then f.data_conclusao
            when f.conclusao_registrada then cast(null as date)  -- still in the shop
            else f.data_manutencao
        end as saida,
        f.data_conclusao is null and f.conclusao_registrada as aberta,
        f.data_conclusao is null and not f.conclusao_registrada as sem_conclusao,
        f.categoria,
        f.custo
    from {{ ref('fct_manutencoes') }} as f
    {% if is_incremental() %}
    where f.placa in (select placa from veiculos)
    {% endif %}

),

encadeados as (

    -- the latest exit among the vehicle's earlier services (an open one: never)
    select
        *,
        max(coalesce(saida, cast('9999-12-31' as date))) over (
            partition by placa order by entrada, saida nulls last, manutencao_id
            rows between unbounded preceding and 1 preceding
        ) as saida_anterior
    from servicos

),

numerados as (

    select
        *,
        sum(case when saida_anterior is null or entrada > saida_anterior then 1 else 0 end)
            over (
                partition by placa order by entrada, saida nulls last, manutencao_id
                rows between unbounded preceding and current row
            ) as visita
    from encadeados

),

visitas as (

    select
        placa,
        min(entrada) as data_entrada,
        case when max(case when aberta then 1 else 0 end) = 1 then null else max(saida) end
            as data_saida,
        count(*) as qtd_servicos,
        count(case when categoria = 'preventiva' then 1 end) as qtd_preventivas,
        count(case when categoria = 'corretiva' then 1 end) as qtd_corretivas,
        count(case when sem_conclusao then 1 end) as qtd_sem_data_conclusao,
        coalesce(sum(custo), 0) as custo_total
    from numerados
    group by placa, visita

),

final as (

    select
        {{ surrogate_key(['v.placa', 'v.data_entrada']) }} as visita_id,
        v.placa,
        v.data_entrada,
        v.data_saida,
        v.data_saida is null as em_aberto,
        v.qtd_corretivas > 0 as corretiva,
        v.qtd_sem_data_conclusao = v.qtd_servicos as sem_data_conclusao,
        greatest(
            {{ days_between('v.data_entrada', 'coalesce(v.data_saida, p.data_referencia)') }}, 0
        ) as dias_parado,
        v.qtd_servicos,
        v.qtd_preventivas,
        v.qtd_corretivas,
        v.qtd_sem_data_conclusao,
        v.custo_total,
        cast(date_trunc('month', v.data_entrada) as date) as mes_entrada,
        (select max(replicacao_seq) from {{ ref('stg_frota__lotes') }}) as replicacao_seq
    from visitas as v
    cross join periodo as p

    {% if is_incremental() %}
    -- vehicles touched that no longer have a maintenance: a row for the delete+insert to
    -- replace, which the post-hook then removes
    union all
    select
        null,
        t.placa,
        null,
        null,
        false,
        false,
        false,
        0,
        0,
        0,
        0,
        0,
        0,
        null,
        (select max(replicacao_seq) from {{ ref('stg_frota__lotes') }})
    from veiculos as t
    where
        not exists (
            select 1 from visitas as v
            where v.placa = t.placa
        )

    -- the visits of untouched vehicles with an open one, as built, the open one's days
    -- counted to the reference date
    union all
    select
        c.visita_id,
        c.placa,
        c.data_entrada,
        c.data_saida,
        c.em_aberto,
        c.corretiva,
        c.sem_data_conclusao,
        case
            when c.em_aberto
                then greatest({{ days_between('c.data_entrada', 'p.data_referencia') }}, 0)
            else c.dias_parado
        end,
        c.qtd_servicos,
        c.qtd_preventivas,
        c.qtd_corretivas,
        c.qtd_sem_data_conclusao,
        c.custo_total,
        c.mes_entrada,
        (select max(replicacao_seq) from {{ ref('stg_frota__lotes') }})
    from {{ this }} as c
    cross join periodo as p
    where c.placa in (select placa from abertos)
    {% endif %}

)

select * from final
