"""The seeded fleet simulator: determinism, continuation, realism and the contract's rules."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from frota.batch import FOLDER_INFO_NAME, read_folder_info
from frota.contract import CATEGORIAS, MANUTENCOES, VEICULOS, is_valid_plate
from frota.contract.canonical import read_canonical_header
from frota.errors import ConfigError
from frota.generate import GenerateResult, generate_batch
from frota.generate.catalog import (
    EM_MANUTENCAO,
    INATIVO,
    REPAIRS,
    TYPES_BY_NAME,
    VEHICLE_TYPES,
    categoria_of,
    cost_range,
)
from frota.generate.state import STATE_NAME, plan_window

UNTIL = date(2026, 6, 30)
LATER = date(2026, 7, 31)
DOCS = Path(__file__).resolve().parents[1] / "docs" / "generator.md"


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def read_batch(result: GenerateResult) -> tuple[dict[str, dict[str, str]], list[dict[str, str]]]:
    veiculos = read_rows(result.out_dir / VEICULOS.file_name)
    by_plate = {v["placa"]: v for v in veiculos}
    assert len(by_plate) == len(veiculos) == result.veiculos, "one row per vehicle"
    manutencoes = read_rows(result.out_dir / MANUTENCOES.file_name)
    assert len(manutencoes) == result.manutencoes
    return by_plate, manutencoes


@pytest.fixture(scope="module")
def two_steps(tmp_path_factory: pytest.TempPathFactory) -> list[GenerateResult]:
    """A 200-vehicle fleet: two years of history, then one more month."""
    outbox = tmp_path_factory.mktemp("outbox")
    return [
        generate_batch(outbox, seed=7, vehicles=200, until=UNTIL),
        generate_batch(outbox, seed=7, vehicles=200, until=LATER),
    ]


def test_first_run_writes_a_canonical_batch_folder(two_steps: list[GenerateResult]) -> None:
    first = two_steps[0]
    assert first.step == 1
    assert (first.start, first.end) == (UNTIL - timedelta(days=729), UNTIL)
    assert first.out_dir.name == "000001-20260630"
    for table in (VEICULOS, MANUTENCOES):
        assert read_canonical_header(first.out_dir / table.file_name) == list(table.csv_header)
    outbox = first.out_dir.parent
    assert sorted(p.name for p in outbox.iterdir()) == [
        "000001-20260630",
        "000002-20260731",
        STATE_NAME,
    ], "no temp folders or files left behind"
    assert sorted(p.name for p in first.out_dir.iterdir()) == [
        FOLDER_INFO_NAME,
        "manutencoes.csv",
        "veiculos.csv",
    ]
    assert read_folder_info(first.out_dir) == date(2026, 6, 30)  # its last day


def test_volume_is_about_fifty_maintenances_per_vehicle_over_two_years(
    two_steps: list[GenerateResult],
) -> None:
    first = two_steps[0]
    assert 35 <= first.manutencoes / 200 <= 65
    veiculos, manutencoes = read_batch(first)
    shares = Counter(row["categoria"] for row in manutencoes)
    assert 0.5 < shares["preventiva"] / len(manutencoes) < 0.8


def test_fleet_mix_is_realistic(two_steps: list[GenerateResult]) -> None:
    veiculos, _ = read_batch(two_steps[0])
    mix = Counter(v["tipo_veiculo"] for v in veiculos.values())
    assert set(mix) == set(TYPES_BY_NAME)
    light = mix["Moto"] + mix["Utilitário"] + mix["Van"] + mix["VUC"] + mix["Caminhão 3/4"]
    assert light > 4 * mix["Cavalo Mecânico"]
    statuses = Counter(v["status"] for v in veiculos.values())
    assert statuses["ativo"] > statuses[INATIVO] > 0
    assert statuses[EM_MANUTENCAO] > 0


@pytest.mark.parametrize("index", [0, 1], ids=["history", "continuation"])
def test_rows_follow_the_contract(two_steps: list[GenerateResult], index: int) -> None:
    result = two_steps[index]
    veiculos, manutencoes = read_batch(result)
    known = dict(veiculos)
    for earlier in two_steps[:index]:
        known = read_batch(earlier)[0] | known
    assert manutencoes, "a month of a 200-vehicle fleet has maintenance"

    for placa, v in veiculos.items():
        assert is_valid_plate(placa)
        assert len(v["tipo_veiculo"]) <= VEICULOS.column("tipo_veiculo").length
        assert v["status"] in ("ativo", EM_MANUTENCAO, INATIVO)
        assert date.fromisoformat(v["data_aquisicao"]) <= result.end
        assert int(v["quilometragem_total"]) >= 0

    last_km: dict[str, int] = {}
    repaired = {
        (r["placa_veiculo"], r["data_manutencao"])
        for r in manutencoes
        if r["categoria"] == "corretiva"
    }
    # Rows of work orders an earlier batch sent: the open visit, now closed, or the last row
    # again (an overlapping export). The rest are this window's new work orders.
    earlier = {r["id_origem"]: r for step in two_steps[:index] for r in read_batch(step)[1]}
    resent = [r for r in manutencoes if r["id_origem"] in earlier]
    for row in resent:
        before = earlier[row["id_origem"]]
        assert {k: v for k, v in row.items() if k != "data_conclusao"} == {
            k: v for k, v in before.items() if k != "data_conclusao"
        }
        assert row["data_conclusao"] == before["data_conclusao"] or not before["data_conclusao"]
    assert bool(resent) == (index > 0)
    new = [r for r in manutencoes if r["id_origem"] not in earlier]
    orders = [r["id_origem"] for r in new]
    assert len(set(orders)) == len(orders), "a work order is sent once per batch"
    assert all(o.startswith(f"OS-{r['placa_veiculo']}-") for o, r in zip(orders, new, strict=True))
    for row in new:
        placa = row["placa_veiculo"]
        assert placa in known, f"{placa} never written to veiculos.csv"
        tipo_veiculo = known[placa]["tipo_veiculo"]
        assert len(row["tipo_manutencao"]) <= MANUTENCOES.column("tipo_manutencao").length
        assert row["categoria"] in CATEGORIAS
        assert row["categoria"] == categoria_of(row["tipo_manutencao"])

        custo = Decimal(row["custo"])
        assert custo.as_tuple().exponent == -2, row["custo"]
        low, high = cost_range(tipo_veiculo, row["tipo_manutencao"])
        assert low <= custo <= high, (tipo_veiculo, row)

        day = date.fromisoformat(row["data_manutencao"])
        assert result.start <= day <= result.end
        assert date.fromisoformat(known[placa]["data_aquisicao"]) <= day
        km = int(row["quilometragem"])
        assert km <= int(veiculos[placa]["quilometragem_total"])
        assert km >= last_km.get(placa, 0), "odometer at service never goes backwards"
        last_km[placa] = km

        if row["data_conclusao"]:
            downtime = (date.fromisoformat(row["data_conclusao"]) - day).days
            assert date.fromisoformat(row["data_conclusao"]) <= result.end
            # A visit's rows share one exit date: a repair sets the downtime of the whole visit.
            if (placa, row["data_manutencao"]) in repaired:
                assert 1 <= downtime <= 15
            else:
                assert 0 <= downtime <= 2
        else:
            assert veiculos[placa]["status"] == EM_MANUTENCAO, "an open visit keeps it in the shop"

    keys = [(r["placa_veiculo"], r["data_manutencao"]) for r in manutencoes]
    assert keys == sorted(keys), "rows ordered by placa, then date"
    assert list(veiculos) == sorted(veiculos)


def test_vehicles_in_the_shop_have_an_open_maintenance(two_steps: list[GenerateResult]) -> None:
    veiculos, manutencoes = read_batch(two_steps[0])
    open_visits = {r["placa_veiculo"] for r in manutencoes if not r["data_conclusao"]}
    in_shop = {p for p, v in veiculos.items() if v["status"] == EM_MANUTENCAO}
    assert in_shop == open_visits


def test_plates_are_unique_and_follow_the_acquisition_date(
    two_steps: list[GenerateResult],
) -> None:
    plates: list[str] = []
    acquired: dict[str, date] = {}
    for result in two_steps:
        veiculos, _ = read_batch(result)
        plates += [p for p in veiculos if p not in acquired]
        acquired |= {p: date.fromisoformat(v["data_aquisicao"]) for p, v in veiculos.items()}
    assert len(plates) == len(set(plates))
    for plate, day in acquired.items():
        assert is_valid_plate(plate)
        if day < date(2018, 9, 11):
            assert plate[4].isdigit(), f"{plate} bought {day} predates Mercosul plates"
        if day >= date(2020, 1, 31):
            assert plate[4].isalpha(), f"{plate} bought {day} must be Mercosul"


def test_initial_odometer_matches_age_and_type(two_steps: list[GenerateResult]) -> None:
    first = two_steps[0]
    veiculos, _ = read_batch(first)
    initial = {p: v for p, v in veiculos.items() if v["data_aquisicao"] < first.start.isoformat()}
    assert len(initial) == 200
    for v in initial.values():
        if v["status"] == INATIVO:
            continue  # stopped driving when retired
        low, high = TYPES_BY_NAME[v["tipo_veiculo"]].km_per_day
        days = (first.end - date.fromisoformat(v["data_aquisicao"])).days
        per_day = int(v["quilometragem_total"]) / days
        assert low * 0.5 <= per_day <= high * 1.15, v


def test_continuation_moves_the_same_fleet_forward(two_steps: list[GenerateResult]) -> None:
    first, second = two_steps
    assert second.step == 2
    assert (second.start, second.end) == (UNTIL + timedelta(days=1), LATER)
    assert second.out_dir.name == "000002-20260731"
    before, _ = read_batch(first)
    after, _ = read_batch(second)

    kept = set(before) & set(after)
    assert len(kept) > 150, "most of the fleet drives on"
    for placa in kept:
        assert int(after[placa]["quilometragem_total"]) >= int(before[placa]["quilometragem_total"])
        assert after[placa]["data_aquisicao"] == before[placa]["data_aquisicao"]
        assert after[placa]["tipo_veiculo"] == before[placa]["tipo_veiculo"]

    retired = {p for p, v in before.items() if v["status"] == INATIVO}
    assert retired and not retired & set(after), "a retired vehicle never changes again"

    bought = set(after) - set(before)
    assert bought, "new vehicles are acquired during later windows"
    for placa in bought:
        assert second.start <= date.fromisoformat(after[placa]["data_aquisicao"]) <= LATER

    back = {p for p, v in before.items() if v["status"] == EM_MANUTENCAO} & set(after)
    assert any(after[p]["status"] == "ativo" for p in back), "the shop releases vehicles"


def test_same_day_rerun_simulates_one_more_day_dated_until(tmp_path: Path) -> None:
    first = generate_batch(tmp_path, vehicles=200, until=UNTIL, days=30)
    again = generate_batch(tmp_path, vehicles=200, until=UNTIL)
    assert (again.step, again.start, again.end) == (2, UNTIL, UNTIL)
    assert again.out_dir.name == "000002-20260630"
    assert again.out_dir != first.out_dir and first.out_dir.is_dir()
    _, manutencoes = read_batch(again)
    earlier = {r["id_origem"] for r in read_batch(first)[1]}
    new = [r for r in manutencoes if r["id_origem"] not in earlier]  # not a re-sent order
    assert again.veiculos > 0 and new
    assert {r["data_manutencao"] for r in new} == {UNTIL.isoformat()}


def test_same_seed_gives_byte_identical_batches(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        outbox = tmp_path / name
        runs.append(
            [
                generate_batch(outbox, seed=11, vehicles=60, until=UNTIL, days=200),
                generate_batch(outbox, seed=11, vehicles=60, until=LATER, days=20),
                generate_batch(outbox, seed=11, vehicles=60, until=LATER),
            ]
        )
    for one, other in zip(*runs, strict=True):
        assert one.out_dir.name == other.out_dir.name
        for table in (VEICULOS, MANUTENCOES):
            data = (one.out_dir / table.file_name).read_bytes()
            assert data == (other.out_dir / table.file_name).read_bytes()
    state = (tmp_path / "a" / STATE_NAME).read_bytes()
    assert state == (tmp_path / "b" / STATE_NAME).read_bytes()


def test_another_seed_gives_another_fleet(tmp_path: Path) -> None:
    one = generate_batch(tmp_path / "a", seed=1, vehicles=50, until=UNTIL, days=60)
    two = generate_batch(tmp_path / "b", seed=2, vehicles=50, until=UNTIL, days=60)
    for table in (VEICULOS, MANUTENCOES):
        assert (one.out_dir / table.file_name).read_bytes() != (
            two.out_dir / table.file_name
        ).read_bytes()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"seed": 8}, "seed=7"), ({"vehicles": 201}, "vehicles=200")],
    ids=["seed", "vehicles"],
)
def test_continuing_with_other_parameters_is_refused(
    tmp_path: Path, kwargs: dict[str, int], message: str
) -> None:
    generate_batch(tmp_path, seed=7, vehicles=200, until=UNTIL, days=10)
    with pytest.raises(ConfigError, match=message) as caught:
        generate_batch(tmp_path, **{"seed": 7, "vehicles": 200, **kwargs}, until=LATER)
    assert caught.value.hint and "another outbox" in caught.value.hint
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == ["000001-20260630"]


def test_crash_before_the_state_write_redoes_the_same_step(tmp_path: Path) -> None:
    generate_batch(tmp_path, vehicles=80, until=UNTIL, days=60)
    state_after_step_1 = (tmp_path / STATE_NAME).read_bytes()
    done = generate_batch(tmp_path, vehicles=80, until=LATER)
    files = {
        t.file_name: (done.out_dir / t.file_name).read_bytes() for t in (VEICULOS, MANUTENCOES)
    }

    # Killed after the rename, before the state write, and after a half-written next attempt.
    (tmp_path / STATE_NAME).write_bytes(state_after_step_1)
    (tmp_path / ".000002-20260731.tmp").mkdir()
    redo = generate_batch(tmp_path, vehicles=80, until=LATER)
    assert redo == done
    assert {n: (redo.out_dir / n).read_bytes() for n in files} == files

    # Rerun on a later day: the stale folder of that step goes, the step is not repeated.
    (tmp_path / STATE_NAME).write_bytes(state_after_step_1)
    later = generate_batch(tmp_path, vehicles=80, until=LATER + timedelta(days=1))
    assert later.step == 2
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["000001-20260630", "000002-20260801", STATE_NAME]


def test_unreadable_state_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / STATE_NAME).write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match=STATE_NAME):
        generate_batch(tmp_path, until=UNTIL)


def test_progress_reports_each_vehicle_of_the_fleet(tmp_path: Path) -> None:
    """Issue 13: a bar with a total and a time left needs a total known up front: the fleet."""

    class Seen(list):
        total: int | None = None

        def set_total(self, total: int) -> None:
            self.total = total

        def __call__(self, done: int) -> None:
            self.append(done)

    seen = Seen()
    generate_batch(tmp_path, vehicles=50, until=UNTIL, progress=seen)
    fleet = len(json.loads((tmp_path / "_generator_state.json").read_text())["fleet"])
    assert seen.total == fleet >= 50
    assert seen == list(range(1, fleet + 1))


@pytest.mark.parametrize(
    ("days", "last_end", "window"),
    [
        (None, None, (date(2024, 7, 1), UNTIL)),
        (30, None, (date(2026, 6, 1), UNTIL)),
        (None, date(2026, 6, 1), (date(2026, 6, 2), UNTIL)),
        (10, date(2026, 6, 1), (date(2026, 6, 2), date(2026, 6, 11))),
        (100, date(2026, 6, 1), (date(2026, 6, 2), UNTIL)),
        (None, UNTIL, (UNTIL, UNTIL)),
        (None, UNTIL + timedelta(days=3), (UNTIL, UNTIL)),
    ],
    ids=["history", "days", "continue", "continue-days", "days-capped", "same-day", "clock-back"],
)
def test_plan_window_never_passes_until(
    days: int | None, last_end: date | None, window: tuple[date, date]
) -> None:
    assert plan_window(UNTIL, days=days, history_days=730, last_end=last_end) == window


def test_bad_parameters_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="vehicles"):
        generate_batch(tmp_path, vehicles=0, until=UNTIL)
    with pytest.raises(ConfigError, match="days"):
        generate_batch(tmp_path, days=0, until=UNTIL)
    assert not any(tmp_path.iterdir())


def test_cost_ranges_are_realistic() -> None:
    assert cost_range("Moto", "Troca de óleo e filtros") == (Decimal(80), Decimal(200))
    low, high = cost_range("Cavalo Mecânico", "Reparo de motor")
    assert Decimal(15_000) <= low < high <= Decimal(60_000)
    for vtype in VEHICLE_TYPES:
        for name in [s.name for s in vtype.services] + [r.name for r in REPAIRS]:
            low, high = cost_range(vtype.name, name)
            assert Decimal(0) < low < high


def test_docs_name_every_type_and_service() -> None:
    text = DOCS.read_text(encoding="utf-8")
    names = {t.name for t in VEHICLE_TYPES} | {r.name for r in REPAIRS}
    names |= {s.name for t in VEHICLE_TYPES for s in t.services}
    assert not {n for n in names if n not in text}
