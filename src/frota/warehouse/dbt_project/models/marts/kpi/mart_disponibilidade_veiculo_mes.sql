-- Availability per vehicle and month, in the period the warehouse speaks for (int_periodo).
-- dias_na_frota: days of the month the vehicle was in the fleet — acquired, and its state at
-- the end of the day not inactive (dim_veiculos.dia_inicio / dia_fim), up to the reference
-- date. dias_parado: those of them it spent in the shop (fct_visitas_oficina: from
-- data_entrada to the day before data_saida; an open visit up to the reference date).
-- disponibilidade = (dias_na_frota - dias_parado) / dias_na_frota. Visits, failures
-- (visits with a corrective service) and repairs (failures closed) count in the month the
-- visit began; km_percorridos from int_odometro_veiculo_mes.
with

periodo as (

    select * from {{ ref('int_periodo') }}

),

na_frota as (

    select
        v.placa,
        greatest(v.dia_inicio, p.data_inicio) as de,
        least(v.dia_fim, cast(p.data_referencia + 1 as date)) as ate
    from {{ ref('dim_veiculos') }} as v
    cross join periodo as p
    where
        v.status_classe <> 'inativo'
        and greatest(v.dia_inicio, p.data_inicio)
        < least(v.dia_fim, cast(p.data_referencia + 1 as date))

),

visitas as (

    select v.*
    from {{ ref('fct_visitas_oficina') }} as v
    cross join periodo as p
    where v.data_entrada between p.data_inicio and p.data_referencia

),

parado as (

    select
        n.placa,
        greatest(v.data_entrada, n.de) as de,
        least(coalesce(v.data_saida, p.data_referencia), n.ate) as ate
    from visitas as v
    cross join periodo as p
    inner join na_frota as n
        on v.placa = n.placa
        and v.data_entrada < n.ate
        and coalesce(v.data_saida, p.data_referencia) > n.de

),

dias as (

    select
        n.placa,
        cast(meses.mes_ts as date) as mes,
        {{ dias_no_mes('n.de', 'n.ate', 'cast(meses.mes_ts as date)') }} as dias_na_frota,
        0 as dias_parado
    from na_frota as n
    cross join lateral {{ meses_de('n.de', 'n.ate') }}

    union all

    select
        d.placa,
        cast(meses.mes_ts as date),
        0,
        {{ dias_no_mes('d.de', 'd.ate', 'cast(meses.mes_ts as date)') }}
    from parado as d
    cross join lateral {{ meses_de('d.de', 'd.ate') }}
    where d.de < d.ate

),

dias_mes as (

    select
        placa,
        mes,
        sum(dias_na_frota) as dias_na_frota,
        sum(dias_parado) as dias_parado
    from dias
    group by placa, mes

),

visitas_mes as (

    select
        placa,
        mes_entrada as mes,
        count(*) as qtd_visitas,
        count(case when em_aberto then 1 end) as qtd_visitas_em_aberto,
        count(case when corretiva then 1 end) as qtd_falhas,
        count(case when corretiva and not em_aberto then 1 end) as qtd_reparos,
        coalesce(sum(case when corretiva and not em_aberto then dias_parado end), 0)
            as dias_reparo
    from visitas
    group by placa, mes_entrada

),

km_mes as (

    select
        k.placa,
        k.mes,
        k.km_percorridos
    from {{ ref('int_odometro_veiculo_mes') }} as k
    cross join periodo as p
    where k.mes between p.data_inicio and p.data_referencia and k.km_percorridos > 0

),

chaves as (

    select
        placa,
        mes
    from dias_mes
    union
    select
        placa,
        mes
    from visitas_mes
    union
    select
        placa,
        mes
    from km_mes

),

final as (

    select
        c.placa,
        c.mes,
        cast(coalesce(d.dias_na_frota, 0) as bigint) as dias_na_frota,
        cast(coalesce(d.dias_parado, 0) as bigint) as dias_parado,
        cast(coalesce(d.dias_na_frota, 0) - coalesce(d.dias_parado, 0) as bigint)
            as dias_operacao,
        {{ safe_divide('d.dias_na_frota - d.dias_parado', 'd.dias_na_frota') }}
            as disponibilidade,
        cast(coalesce(v.qtd_visitas, 0) as bigint) as qtd_visitas,
        cast(coalesce(v.qtd_visitas_em_aberto, 0) as bigint) as qtd_visitas_em_aberto,
        cast(coalesce(v.qtd_falhas, 0) as bigint) as qtd_falhas,
        cast(coalesce(v.qtd_reparos, 0) as bigint) as qtd_reparos,
        cast(coalesce(v.dias_reparo, 0) as bigint) as dias_reparo,
        cast(coalesce(k.km_percorridos, 0) as numeric(18, 3)) as km_percorridos
    from chaves as c
    left join dias_mes as d on c.placa = d.placa and c.mes = d.mes
    left join visitas_mes as v on c.placa = v.placa and c.mes = v.mes
    left join km_mes as k on c.placa = k.placa and c.mes = k.mes

)

select * from final
