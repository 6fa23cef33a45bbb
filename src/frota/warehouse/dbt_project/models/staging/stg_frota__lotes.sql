-- One row per replicated batch; vigente_em is when its data were true (its as_of).
with

source as (

    select * from {{ source('raw', 'frota_replicated_batches') }}

),

renamed as (

    select
        batch_id as lote_id,
        source as origem,
        created_at as criado_em,
        as_of as vigente_em,
        loaded_at as carregado_em,
        replicated_at as replicado_em,
        veiculos_rows as qtd_veiculos,
        manutencoes_rows as qtd_manutencoes,
        manutencoes_concluidas as qtd_manutencoes_concluidas,
        _replication_seq as replicacao_seq

    from source

)

select * from renamed
