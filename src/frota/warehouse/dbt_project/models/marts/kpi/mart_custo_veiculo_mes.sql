-- Maintenance cost and kilometres per vehicle and month: cost in the month of the service
-- (data_manutencao), km as driven in the month (int_odometro_veiculo_mes); custo_por_km =
-- custo_total / km_percorridos. Over any period or group of vehicles, cost per km is
-- Σ custo_total / Σ km_percorridos of these rows (months without a service count their km).
with

custos as (

    select * from {{ ref('int_manutencoes_veiculo_mes') }}

),

km as (

    select * from {{ ref('int_odometro_veiculo_mes') }}
    where km_percorridos > 0

),

final as (

    select
        coalesce(c.placa, k.placa) as placa,
        coalesce(c.mes, k.mes) as mes,
        cast(coalesce(c.qtd_manutencoes, 0) as bigint) as qtd_manutencoes,
        cast(coalesce(c.custo_soma, 0) as numeric(18, 2)) as custo_total,
        cast(coalesce(c.custo_preventiva, 0) as numeric(18, 2)) as custo_preventiva,
        cast(coalesce(c.custo_corretiva, 0) as numeric(18, 2)) as custo_corretiva,
        cast(coalesce(k.km_percorridos, 0) as numeric(18, 3)) as km_percorridos,
        {{ safe_divide('coalesce(c.custo_soma, 0)', 'k.km_percorridos') }} as custo_por_km
    from custos as c
    full outer join km as k on c.placa = k.placa and c.mes = k.mes

)

select * from final
