#!/usr/bin/env bash
# Build (or reuse) a separate virtualenv with Apache Airflow and frota, and run the Airflow
# tests in it: the DAG imports cleanly, dag.test() runs the pipeline end to end.
#
#   scripts/airflow-test.sh            # extra pytest arguments are passed on
#   scripts/airflow-test.sh --install-only   # build the virtualenv, run nothing (CI does this
#                                            # while the main suite runs)
#   scripts/airflow-test.sh --tests-only     # then the tests alone (CI: beside three-hosts)
#
# The first build takes about 2 minutes; later runs reuse the virtualenv.
# Environment: FROTA_AIRFLOW_VENV (default .venv-airflow), AIRFLOW_VERSION (default 3.3.2),
# PYTHON (default python3.11, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."
INSTALL_ONLY="" TESTS_ONLY=""
if [ "${1:-}" = "--install-only" ]; then INSTALL_ONLY=1; shift; fi
if [ "${1:-}" = "--tests-only" ]; then TESTS_ONLY=1; shift; fi  # after --install-only

VENV="${FROTA_AIRFLOW_VENV:-.venv-airflow}"
AIRFLOW_VERSION="${AIRFLOW_VERSION:-3.3.2}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"

have_airflow() {
    "$VENV/bin/python" - "$AIRFLOW_VERSION" <<'PY' 2>/dev/null
import sys
import airflow
sys.exit(airflow.__version__ != sys.argv[1])
PY
}

if [ -n "$TESTS_ONLY" ]; then
    :
elif [ ! -x "$VENV/bin/python" ] || ! have_airflow; then
    echo "airflow-test: building $VENV with apache-airflow==$AIRFLOW_VERSION (about 2 minutes)"
    "$PYTHON" -m venv "$VENV"
    echo '*' > "$VENV/.gitignore"  # keep the virtualenv out of git
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet "apache-airflow==$AIRFLOW_VERSION" pytest
fi
# frota itself, editable, with the warehouse (the DAG's last steps run dbt) and the alerts (its
# failure hook alerts through frota): cheap when nothing
# changed, and picks up new dependencies.
[ -n "$TESTS_ONLY" ] || "$VENV/bin/pip" install --quiet -e '.[warehouse,alerts]' pytest
if [ -n "$INSTALL_ONLY" ]; then echo "airflow-test: $VENV ready"; exit 0; fi

# A private Airflow home on SQLite; the tests run `airflow db migrate` in it.
AIRFLOW_HOME="$(mktemp -d "${TMPDIR:-/tmp}/frota-airflow.XXXXXX")"
export AIRFLOW_HOME
trap 'rm -rf "$AIRFLOW_HOME"' EXIT
export AIRFLOW__CORE__LOAD_EXAMPLES=False

"$VENV/bin/python" -m pytest -p no:cacheprovider tests/airflow "$@"
