-- Every vehicle the visits and the marts name is in the vehicle dimension (dim_veiculos): one
-- test node instead of a `relationships` test per model. (The fact's veiculo_sk is checked,
-- with the version in force, by assert_fct_manutencoes_vehicle_in_force.)
{{ ausentes_em([
    ['fct_visitas_oficina', 'placa', none],
    ['mart_custo_por_km', 'placa', none],
    ['mart_custo_veiculo_mes', 'placa', none],
    ['mart_disponibilidade_veiculo_mes', 'placa', none],
    ['mart_mtbf_mttr', 'placa', none],
], 'dim_veiculos', 'placa') }}
