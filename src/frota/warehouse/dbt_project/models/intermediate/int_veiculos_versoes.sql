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
        -- the vehicle's acquisition date as its latest state says
        first_value(data_aquisicao) over (
            partition by placa order by vigente_desde desc, ordem desc, historico_id desc
            rows between unbounded preceding and unbounded following
        ) as aquisicao_atual
    from flagged

),

-- Each state with its version's span and counts, and its place from the version's latest
-- state: window functions only, no self-join (PostgreSQL planned those joins of CTEs as
-- nested loops, seconds per thousand vehicles).
por_versao as (

    select
        *,
        min(snapshot_local) over v as registrado_em,
        max(snapshot_local) over v as ultimo_snapshot_em,
        count(*) over v as qtd_snapshots,
        max(replicacao_seq) over v as replicacao_seq_versao,
        row_number() over (
            partition by placa, versao order by vigente_desde desc, ordem desc, historico_id desc
        ) as pos
    from numbered
    window v as (partition by placa, versao)

),

inicio as (

    select
        *,
        case
            when versao = 1
                then least(
                    registrado_em,
                    coalesce(cast(aquisicao_atual as timestamp), registrado_em)
                )
            else registrado_em
        end as valido_de
    from por_versao
    where pos = 1

),

final as (

    select
        v.placa,
        cast(v.versao as integer) as versao,
        v.tipo_veiculo,
        v.status,
        cs.categoria as status_classe,
        ct.categoria as tipo_veiculo_classe,
        v.quilometragem_total,
        v.data_aquisicao,
        v.lote_id as ultimo_lote_id,
        v.valido_de,
        coalesce(
            lead(v.valido_de) over (partition by v.placa order by v.versao),
            cast('9999-12-31 00:00:00' as timestamp)
        ) as valido_ate,
        v.registrado_em,
        v.ultimo_snapshot_em,
        v.qtd_snapshots,
        v.replicacao_seq_versao as replicacao_seq
    from inicio as v
    left join categorias as cs on {{ categoria_de('cs', 'status', 'v.status') }}
    left join categorias as ct on {{ categoria_de('ct', 'tipo_veiculo', 'v.tipo_veiculo') }}

)

select * from final
