-- Reliability per vehicle over the period the warehouse speaks for (int_periodo), as the
-- industry defines it: MTBF = operating days (days in the fleet minus days in the shop)
-- / failures (shop visits with a corrective service), and = km driven / failures where the
-- odometers allow; MTTR = days in the shop of the closed failure visits / their number. The
-- time before the first failure and since the last one (censored) is operating time too.
with

por_veiculo as (

    select * from {{ ref('mart_disponibilidade_veiculo_mes') }}

),

periodo as (

    select * from {{ ref('int_periodo') }}

),

falhas as (

    select
        v.placa,
        max(v.data_entrada) as ultima_falha
    from {{ ref('fct_visitas_oficina') }} as v
    cross join periodo as p
    where v.corretiva and v.data_entrada between p.data_inicio and p.data_referencia
    group by v.placa

),

totais as (

    select
        placa,
        cast(sum(dias_na_frota) as bigint) as dias_na_frota,
        cast(sum(dias_parado) as bigint) as dias_parado,
        cast(sum(dias_operacao) as bigint) as dias_operacao,
        cast(sum(qtd_falhas) as bigint) as qtd_falhas,
        cast(sum(qtd_reparos) as bigint) as qtd_reparos,
        cast(sum(dias_reparo) as bigint) as dias_reparo,
        cast(sum(km_percorridos) as numeric(18, 3)) as km_percorridos
    from por_veiculo
    group by placa

),

final as (

    select
        t.placa,
        t.dias_na_frota,
        t.dias_parado,
        t.dias_operacao,
        t.qtd_falhas,
        {{ safe_divide('t.dias_operacao', 't.qtd_falhas') }} as mtbf_dias,
        t.km_percorridos,
        {{ safe_divide('t.km_percorridos', 't.qtd_falhas') }} as mtbf_km,
        t.qtd_reparos,
        t.dias_reparo,
        {{ safe_divide('t.dias_reparo', 't.qtd_reparos') }} as mttr_dias,
        f.ultima_falha,
        case
            when f.ultima_falha is not null
                then {{ days_between('f.ultima_falha', 'p.data_referencia') }}
        end as dias_desde_ultima_falha
    from totais as t
    cross join periodo as p
    left join falhas as f on t.placa = f.placa

)

select * from final
