-- Calendar: one row per day, Brazilian month and weekday names, national holidays.
with

dias as (

    select * from {{ ref('int_calendario') }}

),

feriados as (

    select * from {{ ref('int_feriados_nacionais') }}

),

partes as (

    select
        data,
        cast(extract(year from data) as integer) as ano,
        cast(extract(quarter from data) as integer) as trimestre,
        cast(extract(month from data) as integer) as mes,
        cast(extract(day from data) as integer) as dia,
        cast(extract(dow from data) as integer) as dia_semana
    from dias

),

final as (

    select
        p.data,
        p.ano,
        p.trimestre,
        p.mes,
        p.dia,
        p.dia_semana,
        case p.mes
            when 1 then 'janeiro' when 2 then 'fevereiro' when 3 then 'março'
            when 4 then 'abril' when 5 then 'maio' when 6 then 'junho'
            when 7 then 'julho' when 8 then 'agosto' when 9 then 'setembro'
            when 10 then 'outubro' when 11 then 'novembro' when 12 then 'dezembro'
        end as nome_mes,
        case p.dia_semana
            when 0 then 'domingo' when 1 then 'segunda-feira' when 2 then 'terça-feira'
            when 3 then 'quarta-feira' when 4 then 'quinta-feira' when 5 then 'sexta-feira'
            when 6 then 'sábado'
        end as nome_dia_semana,
        cast(date_trunc('month', p.data) as date) as primeiro_dia_mes,
        p.dia_semana in (0, 6) as fim_de_semana,
        coalesce(f.tipo = 'feriado nacional', false) as feriado_nacional,
        f.nome as nome_feriado,
        f.tipo as tipo_feriado,
        p.dia_semana not in (0, 6) and coalesce(f.tipo <> 'feriado nacional', true) as dia_util
    from partes as p
    left join feriados as f on p.data = f.data

)

select * from final
