{#- Helpers for the incremental models that aggregate fct_manutencoes. -#}

{#- The highest replication run `relation` has absorbed (0 before its first build). -#}
{% macro ultima_replicacao(relation) -%}
    (select coalesce(max(replicacao_seq), 0) from {{ relation }})
{%- endmacro %}

{#- Every raw copy (placa, data_manutencao, tipo_manutencao) of the maintenances replicated
    after `relation` was last built. Old copies count too: a maintenance a later batch
    rewrote leaves its old group, which must be recomputed as well. `repontadas`: also the
    fact's rows re-pointed to another vehicle version since then (for what depends on the
    vehicle's state on the service day). -#}
{% macro manutencoes_afetadas(relation, repontadas=false) -%}
    select placa, data_manutencao, coalesce(tipo_manutencao, '(não informado)') as tipo_manutencao
    from {{ ref('stg_frota__manutencoes') }}
    where manutencao_id in (
        select manutencao_id
        from {{ ref('stg_frota__manutencoes') }}
        where replicacao_seq > {{ ultima_replicacao(relation) }}
    )
    {%- if repontadas %}
    union all
    select placa, data_manutencao, coalesce(tipo_manutencao, '(não informado)')
    from {{ ref('fct_manutencoes') }}
    where replicacao_seq > {{ ultima_replicacao(relation) }}
    {%- endif %}
{%- endmacro %}

{#- Vehicles whose maintenances or history arrived after `relation` was last built. -#}
{% macro veiculos_afetados(relation) -%}
    select placa from ({{ manutencoes_afetadas(relation) }}) as afetadas
    union
    select placa from {{ ref('stg_frota__veiculos') }}
    where replicacao_seq > {{ ultima_replicacao(relation) }}
{%- endmacro %}

{#- The replication run the last successful `frota warehouse` build covered (0: none yet).
    The tests on the large tables check only rows replicated after it — `where:
    "replicacao_seq > __ultimo_build__"` in their config, expanded by get_where_subquery below
    (dbt's documented hook: a test's where config cannot call a macro itself). Earlier rows
    passed these tests then, and the incremental models never rewrite a row in place. -#}
{% macro ultimo_build() -%}
    (select coalesce(max(replication_seq), 0) from raw.frota_dbt_builds)
{%- endmacro %}

{#- dbt's get_where_subquery, with the __ultimo_build__ placeholder expanded. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- set where = where | replace('__ultimo_build__', ultimo_build()) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- Delete from `relation` the maintenance records whose latest copy is a retirement: they
    leave the fact (and so every mart built from it) until a restore copies them back. Only
    records with a retirement among their copies are looked at. -#}
{% macro sem_manutencoes_retiradas(relation) -%}
    delete from {{ relation }} where manutencao_id in (
        select manutencao_id from (
            select
                manutencao_id,
                retirada,
                row_number() over (
                    partition by manutencao_id order by replicacao_seq desc, mudanca_id desc
                ) as copia
            from {{ ref('stg_frota__manutencoes') }}
            where manutencao_id in (
                select manutencao_id from {{ ref('stg_frota__manutencoes') }} where retirada
            )
        ) as copias
        where copia = 1 and retirada
    )
{%- endmacro %}
