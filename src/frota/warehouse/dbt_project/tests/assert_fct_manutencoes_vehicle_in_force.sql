-- Each maintenance points at the vehicle version in force at the start of its service day
-- (or, before the vehicle's first version, at that first version: versao_presumida). Checked
-- for the rows replicated since the last successful build AND every row of a vehicle whose
-- history arrived since then: a late version must re-point rows built earlier.
with

recentes as (

    select placa
    from {{ ref('stg_frota__veiculos') }}
    where replicacao_seq > {{ ultimo_build() }}

),

verificadas as (

    select *
    from {{ ref('fct_manutencoes') }}
    where
        replicacao_seq > {{ ultimo_build() }}
        or placa in (select placa from recentes)

)

select f.manutencao_id
from verificadas as f
left join {{ ref('dim_veiculos') }} as v on f.veiculo_sk = v.veiculo_sk
where
    v.placa is null
    or v.placa <> f.placa
    or (not f.versao_presumida and (
        cast(f.data_manutencao as timestamp) < v.valido_de
        or cast(f.data_manutencao as timestamp) >= v.valido_ate
    ))
    or (f.versao_presumida and (
        v.versao <> 1 or cast(f.data_manutencao as timestamp) >= v.valido_de
    ))
