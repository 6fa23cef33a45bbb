-- One row per replicated maintenance (an id appears once unless a batch rewrote it).
with

source as (

    select * from {{ source('raw', 'manutencoes') }}

),

renamed as (

    select
        id as manutencao_id,
        placa_veiculo as placa,
        tipo_manutencao,
        data_manutencao,
        data_conclusao,
        custo,
        quilometragem,
        nullif(lower(trim(categoria)), '') as categoria,
        lote_id,
        _replication_seq as replicacao_seq

    from source

)

select * from renamed
