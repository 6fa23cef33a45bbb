-- Preventive share of maintenance count and cost, per month. Every maintenance has a
-- category: its own categoria, else the class of its tipo_manutencao (fct_manutencoes).
with

por_veiculo as (

    select * from {{ ref('int_manutencoes_veiculo_mes') }}

),

mensal as (

    select
        mes,
        cast(sum(qtd_preventiva) as bigint) as qtd_preventiva,
        cast(sum(qtd_corretiva) as bigint) as qtd_corretiva,
        cast(sum(qtd_categoria_inferida) as bigint) as qtd_categoria_inferida,
        sum(custo_preventiva) as custo_preventiva,
        sum(custo_corretiva) as custo_corretiva
    from por_veiculo
    group by mes

),

final as (

    select
        *,
        {{ safe_divide('qtd_preventiva', 'qtd_preventiva + qtd_corretiva') }}
            as participacao_preventiva_qtd,
        {{ safe_divide('custo_preventiva', 'custo_preventiva + custo_corretiva') }}
            as participacao_preventiva_custo
    from mensal

)

select * from final
