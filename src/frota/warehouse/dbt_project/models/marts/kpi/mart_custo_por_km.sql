-- Cost per km per vehicle, from the odometer readings taken at each service.
with

fct as (

    select * from {{ ref('fct_manutencoes') }}

),

final as (

    select
        placa,
        count(*) as qtd_manutencoes,
        count(quilometragem) as qtd_leituras,
        min(quilometragem) as km_inicial,
        max(quilometragem) as km_final,
        max(quilometragem) - min(quilometragem) as km_percorridos,
        coalesce(sum(custo), 0) as custo_total,
        {{ safe_divide('sum(custo)', 'max(quilometragem) - min(quilometragem)') }}
            as custo_por_km
    from fct
    group by placa

)

select * from final
