-- Cost by maintenance type and by vehicle type (the vehicle's type on the service day).
with

fct as (

    select * from {{ ref('fct_manutencoes') }}

),

final as (

    select
        coalesce(tipo_manutencao, '(não informado)') as tipo_manutencao,
        coalesce(tipo_veiculo_no_servico, '(não informado)') as tipo_veiculo,
        count(*) as qtd_manutencoes,
        coalesce(sum(custo), 0) as custo_total,
        avg(custo) as custo_medio
    from fct
    group by 1, 2

)

select * from final
