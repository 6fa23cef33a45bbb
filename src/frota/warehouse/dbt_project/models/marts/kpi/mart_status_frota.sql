-- The fleet's status on every local day of the period (int_periodo): how many vehicles were
-- active, in maintenance or inactive at the end of the day — each vehicle's version in force
-- then (dim_veiculos.dia_inicio / dia_fim), counted from its acquisition. Every day has a row
-- per class, zero included. Built from the versions' starts and ends (+1 / −1 per class),
-- summed day by day: no vehicle × day table.
with

periodo as (

    select * from {{ ref('int_periodo') }}

),

classes as (

    select 'ativo' as classe
    union all
    select 'em_manutencao'
    union all
    select 'inativo'

),

dias as (

    {{ date_spine('(select data_inicio from periodo)', '(select data_referencia from periodo)') }}

),

eventos as (

    -- a version counts from dia_inicio (or the period's start) until the day before dia_fim
    select
        greatest(v.dia_inicio, p.data_inicio) as data,
        v.status_classe as classe,
        1 as delta
    from {{ ref('dim_veiculos') }} as v
    cross join periodo as p
    where
        v.dia_inicio < v.dia_fim and v.dia_fim > p.data_inicio
        and v.dia_inicio <= p.data_referencia

    union all

    select
        v.dia_fim,
        v.status_classe,
        -1
    from {{ ref('dim_veiculos') }} as v
    cross join periodo as p
    where
        v.dia_inicio < v.dia_fim and v.dia_fim > p.data_inicio
        and v.dia_inicio <= p.data_referencia and v.dia_fim <= p.data_referencia

),

por_dia as (

    select
        data,
        classe,
        sum(delta) as delta
    from eventos
    group by data, classe

),

final as (

    select
        d.data,
        cast(c.classe as varchar) as status_classe,
        cast(sum(coalesce(e.delta, 0)) over (
            partition by c.classe order by d.data
            rows between unbounded preceding and current row
        ) as bigint) as qtd_veiculos
    from dias as d
    cross join classes as c
    left join por_dia as e on d.data = e.data and c.classe = e.classe

)

select * from final
