#!/usr/bin/env bash
# Run a command with a private PostgreSQL server for the ledger tests:
#   scripts/test-services.sh .venv/bin/python -m pytest -q
# Installs PostgreSQL from Debian's packages if it is missing (apt-get, through sudo when
# not root), starts a throw-away cluster in a temp folder on a unix socket (and loopback)
# as a non-root user, exports FANPIN_FORMS_TEST_PG_URL, runs the command and stops the
# cluster, keeping the command's exit code. FANPIN_FORMS_NO_PG=1 runs the command alone.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "用法：scripts/test-services.sh 命令 [参数]..." >&2
    exit 2
fi
if [[ "${FANPIN_FORMS_NO_PG:-}" == 1 ]]; then
    exec "$@"
fi

pg_bin() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [[ -n "$found" && -x "$found/initdb" ]] && echo "$found"
}

BIN=$(pg_bin || true)
if [[ -z "$BIN" ]]; then
    echo "未找到 PostgreSQL，正在用 apt-get 安装 postgresql……" >&2
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    BIN=$(pg_bin)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fanpin-pg.XXXXXX")
RUN=()
if [[ $(id -u) -eq 0 ]]; then
    OWNER=postgres
    id "$OWNER" >/dev/null 2>&1 || OWNER=nobody
    chown "$OWNER" "$WORK"
    RUN=(runuser -u "$OWNER" --)
fi
chmod 700 "$WORK"
PORT=$(( 20000 + RANDOM % 20000 ))

stop() {
    "${RUN[@]}" "$BIN/pg_ctl" -D "$WORK/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap stop EXIT

"${RUN[@]}" "$BIN/initdb" -D "$WORK/data" -U fanpin --auth=trust -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 \
    || { cat "$WORK/initdb.log" >&2; exit 1; }
"${RUN[@]}" "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w \
    -o "-k $WORK -p $PORT -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50" start >/dev/null \
    || { cat "$WORK/server.log" >&2; exit 1; }
"${RUN[@]}" "$BIN/createdb" -h "$WORK" -p "$PORT" -U fanpin fanpin_test

export FANPIN_FORMS_TEST_PG_URL="postgresql+psycopg://fanpin@127.0.0.1:$PORT/fanpin_test"
set +e
"$@"
status=$?
set -e
exit $status
