#!/usr/bin/env bash
# Three machines, tested as three (issue 16; docs/deployment.md, "Three machines, tested").
#
#   scripts/three-hosts.sh          # or: make three-hosts
#
# Four network namespaces on this machine: source, drive (the landing area), server and
# analytics, joined by veth links in 198.18.0.0/24 with no route out. frota is built into one
# wheel and installed into one virtualenv per role with only that role's extras; the pipeline
# then runs across the namespaces for several rounds, each with a network or server fault and
# its recovery, and counts and cost sums are compared end to end after every round
# (scripts/three_hosts/). The last line is the summary:
#   hosts=4 rounds=R batches=B rows=N faults=F lost=0 duplicated=0
# and the exit code is 1 on any difference.
#
# Needs root, iproute2, rclone, MariaDB, openssl and faketime. Without them it says why and
# exits 0 ("skipped"); in CI (CI=true) it fails instead. Everything it starts is stopped and
# the namespaces and links are removed on exit, also on failure.
# THREE_HOSTS_KEEP=1 keeps the work folder (each command's output, the transcript).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

skip() {
    case "${CI:-}" in
        1 | true | TRUE | True | yes)
            echo "three-hosts: cannot run in CI: $*" >&2
            exit 1
            ;;
    esac
    echo "three-hosts: skipped: $*"
    exit 0
}

[ "$(id -u)" = 0 ] || skip "network namespaces need root"
for tool in ip rclone mariadbd mariadb-install-db mariadb mariadb-admin openssl faketime python3; do
    command -v "$tool" >/dev/null || skip "$tool is not installed"
done

# Our own names (pid-based), so that two runs never touch each other's namespaces.
PREFIX="fh$$"
ip netns add "$PREFIX-probe" 2>/dev/null || skip "network namespaces are not allowed here"
ip netns del "$PREFIX-probe"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/frota-three-hosts.XXXXXX")
teardown() {
    local host pids
    for host in source drive server analytics; do
        pids=$(ip netns pids "$PREFIX-$host" 2>/dev/null || true)
        if [ -n "$pids" ]; then
            # shellcheck disable=SC2086 # one pid per word
            kill -9 $pids 2>/dev/null || true
        fi
        ip netns del "$PREFIX-$host" 2>/dev/null || true
    done
    if [ "${THREE_HOSTS_KEEP:-}" = 1 ]; then
        echo "three-hosts: work folder kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap teardown EXIT
trap 'exit 130' INT TERM

echo "three-hosts: one wheel, one virtualenv per role"
mkdir -p "$WORK"/{source,drive,server,analytics}
python3 -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$ROOT" >"$WORK/wheel.log" 2>&1 ||
    { cat "$WORK/wheel.log"; exit 1; }
WHEEL=$(ls "$WORK"/dist/frota-*.whl)

venv() {  # venv HOST EXTRAS: the role's own installation, from the one wheel (pip's cache)
    python3 -m venv "$WORK/$1/.venv"
    "$WORK/$1/.venv/bin/pip" install --quiet --no-compile "frota$2 @ file://$WHEEL" >"$WORK/$1.pip.log" 2>&1 ||
        { tail -20 "$WORK/$1.pip.log"; return 1; }
}
venv source "" &
source_pip=$!
venv server "[mysql]" &
server_pip=$!
venv analytics "[mysql,warehouse]"
wait "$source_pip"
wait "$server_pip"
echo "three-hosts: virtualenvs ready after $SECONDS s"

PYTHONPATH="$ROOT/scripts" python3 -m three_hosts --work "$WORK" --prefix "$PREFIX"
