-- Maintenance cost per vehicle per month (month of data_manutencao).
with

fct as (

    select * from {{ ref('fct_manutencoes') }}

),

final as (

    select
        placa,
        mes,
        count(*) as qtd_manutencoes,
        coalesce(sum(custo), 0) as custo_total,
        coalesce(sum(case when categoria = 'preventiva' then custo end), 0) as custo_preventiva,
        coalesce(sum(case when categoria = 'corretiva' then custo end), 0) as custo_corretiva
    from fct
    group by placa, mes

)

select * from final
