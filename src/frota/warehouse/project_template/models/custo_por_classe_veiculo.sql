-- An example of a model of your own: maintenance cost per vehicle class (moto, carro, van,
-- caminhao…; the class of tipo_veiculo on the service day). frota's models are refs like any
-- other, and its macros are called through the package name (frota.safe_divide).
with

manutencoes as (

    select * from {{ ref('fct_manutencoes') }}

),

veiculos as (

    select * from {{ ref('dim_veiculos') }}

),

final as (

    select
        v.tipo_veiculo_classe as classe_veiculo,
        count(distinct m.placa) as qtd_veiculos,
        count(*) as qtd_manutencoes,
        coalesce(sum(m.custo), 0) as custo_total,
        {{ frota.safe_divide('sum(m.custo)', 'count(distinct m.placa)') }}
            as custo_medio_por_veiculo
    from manutencoes as m
    inner join veiculos as v on m.veiculo_sk = v.veiculo_sk
    group by v.tipo_veiculo_classe

)

select * from final
