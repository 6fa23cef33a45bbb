-- Cost per km per vehicle over all it has on record: Σ custo / km driven between its first
-- and its last valid odometer reading (service readings and the registered odometer; readings
-- out of sequence are counted and left out: int_odometro_veiculo_mes). The distance is the
-- difference of the two readings, a whole number, not the sum of the months' interpolated
-- shares (the same distance, with float rounding: 1999.9999999999993 km). Null without
-- distance (fewer than two valid readings, or none higher than the first).
with

custos as (

    select
        placa,
        sum(qtd_manutencoes) as qtd_manutencoes,
        sum(custo_soma) as custo_total
    from {{ ref('int_manutencoes_veiculo_mes') }}
    group by placa

),

leituras as (

    select
        placa,
        sum(qtd_leituras) as qtd_leituras,
        sum(qtd_leituras_fora_de_sequencia) as qtd_leituras_fora_de_sequencia,
        min(primeira_leitura_em) as primeira_leitura_em,
        min(km_primeira_leitura) as km_inicial,
        max(ultima_leitura_em) as ultima_leitura_em,
        max(km_ultima_leitura) as km_final
    from {{ ref('int_odometro_veiculo_mes') }}
    group by placa

),

final as (

    select
        coalesce(c.placa, l.placa) as placa,
        cast(coalesce(c.qtd_manutencoes, 0) as bigint) as qtd_manutencoes,
        cast(coalesce(c.custo_total, 0) as numeric(18, 2)) as custo_total,
        cast(coalesce(l.qtd_leituras, 0) as bigint) as qtd_leituras,
        cast(coalesce(l.qtd_leituras_fora_de_sequencia, 0) as bigint)
            as qtd_leituras_fora_de_sequencia,
        l.primeira_leitura_em,
        cast(l.km_inicial as bigint) as km_inicial,
        l.ultima_leitura_em,
        cast(l.km_final as bigint) as km_final,
        cast(coalesce(l.km_final - l.km_inicial, 0) as double precision) as km_percorridos,
        {{ safe_divide('coalesce(c.custo_total, 0)', 'l.km_final - l.km_inicial') }}
            as custo_por_km
    from custos as c
    full outer join leituras as l on c.placa = l.placa

)

select * from final
