-- Additive totals per vehicle and month of service (counts and costs), the base of the
-- monthly cost marts. Incremental: each build recomputes only the (placa, month) groups the
-- maintenances replicated since the last build touch (delete+insert on the group), instead of
-- scanning the whole fact. A group left with no maintenance (a rewritten one moved away) is
-- deleted.
-- depends_on: {{ ref('stg_frota__manutencoes') }}
{{
    config(
        materialized='incremental',
        unique_key=['placa', 'mes'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=[
            "delete from {{ this }} where qtd_manutencoes = 0",
            "{{ refresh_statistics(this) }}",
        ],
    )
}}

{#- The totals of a set of fct rows `f`; one row even for an empty set (counts 0). -#}
{% set totais %}
        count(f.manutencao_id) as qtd_manutencoes,
        count(case when f.categoria = 'preventiva' then 1 end) as qtd_preventiva,
        count(case when f.categoria = 'corretiva' then 1 end) as qtd_corretiva,
        count(case when f.categoria_inferida then 1 end) as qtd_categoria_inferida,
        sum(f.custo) as custo_soma,
        count(f.custo) as qtd_com_custo,
        coalesce(sum(case when f.categoria = 'preventiva' then f.custo end), 0)
            as custo_preventiva,
        coalesce(sum(case when f.categoria = 'corretiva' then f.custo end), 0)
            as custo_corretiva,
        max(f.replicacao_seq) as replicacao_seq
{% endset %}

with

{% if is_incremental() %}
grupos as (

    select distinct
        placa,
        cast(date_trunc('month', data_manutencao) as date) as mes
    from ({{ manutencoes_afetadas(this) }}) as afetadas

),

final as (

    -- one lookup per touched group (PostgreSQL: the fact's (placa, mes) index), not a scan
    select
        g.placa,
        g.mes,
        t.*
    from grupos as g
    cross join lateral (
        select {{ totais }}
        from {{ ref('fct_manutencoes') }} as f
        where f.placa = g.placa and f.mes = g.mes
    ) as t

)
{% else %}
final as (

    select
        f.placa,
        f.mes,
        {{ totais }}
    from {{ ref('fct_manutencoes') }} as f
    group by f.placa, f.mes

)
{% endif %}

select * from final
