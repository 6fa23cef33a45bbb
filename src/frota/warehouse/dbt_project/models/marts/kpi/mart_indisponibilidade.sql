-- Downtime per vehicle: days in the shop (data_conclusao - data_manutencao, completed
-- maintenances) and mean time to repair (mean downtime of completed corrective maintenances).
with

fct as (

    select * from {{ ref('fct_manutencoes') }}

),

final as (

    select
        placa,
        count(*) as qtd_manutencoes,
        count(case when concluida then 1 end) as qtd_concluidas,
        count(case when not concluida then 1 end) as qtd_em_aberto,
        coalesce(sum(dias_parado), 0) as dias_parado_total,
        avg(cast(dias_parado as double precision)) as media_dias_parado,
        count(case when categoria = 'corretiva' and concluida then 1 end) as qtd_reparos,
        avg(case when categoria = 'corretiva' then cast(dias_parado as double precision) end)
            as mttr_dias
    from fct
    group by placa

)

select * from final
