#!/usr/bin/env bash
# The package as a user gets it: build the sdist and the wheel (`python -m build`: the wheel is
# built from the sdist, so both are proven), install the wheel into a fresh virtualenv, and use
# it from an empty folder with no checkout on the path:
#   base wheel      frota --version (package metadata), schedule --format cron, db upgrade
#                   (the migrations are in the wheel), warehouse refused naming its extra
#   + extras        each extra's imports; frota run (generate → publish → load → warehouse,
#                   the shipped dbt project)
#   own project     warehouse init-project, frota reinstalled, the user's project built on it
#
#   scripts/wheel-test.sh        # or: make wheel-test
#
# About two minutes with a warm pip cache (most of it pip and dbt). Environment: PYTHON (default .venv/bin/python, which
# needs `build`: pip install -e '.[dev]'), WHEEL_TEST_KEEP=1 keeps the work folder.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"

# Runtime extras and the modules each must make importable. Every extra the wheel declares must
# be listed here or in SKIP (with the reason), so a new extra cannot go untested.
declare -A IMPORTS=(
    [mysql]="pymysql"
    [postgres]="psycopg"
    [warehouse]="duckdb dbt.cli.main dbt.adapters.duckdb dbt.adapters.postgres matplotlib babel jinja2"
    [alerts]="apprise"
    [metrics]="prometheus_client"
)
declare -A SKIP=(
    [airflow]="Apache Airflow takes about 2 minutes to install: scripts/airflow-test.sh installs it and runs the DAG end to end"
    [dvc]="DVC pulls in about 100 packages: .ci/run installs frota[dvc] into the test virtualenv, where tests/test_snapshot.py runs the real dvc program (required in CI)"
    [test]="development only: make test installs it"
    [dev]="development only: make test installs it"
)

WORK="$(mktemp -d "${TMPDIR:-/tmp}/frota-wheel.XXXXXX")"
if [ -z "${WHEEL_TEST_KEEP:-}" ]; then trap 'rm -rf "$WORK"' EXIT; fi
step() { printf '\n-- wheel-test [%3d s]: %s\n' "$SECONDS" "$*"; }
fail() { printf 'wheel-test: FAILED: %s\n' "$*" >&2; exit 1; }
pip() {  # quiet pip into the new virtualenv; its log is shown only if it fails
    "$WORK/venv/bin/python" -m pip "$@" >>"$WORK/pip.log" 2>&1 ||
        { tail -30 "$WORK/pip.log" >&2; fail "pip $*"; }
}

step "build sdist and wheel (python -m build)"
"$PYTHON" -c 'import build' 2>/dev/null ||
    fail "the 'build' package is missing from $PYTHON: pip install -e '.[dev]' (or make wheel-test)"
"$PYTHON" -m build --outdir "$WORK/dist" "$ROOT" >"$WORK/build.log" 2>&1 ||
    { tail -30 "$WORK/build.log" >&2; fail "python -m build (log: $WORK/build.log)"; }
WHEEL="$(ls "$WORK"/dist/frota-*.whl)"
ls "$WORK"/dist/frota-*.tar.gz >/dev/null || fail "no sdist built"
VERSION="$(basename "$WHEEL" | cut -d- -f2)"
echo "built $(cd "$WORK/dist" && ls)"

step "fresh virtualenv, base wheel only, used from an empty folder"
"$PYTHON" -m venv "$WORK/venv"
pip install "$WHEEL"
mkdir "$WORK/empty"
cd "$WORK/empty"
# Nothing of the checkout or of this shell's frota settings may leak in.
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV
for var in $(compgen -e | grep -E '^(FROTA_|LC_|LANGUAGE$)' || true); do unset "$var"; done
export LANG=C.UTF-8  # English, the default; Portuguese is asked for below
export FROTA_CACHE_DIR="$WORK/cache" FROTA_VEHICLES=40
FROTA="$WORK/venv/bin/frota"
PY="$WORK/venv/bin/python"

where="$("$PY" -c 'import frota; print(frota.__file__)')"
case "$where" in "$WORK/venv/"*) ;; *) fail "frota imported from $where, not the wheel" ;; esac

got="$("$FROTA" --version)"
[ "$got" = "frota, version $VERSION" ] || fail "frota --version said '$got', the wheel is $VERSION"
echo "$got"

