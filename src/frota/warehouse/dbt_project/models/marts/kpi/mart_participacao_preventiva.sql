-- Preventive share per month, three ways: by services (maintenance rows), by cost, and by
-- shop visits (a visit with any corrective service is corrective). Every maintenance has a
-- category: its own categoria, else the class of its tipo_manutencao (fct_manutencoes).
with

por_veiculo as (

    select * from {{ ref('int_manutencoes_veiculo_mes') }}

),

servicos as (

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

visitas as (

    select
        mes_entrada as mes,
        count(case when not corretiva then 1 end) as qtd_visitas_preventivas,
        count(case when corretiva then 1 end) as qtd_visitas_corretivas
    from {{ ref('fct_visitas_oficina') }}
    group by mes_entrada

),

final as (

    select
        coalesce(s.mes, v.mes) as mes,
        coalesce(s.qtd_preventiva, 0) as qtd_preventiva,
        coalesce(s.qtd_corretiva, 0) as qtd_corretiva,
        coalesce(s.qtd_categoria_inferida, 0) as qtd_categoria_inferida,
        cast(coalesce(s.custo_preventiva, 0) as numeric(18, 2)) as custo_preventiva,
        cast(coalesce(s.custo_corretiva, 0) as numeric(18, 2)) as custo_corretiva,
        cast(coalesce(v.qtd_visitas_preventivas, 0) as bigint) as qtd_visitas_preventivas,
        cast(coalesce(v.qtd_visitas_corretivas, 0) as bigint) as qtd_visitas_corretivas,
        {{ safe_divide('s.qtd_preventiva', 's.qtd_preventiva + s.qtd_corretiva') }}
            as participacao_preventiva_qtd,
        {{ safe_divide('s.custo_preventiva', 's.custo_preventiva + s.custo_corretiva') }}
            as participacao_preventiva_custo,
        {{ safe_divide('v.qtd_visitas_preventivas',
            'v.qtd_visitas_preventivas + v.qtd_visitas_corretivas') }}
            as participacao_preventiva_visitas
    from servicos as s
    full outer join visitas as v on s.mes = v.mes

)

select * from final
