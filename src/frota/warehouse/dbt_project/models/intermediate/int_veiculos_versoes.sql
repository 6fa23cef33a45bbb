-- The vehicle history collapsed into versions: a new version each time status or type changes
-- (gaps and islands over the history's states in version order: vigente_desde, then the
-- batch's publish order, then the history id). A late, older batch's states fall in place at
-- their own time. Times are the operator's local time (var fuso_horario). The first version
-- is in force from the acquisition date (or its first state, if that is earlier or the date
-- unknown); each later one from its first state. The classes of status and type come from
-- frota.contract.categories.
with

snapshots as (

    select
        *,
        {{ hora_local('vigente_desde') }} as snapshot_local
    from {{ ref('stg_frota__veiculos') }}

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
    window w as (partition by placa order by vigente_desde, ordem, historico_id)

),

numbered as (

    select
        *,
        sum(muda) over (
            partition by placa order by vigente_desde, ordem, historico_id
            rows between unbounded preceding and current row
        ) as versao,
        row_number() over (
            partition by placa order by vigente_desde desc, ordem desc, historico_id desc
        ) as recencia
    from flagged

),

versions as (

    select
        placa,
        versao,
        min(snapshot_local) as registrado_em,
        max(snapshot_local) as ultimo_snapshot_em,
        count(*) as qtd_snapshots,
        max(replicacao_seq) as replicacao_seq
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
            partition by placa, versao order by vigente_desde desc, ordem desc, historico_id desc
        ) as pos
    from numbered

),

-- the vehicle's acquisition date as its latest state says
aquisicao as (

    select
        placa,
        cast(data_aquisicao as timestamp) as adquirido_em
    from numbered
    where recencia = 1

),

inicio as (

    select
        v.*,
        case
            when v.versao = 1
                then least(v.registrado_em, coalesce(a.adquirido_em, v.registrado_em))
            else v.registrado_em
        end as valido_de
    from versions as v
    inner join aquisicao as a on v.placa = a.placa

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
        v.valido_de,
        coalesce(
            lead(v.valido_de) over (partition by v.placa order by v.versao),
            cast('9999-12-31 00:00:00' as timestamp)
        ) as valido_ate,
        v.registrado_em,
        v.ultimo_snapshot_em,
        v.qtd_snapshots,
        v.replicacao_seq
    from inicio as v
    inner join last_snapshot_of_version as s
        on v.placa = s.placa and v.versao = s.versao and s.pos = 1
    left join categorias as cs on {{ categoria_de('cs', 'status', 's.status') }}
    left join categorias as ct on {{ categoria_de('ct', 'tipo_veiculo', 's.tipo_veiculo') }}

)

select * from final
