-- Vehicle dimension with history (SCD2 on status and type): one row per version, in force
-- over [valido_de, valido_ate) in the operator's local time; the current one has is_atual.
-- dia_inicio / dia_fim: the local days the version is the vehicle's state at the end of the
-- day, [dia_inicio, dia_fim) — what the daily and monthly marts count.
with

versoes as (

    select * from {{ ref('int_veiculos_versoes') }}

),

final as (

    select
        {{ surrogate_key(['placa', 'valido_de']) }} as veiculo_sk,
        placa,
        versao,
        tipo_veiculo,
        status,
        status_classe,
        tipo_veiculo_classe,
        quilometragem_total,
        data_aquisicao,
        valido_de,
        valido_ate,
        valido_ate = cast('9999-12-31 00:00:00' as timestamp) as is_atual,
        cast(valido_de as date) as dia_inicio,
        cast(valido_ate as date) as dia_fim,
        registrado_em,
        ultimo_snapshot_em,
        qtd_snapshots,
        ultimo_lote_id

    from versoes

)

select * from final
