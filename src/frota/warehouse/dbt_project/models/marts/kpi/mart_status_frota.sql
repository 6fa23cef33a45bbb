-- Fleet status over time: on each day a batch arrived, how many vehicles were active, in
-- maintenance or inactive at the end of that day (each vehicle's version in force then).
with

dias as (

    select distinct cast(criado_em as date) as data
    from {{ ref('stg_frota__lotes') }}

),

veiculos as (

    select * from {{ ref('dim_veiculos') }}

),

estado as (

    select
        d.data,
        v.status_classe
    from dias as d
    inner join veiculos as v
        on v.primeiro_registro_em < cast(d.data + 1 as timestamp)
        and v.valido_de < cast(d.data + 1 as timestamp)
        and v.valido_ate >= cast(d.data + 1 as timestamp)

),

final as (

    select
        data,
        status_classe,
        count(*) as qtd_veiculos
    from estado
    group by data, status_classe

)

select * from final
