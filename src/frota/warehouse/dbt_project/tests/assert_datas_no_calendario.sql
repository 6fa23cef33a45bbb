-- Every day or month the fact and the marts name is a day of the calendar (dim_datas): one
-- test node instead of a `relationships` test per column. The fact: the rows replicated since
-- the last successful build (earlier ones passed then); the marts: every row.
{{ ausentes_em([
    ['fct_manutencoes', 'data_manutencao', 'replicacao_seq > ' ~ ultimo_build()],
    ['mart_custo_veiculo_mes', 'mes', none],
    ['mart_disponibilidade_veiculo_mes', 'mes', none],
    ['mart_disponibilidade_frota_mes', 'mes', none],
    ['mart_participacao_preventiva', 'mes', none],
    ['mart_status_frota', 'data', none],
], 'dim_datas', 'data') }}
