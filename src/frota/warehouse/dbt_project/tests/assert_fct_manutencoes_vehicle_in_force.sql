-- Each maintenance points at the vehicle version whose window holds its service day.
select f.manutencao_id
from {{ ref('fct_manutencoes') }} as f
inner join {{ ref('dim_veiculos') }} as v on v.veiculo_sk = f.veiculo_sk
where v.placa <> f.placa
    or cast(f.data_manutencao as timestamp) < v.valido_de
    or cast(f.data_manutencao as timestamp) >= v.valido_ate
