-- Vehicle snapshots collapsed into versions: a new version each time status or type changes
-- (gaps and islands over the snapshots, in snapshot order). The classes of the status and the
-- type come from frota.contract.categories (stg_frota__categorias).
with

snapshots as (

    select * from {{ ref('stg_frota__veiculos') }}

),

categorias as (

    select * from {{ ref('stg_frota__categorias') }}

),

flagged as (

    select
        *,
        -- `not (a is not distinct from b)`: `is distinct from`, which sqlfluff cannot parse
        case
            when
                not (lag(status) over w is not distinct from status)
                or not (lag(tipo_veiculo) over w is not distinct from tipo_veiculo)
                or lag(placa) over w is null
                then 1
            else 0
        end as muda
    from snapshots
    window w as (partition by placa order by snapshot_em, lote_id)

),

numbered as (

    select
        *,
        sum(muda) over (
            partition by placa order by snapshot_em, lote_id
            rows between unbounded preceding and current row
        ) as versao,
        row_number() over (partition by placa order by snapshot_em desc, lote_id desc) as recencia
    from flagged

),

versions as (

    select
        placa,
        versao,
        min(snapshot_em) as registrado_em,
        max(snapshot_em) as ultimo_snapshot_em,
        count(*) as qtd_snapshots
    from numbered
    group by placa, versao

),

last_snapshot_of_version as (

    select
        placa,
        versao,
        tipo_veiculo,
        status,
        quilometragem_total,
        data_aquisicao,
        lote_id,
        row_number() over (
            partition by placa, versao order by snapshot_em desc, lote_id desc
        ) as pos
    from numbered

),

final as (

    select
        v.placa,
        cast(v.versao as integer) as versao,
        s.tipo_veiculo,
        s.status,
        cs.categoria as status_classe,
        ct.categoria as tipo_veiculo_classe,
        s.quilometragem_total,
        s.data_aquisicao,
        s.lote_id as ultimo_lote_id,
        v.registrado_em,
        v.ultimo_snapshot_em,
        v.qtd_snapshots,
        lead(v.registrado_em) over (partition by v.placa order by v.versao) as proxima_versao_em,
        min(v.registrado_em) over (partition by v.placa) as primeiro_registro_em
    from versions as v
    inner join last_snapshot_of_version as s
        on v.placa = s.placa and v.versao = s.versao and s.pos = 1
    left join categorias as cs on {{ categoria_de('cs', 'status', 's.status') }}
    left join categorias as ct on {{ categoria_de('ct', 'tipo_veiculo', 's.tipo_veiculo') }}

)

select * from final
