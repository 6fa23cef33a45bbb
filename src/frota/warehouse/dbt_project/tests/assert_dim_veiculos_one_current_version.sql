-- Every vehicle has exactly one current version, and its windows do not overlap.
select placa
from {{ ref('dim_veiculos') }}
group by placa
having
    count(case when is_atual then 1 end) <> 1
    or min(valido_de) <> cast('1900-01-01 00:00:00' as timestamp)
