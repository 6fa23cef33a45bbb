-- One row per replicated copy of a maintenance record: the record as its batch wrote it, then
-- one copy per later change (update, retire, restore: frota_manutencoes_historico). A record's
-- state is its latest copy (greatest replicacao_seq, then mudanca_id); retirada: retired.
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
        retirada_lote is not null as retirada,
        _mudanca as mudanca,
        _mudanca_id as mudanca_id,
        _replication_seq as replicacao_seq

    from source

)

select * from renamed
