-- Every day the data can touch: from the earliest acquisition or service date (or the
-- calendar_start var, whichever is earlier) to the end of next year.
with

bounds as (

    select
        least(
            cast('{{ var("calendar_start") }}' as date),
            coalesce(
                (select min(data_aquisicao) from {{ ref('stg_frota__veiculos') }}),
                cast('{{ var("calendar_start") }}' as date)
            ),
            coalesce(
                (select min(data_manutencao) from {{ ref('stg_frota__manutencoes') }}),
                cast('{{ var("calendar_start") }}' as date)
            )
        ) as primeiro_dia,
        greatest(
            current_date,
            coalesce(
                (select max(data_conclusao) from {{ ref('stg_frota__manutencoes') }}),
                current_date
            ),
            coalesce(
                (select max(data_manutencao) from {{ ref('stg_frota__manutencoes') }}),
                current_date
            ),
            coalesce((
                select cast(max(vigente_desde) as date)
                from {{ ref('stg_frota__veiculos') }}
            ), current_date)
        ) as ultimo_dia

),

limites as (

    select
        cast(date_trunc('year', primeiro_dia) as date) as inicio,
        make_date(cast(extract(year from ultimo_dia) as integer) + 1, 12, 31) as fim
    from bounds

),

spine as (

    {{ date_spine('(select inicio from limites)', '(select fim from limites)') }}

)

select * from spine
