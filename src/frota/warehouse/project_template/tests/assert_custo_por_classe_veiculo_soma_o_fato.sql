-- The classes add up to the whole fact table: no maintenance lost or counted twice by the
-- join. A singular test: it fails when it returns a row.
with

por_classe as (

    select sum(qtd_manutencoes) as qtd, sum(custo_total) as custo
    from {{ ref('custo_por_classe_veiculo') }}

),

fato as (

    select count(*) as qtd, coalesce(sum(custo), 0) as custo
    from {{ ref('fct_manutencoes') }}

)

select por_classe.qtd, fato.qtd as qtd_fato, por_classe.custo, fato.custo as custo_fato
from por_classe cross join fato
where por_classe.qtd <> fato.qtd or abs(por_classe.custo - fato.custo) > 0.005
