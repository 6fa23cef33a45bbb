-- Cost per km per vehicle, from the odometer readings taken at each service.
with

mensal as (

    select * from {{ ref('int_manutencoes_veiculo_mes') }}

),

final as (

    select
        placa,
        cast(sum(qtd_manutencoes) as bigint) as qtd_manutencoes,
        cast(sum(qtd_leituras) as bigint) as qtd_leituras,
        min(km_min) as km_inicial,
        max(km_max) as km_final,
        max(km_max) - min(km_min) as km_percorridos,
        coalesce(sum(custo_soma), 0) as custo_total,
        {{ safe_divide('sum(custo_soma)', 'max(km_max) - min(km_min)') }} as custo_por_km
    from mensal
    group by placa

)

select * from final
