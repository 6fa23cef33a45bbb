-- One row per vehicle snapshot (placa as of a batch); snapshot_em in UTC, as replicated.
with

source as (

    select * from {{ source('raw', 'veiculos') }}

),

renamed as (

    select
        placa,
        tipo_veiculo,
        status,
        quilometragem_total,
        data_aquisicao,
        lote_id,
        _snapshot_at as snapshot_em,
        _replication_seq as replicacao_seq

    from source

)

select * from renamed
