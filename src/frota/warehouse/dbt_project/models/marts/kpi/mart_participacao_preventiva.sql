-- Preventive share of maintenance count and cost, per month (maintenances with a categoria).
with

fct as (

    select * from {{ ref('fct_manutencoes') }}

),

mensal as (

    select
        mes,
        count(case when categoria = 'preventiva' then 1 end) as qtd_preventiva,
        count(case when categoria = 'corretiva' then 1 end) as qtd_corretiva,
        count(case when categoria is null then 1 end) as qtd_sem_categoria,
        coalesce(sum(case when categoria = 'preventiva' then custo end), 0) as custo_preventiva,
        coalesce(sum(case when categoria = 'corretiva' then custo end), 0) as custo_corretiva
    from fct
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
