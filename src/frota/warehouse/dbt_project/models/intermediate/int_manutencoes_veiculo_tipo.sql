-- Additive totals per vehicle, maintenance type and vehicle type on the service day, the base
-- of mart_custo_por_tipo. Incremental like int_manutencoes_veiculo_mes: each build recomputes
-- the (placa, tipo_manutencao) groups touched since the last one — every vehicle type of
-- them, which is why the delete key is coarser than the grain.
-- depends_on: {{ ref('stg_frota__manutencoes') }}
{{
    config(
        materialized='incremental',
        unique_key=['placa', 'tipo_manutencao'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=[
            "delete from {{ this }} where qtd_manutencoes = 0",
            "{{ refresh_statistics(this) }}",
        ],
    )
}}

{#- The totals of a set of fct rows `f`. -#}
{% set totais %}
        count(f.manutencao_id) as qtd_manutencoes,
        sum(f.custo) as custo_soma,
        count(f.custo) as qtd_com_custo,
        max(f.replicacao_seq) as replicacao_seq
{% endset %}
{% set tipo_manutencao = "coalesce(f.tipo_manutencao, '(não informado)')" %}
{% set tipo_veiculo = "coalesce(f.tipo_veiculo_no_servico, '(não informado)')" %}

with

{% if is_incremental() %}
grupos as (

    select distinct
        placa,
        tipo_manutencao
    from ({{ manutencoes_afetadas(this, repontadas=true) }}) as afetadas

),

final as (

    -- One pass over the fact joined to the touched groups: a vehicle's rows are spread over
    -- the whole table, so per-group index lookups would read more pages than a scan. A group
    -- left empty gives one row with qtd_manutencoes = 0, for the post-hook to delete.
    select
        g.placa,
        g.tipo_manutencao,
        {{ tipo_veiculo }} as tipo_veiculo,
        {{ totais }}
    from grupos as g
    left join {{ ref('fct_manutencoes') }} as f
        on g.placa = f.placa and {{ tipo_manutencao }} = g.tipo_manutencao
    group by g.placa, g.tipo_manutencao, {{ tipo_veiculo }}

)
{% else %}
final as (

    select
        f.placa,
        {{ tipo_manutencao }} as tipo_manutencao,
        {{ tipo_veiculo }} as tipo_veiculo,
        {{ totais }}
    from {{ ref('fct_manutencoes') }} as f
    group by f.placa, {{ tipo_manutencao }}, {{ tipo_veiculo }}

)
{% endif %}

select * from final
