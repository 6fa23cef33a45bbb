-- Cost by maintenance type and by vehicle type (the vehicle's type on the service day).
with

por_veiculo as (

    select * from {{ ref('int_manutencoes_veiculo_tipo') }}

),

final as (

    select
        cast(tipo_manutencao as varchar) as tipo_manutencao,
        cast(tipo_veiculo as varchar) as tipo_veiculo,
        cast(sum(qtd_manutencoes) as bigint) as qtd_manutencoes,
        cast(coalesce(sum(custo_soma), 0) as numeric(18, 2)) as custo_total,
        -- avg(custo) over the maintenances with a cost, from the additive parts
        {{ safe_divide('sum(custo_soma)', 'sum(qtd_com_custo)') }} as custo_medio
    from por_veiculo
    group by tipo_manutencao, tipo_veiculo

)

select * from final
