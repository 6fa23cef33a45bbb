-- One row per vehicle state the loader applied (its history, frota_veiculos_historico): the
-- state, the batch that brought it and its version (vigente_desde in UTC, then ordem, the
-- batch's place in the publish order; historico_id breaks what is left of a tie).
with

source as (

    select * from {{ source('raw', 'frota_veiculos_historico') }}

),

renamed as (

    select
        id as historico_id,
        placa,
        tipo_veiculo,
        status,
        quilometragem_total,
        data_aquisicao,
        lote_id,
        vigente_desde,
        ordem,
        aplicacao,
        _replication_seq as replicacao_seq

    from source

)

select * from renamed
