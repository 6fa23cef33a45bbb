-- Brazilian national holidays (Lei 662/1949, 6.802/1980, 14.759/2023) and the national
-- optional days tied to Easter (Carnaval, Corpus Christi), for every year of the calendar.
with

anos as (

    select distinct cast(extract(year from data) as integer) as ano
    from {{ ref('int_calendario') }}

),

pascoa as (

    select
        ano,
        {{ easter_sunday('ano') }} as domingo_pascoa
    from anos

),

fixos as (

    select
        anos.ano,
        make_date(anos.ano, f.mes, f.dia) as data,
        f.nome,
        'feriado nacional' as tipo
    from anos
    cross join (
        values
        (1, 1, 'Confraternização Universal'),
        (4, 21, 'Tiradentes'),
        (5, 1, 'Dia do Trabalho'),
        (9, 7, 'Independência do Brasil'),
        (10, 12, 'Nossa Senhora Aparecida'),
        (11, 2, 'Finados'),
        (11, 15, 'Proclamação da República'),
        (12, 25, 'Natal')
    ) as f (mes, dia, nome)

    union all

    -- National since 2024 (Lei 14.759/2023).
    select
        ano,
        make_date(ano, 11, 20),
        'Dia Nacional de Zumbi e da Consciência Negra',
        'feriado nacional'
    from anos
    where ano >= 2024

),

moveis as (

    select
        ano,
        cast(domingo_pascoa - 2 as date) as data,
        'Sexta-feira Santa' as nome,
        'feriado nacional' as tipo
    from pascoa
    union all
    select
        ano,
        cast(domingo_pascoa - 48 as date),
        'Carnaval (segunda-feira)',
        'ponto facultativo'
    from pascoa
    union all
    select
        ano,
        cast(domingo_pascoa - 47 as date),
        'Carnaval (terça-feira)',
        'ponto facultativo'
    from pascoa
    union all
    select
        ano,
        cast(domingo_pascoa + 60 as date),
        'Corpus Christi',
        'ponto facultativo'
    from pascoa

),

final as (

    select
        cast(data as date) as data,
        nome,
        tipo
    from fixos
    union all
    select
        data,
        nome,
        tipo
    from moveis

)

select * from final
