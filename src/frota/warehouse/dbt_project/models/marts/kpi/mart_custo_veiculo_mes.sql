-- Maintenance cost per vehicle per month (month of data_manutencao).
with

mensal as (

    select * from {{ ref('int_manutencoes_veiculo_mes') }}

),

final as (

    select
        placa,
        mes,
        qtd_manutencoes,
        coalesce(custo_soma, 0) as custo_total,
        custo_preventiva,
        custo_corretiva
    from mensal

)

select * from final
