-- The period the warehouse can speak for, one row: from the first day of the month of the
-- earliest maintenance (before it, no record says whether a vehicle was in the shop) to the
-- reference date — the local date of the newest batch's as_of, "today" as the data know it.
-- Open visits count up to the reference date; so does every daily and monthly mart.
with

lotes as (

    select * from {{ ref('stg_frota__lotes') }}

),

final as (

    select
        coalesce(
            (select min(mes) from {{ ref('fct_manutencoes') }}),
            (
                select cast(date_trunc('month', min({{ hora_local('vigente_em') }})) as date)
                from lotes
            )
        ) as data_inicio,
        (select cast(max({{ hora_local('vigente_em') }}) as date) from lotes) as data_referencia

)

select * from final
