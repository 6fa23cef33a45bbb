-- Time between corrective maintenances per vehicle (mean time between failures, in days).
with

corretivas as (

    select placa, manutencao_id, data_manutencao
    from {{ ref('fct_manutencoes') }}
    where categoria = 'corretiva'

),

intervalos as (

    select
        placa,
        data_manutencao,
        {{ days_between(
            'lag(data_manutencao) over (partition by placa order by data_manutencao, manutencao_id)',
            'data_manutencao'
        ) }} as dias_desde_anterior
    from corretivas

),

final as (

    select
        placa,
        count(*) as qtd_corretivas,
        min(data_manutencao) as primeira_corretiva,
        max(data_manutencao) as ultima_corretiva,
        count(dias_desde_anterior) as qtd_intervalos,
        avg(cast(dias_desde_anterior as double precision)) as media_dias_entre_corretivas,
        min(dias_desde_anterior) as min_dias_entre_corretivas,
        max(dias_desde_anterior) as max_dias_entre_corretivas
    from intervalos
    group by placa

)

select * from final
