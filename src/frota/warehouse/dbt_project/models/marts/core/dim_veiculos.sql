-- Vehicle dimension with history (SCD2 on status and type): one row per version, each with a
-- validity window [valido_de, valido_ate); the current version has is_atual = true.
-- The first version opens at 1900-01-01 so that history older than the first snapshot (the
-- maintenances the first batch brought) finds the vehicle as it was first seen.
with

versoes as (

    select * from {{ ref('int_veiculos_versoes') }}

),

final as (

    select
        {{ surrogate_key(['placa', 'versao']) }} as veiculo_sk,
        placa,
        versao,
        tipo_veiculo,
        status,
        status_classe,
        tipo_veiculo_classe,
        quilometragem_total,
        data_aquisicao,
        case
            when versao = 1 then cast('1900-01-01 00:00:00' as timestamp)
            else registrado_em
        end as valido_de,
        coalesce(proxima_versao_em, cast('9999-12-31 00:00:00' as timestamp)) as valido_ate,
        proxima_versao_em is null as is_atual,
        registrado_em,
        primeiro_registro_em,
        ultimo_snapshot_em,
        qtd_snapshots,
        ultimo_lote_id

    from versoes

)

select * from final
