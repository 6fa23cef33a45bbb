-- The fleet per month: availability, downtime, failures, MTBF and MTTR — sums of
-- mart_disponibilidade_veiculo_mes, the ratios of the sums (never a mean of ratios).
with

por_veiculo as (

    select * from {{ ref('mart_disponibilidade_veiculo_mes') }}

),

mensal as (

    select
        mes,
        cast(count(case when dias_na_frota > 0 then 1 end) as bigint) as qtd_veiculos,
        cast(sum(dias_na_frota) as bigint) as dias_na_frota,
        cast(sum(dias_parado) as bigint) as dias_parado,
        cast(sum(dias_operacao) as bigint) as dias_operacao,
        cast(sum(qtd_visitas) as bigint) as qtd_visitas,
        cast(sum(qtd_visitas_em_aberto) as bigint) as qtd_visitas_em_aberto,
        cast(sum(qtd_falhas) as bigint) as qtd_falhas,
        cast(sum(qtd_reparos) as bigint) as qtd_reparos,
        cast(sum(dias_reparo) as bigint) as dias_reparo,
        cast(sum(km_percorridos) as numeric(18, 3)) as km_percorridos
    from por_veiculo
    group by mes

),

final as (

    select
        mes,
        qtd_veiculos,
        dias_na_frota,
        dias_parado,
        dias_operacao,
        {{ safe_divide('dias_operacao', 'dias_na_frota') }} as disponibilidade,
        qtd_visitas,
        qtd_visitas_em_aberto,
        qtd_falhas,
        {{ safe_divide('dias_operacao', 'qtd_falhas') }} as mtbf_dias,
        {{ safe_divide('km_percorridos', 'qtd_falhas') }} as mtbf_km,
        qtd_reparos,
        dias_reparo,
        {{ safe_divide('dias_reparo', 'qtd_reparos') }} as mttr_dias,
        km_percorridos
    from mensal

)

select * from final
