-- Each maintenance points at the vehicle version whose window holds its service day.
-- Only rows replicated since the last successful build: an older row keeps its version,
-- whose window only closes at a later batch's snapshot, after the row's service day.
select f.manutencao_id
from {{ ref('fct_manutencoes') }} as f
inner join {{ ref('dim_veiculos') }} as v on f.veiculo_sk = v.veiculo_sk
where
    f.replicacao_seq > {{ ultimo_build() }}
    and (
        v.placa <> f.placa
        or cast(f.data_manutencao as timestamp) < v.valido_de
        or cast(f.data_manutencao as timestamp) >= v.valido_ate
    )
