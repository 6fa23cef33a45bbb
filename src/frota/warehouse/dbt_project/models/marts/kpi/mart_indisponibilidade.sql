-- Downtime per vehicle: days in the shop (data_conclusao - data_manutencao, completed
-- maintenances) and mean time to repair (mean downtime of completed corrective maintenances).
with

mensal as (

    select * from {{ ref('int_manutencoes_veiculo_mes') }}

),

final as (

    select
        placa,
        cast(sum(qtd_manutencoes) as bigint) as qtd_manutencoes,
        cast(sum(qtd_concluidas) as bigint) as qtd_concluidas,
        cast(sum(qtd_manutencoes) - sum(qtd_concluidas) as bigint) as qtd_em_aberto,
        cast(sum(dias_parado_total) as bigint) as dias_parado_total,
        -- means from the additive parts: dias_parado is set exactly when concluida
        {{ safe_divide('sum(dias_parado_total)', 'sum(qtd_concluidas)') }} as media_dias_parado,
        cast(sum(qtd_reparos) as bigint) as qtd_reparos,
        {{ safe_divide('sum(dias_reparos)', 'sum(qtd_reparos)') }} as mttr_dias
    from mensal
    group by placa

)

select * from final