LANG=pt_BR.UTF-8 "$FROTA" --help >"$WORK/help-pt.txt"
grep -q "^Uso: frota" "$WORK/help-pt.txt" || fail "no Portuguese help: is the pt_BR catalog in the wheel?"
set +e
"$FROTA" --lang pt-BR --database nosuch://x load 2>"$WORK/error-pt.txt"
set -e
grep -q "^erro: " "$WORK/error-pt.txt" && grep -q "^  dica: " "$WORK/error-pt.txt" ||
    fail "error lines not in Portuguese: $(cat "$WORK/error-pt.txt")"
echo "pt-BR: help and error lines translated (compiled catalog in the wheel)"

"$FROTA" schedule --format cron --every 15m >"$WORK/cron.txt"
grep -qF "$FROTA run >>" "$WORK/cron.txt" || fail "schedule --format cron: $(cat "$WORK/cron.txt")"
echo "schedule --format cron: $(grep -c . "$WORK/cron.txt") line(s)"

"$FROTA" db upgrade
"$FROTA" db current | tee "$WORK/current.txt"
grep -q "(head)" "$WORK/current.txt" || fail "db current does not report head"

set +e
"$FROTA" warehouse >/dev/null 2>"$WORK/noextra.txt"
code=$?
set -e
[ "$code" = 7 ] && grep -q "frota\[warehouse\]" "$WORK/noextra.txt" ||
    fail "without the extra, frota warehouse exited $code: $(cat "$WORK/noextra.txt")"
echo "without frota[warehouse]: exit 7, names the extra"

step "extras"
declared="$("$PY" -c 'from importlib.metadata import metadata
print(" ".join(metadata("frota").get_all("Provides-Extra") or []))')"
install=()
for extra in $declared; do
    if [ -n "${IMPORTS[$extra]:-}" ]; then
        install+=("$extra")
    elif [ -n "${SKIP[$extra]:-}" ]; then
        echo "skipped frota[$extra]: ${SKIP[$extra]}"
    else
        fail "the wheel declares extra '$extra': add it to IMPORTS (or SKIP, with why) in $0"
    fi
done
extras="$(IFS=,; echo "${install[*]}")"
pip install "$WHEEL[$extras]"
for extra in "${install[@]}"; do
    for module in ${IMPORTS[$extra]}; do
        "$PY" -c "import $module" || fail "frota[$extra]: import $module"
    done
    echo "frota[$extra]: imports ${IMPORTS[$extra]}"
done
echo "DAG import skipped: frota.orchestrate.airflow_dag needs Apache Airflow (tested by scripts/airflow-test.sh)"
[ -f "$(dirname "$where")/orchestrate/airflow_dag.py" ] || fail "the DAG module is not in the wheel"

step "frota run: generate → publish → load → warehouse (the shipped dbt project)"
"$FROTA" run >"$WORK/run.txt" 2>"$WORK/run.err" ||
    { cat "$WORK/run.txt" "$WORK/run.err" >&2; fail "frota run"; }
grep -E "published:|loaded batches|models built" "$WORK/run.txt"
marts="$("$PY" - <<'PY'
import duckdb

con = duckdb.connect("data/warehouse.duckdb", read_only=True)
print(con.execute("select count(*) from analytics.mart_custo_veiculo_mes").fetchone()[0])
PY
)"
[ "$marts" -gt 0 ] || fail "analytics.mart_custo_veiculo_mes is empty"
echo "analytics.mart_custo_veiculo_mes: $marts rows"

step "your own dbt project: init-project, reinstall frota, build it"
"$FROTA" warehouse init-project own >/dev/null
mine() { (cd own && find . -path ./dbt_packages -prune -o -type f ! -name package-lock.yml \
    -print0 | sort -z | xargs -0 sha256sum); }
before="$(mine)"
pip install --force-reinstall --no-deps "$WHEEL"
FROTA_WAREHOUSE_PROJECT=own "$FROTA" warehouse >"$WORK/own.txt" 2>"$WORK/own.err" ||
    { cat "$WORK/own.txt" "$WORK/own.err" >&2; fail "frota warehouse with the project of one's own"; }
grep "models built" "$WORK/own.txt"
[ "$(mine)" = "$before" ] || fail "building or reinstalling changed a file of the user's project"
classes="$("$PY" - <<'PY'
import duckdb

con = duckdb.connect("data/warehouse.duckdb", read_only=True)
print(con.execute("select count(*) from analytics.custo_por_classe_veiculo").fetchone()[0])
PY
)"
[ "$classes" -gt 0 ] || fail "analytics.custo_por_classe_veiculo is empty"
echo "analytics.custo_por_classe_veiculo: $classes vehicle classes; the user's files unchanged"

step "passed (frota $VERSION, $SECONDS s)"
