-- Every vehicle has exactly one current version, and its versions tile time: each ends where
-- the next begins.
with

versoes as (

    select
        placa,
        is_atual,
        valido_ate,
        lead(valido_de) over (partition by placa order by versao) as proximo_inicio
    from {{ ref('dim_veiculos') }}

)

select placa
from versoes
group by placa
having
    count(case when is_atual then 1 end) <> 1
    or count(case when proximo_inicio is not null and proximo_inicio <> valido_ate then 1 end) > 0
