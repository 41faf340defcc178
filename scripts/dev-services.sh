#!/usr/bin/env bash
# Local PostgreSQL and S3 (Ceph radosgw on a one-OSD memstore cluster) for Wharf's tests and for
# developers: no Docker, no systemd; every daemon runs from a private folder.
#
#   scripts/dev-services.sh start  [--dir DIR] [--pg-port N] [--s3-port N]
#   scripts/dev-services.sh stop   [--dir DIR] [--clean]
#   scripts/dev-services.sh status [--dir DIR]
#
# `start` prints, one per line on stdout, the `export WHARF_...=...` lines that point Wharf at the
# services (eval "$(scripts/dev-services.sh start)"); everything else goes to stderr. It is
# idempotent: when the services already run it only prints the lines again. `stop` stops them and
# keeps DIR (the database and the objects survive a restart); `stop --clean` also removes DIR.
# DIR defaults to $WHARF_SERVICES_DIR, else /tmp/wharf-services; ports not given are picked free on
# 127.0.0.1 the first time and kept in DIR/state.env.
#
# Needs PostgreSQL's server binaries (Debian: postgresql; $WHARF_PG_BIN names their folder if it is
# not /usr/lib/postgresql/<newest>/bin), Ceph's (Debian: radosgw ceph-mon ceph-osd ceph-common),
# and node with the project's @aws-sdk/client-s3 (to create the bucket). As root, PostgreSQL runs as
# the `postgres` system user (it refuses root), so DIR and its parents must be searchable by it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
S3_ACCESS_KEY=wharf-access-key
S3_SECRET_KEY=wharf-secret-key
S3_BUCKET=wharf
S3_REGION=us-east-1
PG_USER=wharf
PG_PASSWORD=wharf
PG_DB=wharf
# Seconds to wait for each daemon before giving up.
WAIT=${WHARF_SERVICES_TIMEOUT:-90}

log() { echo "dev-services: [${SECONDS}s] $*" >&2; }
die() {
  log "error: $*"
  exit 1
}
usage() {
  sed -n '5,7p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2
  exit 2
}

cmd=${1:-}
[ -n "$cmd" ] || usage
shift
DIR=${WHARF_SERVICES_DIR:-/tmp/wharf-services}
want_pg_port=
want_s3_port=
clean=0
while (($#)); do
  case $1 in
    --dir) DIR=${2:?--dir needs a value}; shift 2 ;;
    --dir=*) DIR=${1#*=}; shift ;;
    --pg-port) want_pg_port=${2:?--pg-port needs a value}; shift 2 ;;
    --pg-port=*) want_pg_port=${1#*=}; shift ;;
    --s3-port) want_s3_port=${2:?--s3-port needs a value}; shift 2 ;;
    --s3-port=*) want_s3_port=${1#*=}; shift ;;
    --clean) clean=1; shift ;;
    -h | --help) usage ;;
    *) log "unknown argument: $1"; usage ;;
  esac
done
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
STATE=$DIR/state.env
PGDATA=$DIR/pg
PGRUN=$DIR/pg-run
CEPH=$DIR/ceph
CONF=$CEPH/ceph.conf

# --- PostgreSQL binaries and the user that runs them ------------------------------------------
find_pg_bin() {
  if [ -n "${WHARF_PG_BIN:-}" ]; then
    echo "$WHARF_PG_BIN"
  elif d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1) && [ -n "$d" ]; then
    echo "$d"
  elif command -v pg_ctl >/dev/null; then
    dirname "$(command -v pg_ctl)"
  else
    return 1
  fi
}
if [ "$(id -u)" -eq 0 ]; then
  PG_OS_USER=${WHARF_PG_OS_USER:-postgres}
  as_pg() { runuser -u "$PG_OS_USER" -- "$@"; }
else
  PG_OS_USER=$(id -un)
  as_pg() { "$@"; }
fi

# --- helpers ---------------------------------------------------------------------------------------
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
# A zombie (exited, not yet reaped: some containers' init never reaps) counts as gone.
pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }
pidfile_pid() { [ -s "$1" ] && tr -dc '0-9' <"$1" || true; }
tail_log() {
  if [ -f "$1" ]; then
    log "last lines of $1:"
    tail -n "${2:-30}" "$1" | sed 's/^/  | /' >&2
  fi
}
ceph_cli() { timeout 30 ceph -c "$CONF" --connect-timeout 20 "$@"; }
save_state() {
  cat >"$STATE" <<EOF
PG_PORT=$PG_PORT
S3_PORT=$S3_PORT
MON_PORT=$MON_PORT
FSID=$FSID
EOF
}
# Percent-encodes $1 for a URL's host (the socket folder: `/` becomes %2F).
urlencode() {
  local s=$1 out='' c h i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [a-zA-Z0-9._~-]) out+=$c ;;
      *) printf -v h '%%%02X' "'$c"; out+=$h ;;
    esac
  done
  printf '%s' "$out"
}
print_exports() {
  # Wharf reaches the server through its Unix socket (cheaper than loopback TCP per statement,
  # docs/deployment.md); the tests' admin URL stays on TCP.
  cat <<EOF
export WHARF_DATABASE__URL=postgres://$PG_USER:$PG_PASSWORD@$(urlencode "$PGRUN"):$PG_PORT/$PG_DB
export WHARF_STORAGE__DRIVER=s3
export WHARF_STORAGE__S3__ENDPOINT=http://127.0.0.1:$S3_PORT
export WHARF_STORAGE__S3__REGION=$S3_REGION
export WHARF_STORAGE__S3__BUCKET=$S3_BUCKET
export WHARF_STORAGE__S3__ACCESS_KEY=$S3_ACCESS_KEY
export WHARF_STORAGE__S3__SECRET_KEY=$S3_SECRET_KEY
export WHARF_STORAGE__S3__FORCE_PATH_STYLE=true
export WHARF_TEST_PG_ADMIN_URL=postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres
EOF
}

pg_running() { [ -f "$PGDATA/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }
ceph_daemons=(mon.a osd.0 client.rgw.wharf)
# The pid in the daemon's pid file, if that process is still this folder's daemon (not a reused pid).
daemon_pid() {
  local pid
  pid=$(pidfile_pid "$CEPH/run/$1.pid")
  [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CONF" && echo "$pid"
  return 0
}
daemon_running() { pid_alive "$(daemon_pid "$1")"; }
# Any HTTP answer on the S3 port (bash's /dev/tcp: no curl needed).
s3_answers() {
  timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET / HTTP/1.0\r\n\r\n" >&3 && IFS= read -r line <&3 && [[ $line == HTTP/* ]]' _ "$S3_PORT" 2>/dev/null
}

# --- PostgreSQL ------------------------------------------------------------------------------------
start_pg() {
  mkdir -p "$PGRUN"
  if [ "$(id -u)" -eq 0 ]; then
    chmod go+x "$DIR"
    chown "$PG_OS_USER" "$PGRUN"
    as_pg test -x "$DIR" || die "$DIR is not searchable by the $PG_OS_USER user (check its parents' modes)"
  fi
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    log "initdb $PGDATA"
    mkdir -p "$PGDATA"
    [ "$(id -u)" -ne 0 ] || chown "$PG_OS_USER" "$PGDATA"
    chmod 700 "$PGDATA"
    local pw=$PGRUN/pwfile
    echo "$PG_PASSWORD" >"$pw"
    [ "$(id -u)" -ne 0 ] || chown "$PG_OS_USER" "$pw"
    # The bootstrap superuser is `wharf` (password wharf): tests may CREATE DATABASE.
    as_pg "$PG_BIN/initdb" -D "$PGDATA" -U "$PG_USER" --pwfile="$pw" -E UTF8 --locale=C.UTF-8 --no-sync \
      --auth-local=trust --auth-host=scram-sha-256 >"$PGRUN/initdb.log" 2>&1 ||
      { tail_log "$PGRUN/initdb.log"; die "initdb failed"; }
    rm -f "$pw"
    as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null <<EOF

# dev-services.sh: loopback only, socket in $PGRUN, sized for test suites
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGRUN'
max_connections = 200
shared_buffers = 128MB
synchronous_commit = off
EOF
  fi
  if pg_running; then
    log "postgres already runs (port $PG_PORT)"
  else
    log "starting postgres on 127.0.0.1:$PG_PORT"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGRUN/postgres.log" -o "-p $PG_PORT" -w -t "$WAIT" start \
      </dev/null >&2 || { tail_log "$PGRUN/postgres.log"; die "postgres did not start"; }
  fi
  if ! PGPASSWORD=$PG_PASSWORD "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -Atqc \
    "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" | grep -q 1; then
    PGPASSWORD=$PG_PASSWORD "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -qc \
      "CREATE DATABASE $PG_DB" >&2 || die "could not create database $PG_DB"
  fi
}

stop_pg() {
  if pg_running; then
    log "stopping postgres"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m "$( ((clean)) && echo immediate || echo fast)" -w -t "$WAIT" stop >&2 || log "warning: postgres did not stop"
  fi
}

# --- Ceph: one mon, one memstore OSD, radosgw ------------------------------------------------------
write_ceph_conf() {
  cat >"$CONF" <<EOF
# Written by scripts/dev-services.sh on every start; a one-node test cluster, no authentication.
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
public network = 127.0.0.0/8
ms bind msgr1 = false
ms bind ipv4 = true
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
# radosgw defaults to "secure" mode towards the monitors, which auth none cannot provide.
ms mon client mode = crc
run dir = $CEPH/run
pid file = $CEPH/run/\$name.pid
log file = $CEPH/log/\$name.log
keyring = $CEPH/\$name.keyring
mon data = $CEPH/mon.\$id
osd data = $CEPH/osd.\$id
# memstore writes its objects to osd.0 only on an orderly unmount, which fast shutdown skips.
osd fast shutdown = false
osd objectstore = memstore
memstore device bytes = 8589934592
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
# Commit monitor map changes (pool creation, OSD boot) sooner than the default 1 s: faster cold start.
paxos propose interval = 0.1
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 2
mon data avail crit = 1
osd max object name len = 460
osd max object namespace len = 64
rgw frontends = beast endpoint=127.0.0.1:$S3_PORT
rgw data = $CEPH/rgw
rgw thread pool size = 64

# Only the daemons get an admin socket: short-lived clients (ceph, radosgw-admin) would collide.
[mon]
admin socket = $CEPH/run/\$name.asok
[osd]
admin socket = $CEPH/run/\$name.asok
[client.rgw.wharf]
admin socket = $CEPH/run/\$name.asok
EOF
}

start_daemon() { # name, command...
  local name=$1
  shift
  if daemon_running "$name"; then
    log "$name already runs"
    return
  fi
  log "starting $name"
  "$@" -c "$CONF" </dev/null >>"$CEPH/log/$name.out" 2>&1 || {
    tail_log "$CEPH/log/$name.out"
    tail_log "$CEPH/log/$name.log"
    die "$name did not start"
  }
}

wait_for() { # description, log file, command...
  local what=$1 logf=$2
  shift 2
  local deadline=$((SECONDS + WAIT))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      tail_log "$logf" 40
      die "timed out after ${WAIT}s waiting for $what"
    fi
    sleep 0.3
  done
}

osd_up() { ceph_cli osd dump 2>/dev/null | grep -q "^osd\.0 up "; }

start_ceph() {
  mkdir -p "$CEPH/run" "$CEPH/log" "$CEPH/rgw"
  write_ceph_conf
  if [ ! -f "$CEPH/mon.a/done" ]; then
    log "creating the Ceph cluster (fsid $FSID, mon on 127.0.0.1:$MON_PORT)"
    rm -rf "$CEPH/mon.a" "$CEPH/osd.0"
    monmaptool --create --clobber --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$CEPH/monmap" >&2
    ceph-authtool --create-keyring "$CEPH/mon.a.keyring" --gen-key -n mon. --cap mon 'allow *' >&2
    ceph-mon -c "$CONF" --mkfs -i a --monmap "$CEPH/monmap" --keyring "$CEPH/mon.a.keyring" \
      >>"$CEPH/log/mon.a.out" 2>&1 || { tail_log "$CEPH/log/mon.a.out"; die "ceph-mon --mkfs failed"; }
    touch "$CEPH/mon.a/done"
  fi
  start_daemon mon.a ceph-mon -i a
  wait_for "the Ceph monitor" "$CEPH/log/mon.a.log" ceph_cli mon stat
  if [ ! -f "$CEPH/osd.0/ready" ]; then
    local uuid
    uuid=$(cat /proc/sys/kernel/random/uuid)
    rm -rf "$CEPH/osd.0"
    mkdir -p "$CEPH/osd.0"
    local id
    id=$(ceph_cli osd new "$uuid") || die "ceph osd new failed"
    [ "$id" = 0 ] || die "ceph osd new gave id $id, expected 0 (remove $CEPH and start again)"
    ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$uuid" >>"$CEPH/log/osd.0.out" 2>&1 ||
      { tail_log "$CEPH/log/osd.0.out"; tail_log "$CEPH/log/osd.0.log"; die "ceph-osd --mkfs failed"; }
    touch "$CEPH/osd.0/ready"
  fi
  start_daemon osd.0 ceph-osd -i 0
  wait_for "the OSD to be up" "$CEPH/log/osd.0.log" osd_up
  local rc=0
  timeout "$WAIT" radosgw-admin -c "$CONF" user info --uid wharf >/dev/null 2>"$CEPH/log/radosgw-admin.err" || rc=$?
  if [ "$rc" -eq 124 ]; then
    tail_log "$CEPH/log/osd.0.log"
    die "radosgw-admin timed out after ${WAIT}s (are the OSD's placement groups active?)"
  fi
  if [ "$rc" -ne 0 ]; then
    log "creating the S3 user"
    timeout "$WAIT" radosgw-admin -c "$CONF" user create --uid wharf --display-name Wharf \
      --access-key "$S3_ACCESS_KEY" --secret "$S3_SECRET_KEY" >/dev/null 2>"$CEPH/log/radosgw-admin.err" ||
      { tail_log "$CEPH/log/radosgw-admin.err"; die "radosgw-admin user create failed"; }
  fi
  start_daemon client.rgw.wharf radosgw -n client.rgw.wharf
  wait_for "radosgw to answer on 127.0.0.1:$S3_PORT" "$CEPH/log/client.rgw.wharf.log" s3_answers
  (cd "$ROOT" && S3_PORT=$S3_PORT node --no-warnings --input-type=module -e '
    import { S3Client, HeadBucketCommand, CreateBucketCommand } from "@aws-sdk/client-s3";
    const s3 = new S3Client({ endpoint: `http://127.0.0.1:${process.env.S3_PORT}`, region: "'"$S3_REGION"'",
      forcePathStyle: true, credentials: { accessKeyId: "'"$S3_ACCESS_KEY"'", secretAccessKey: "'"$S3_SECRET_KEY"'" } });
    try { await s3.send(new HeadBucketCommand({ Bucket: "'"$S3_BUCKET"'" })); }
    catch { await s3.send(new CreateBucketCommand({ Bucket: "'"$S3_BUCKET"'" })); console.error("dev-services: created bucket '"$S3_BUCKET"'"); }
  ') || die "could not create the bucket $S3_BUCKET (is @aws-sdk/client-s3 installed? run npm ci in $ROOT)"
}

stop_daemon() {
  local name=$1 pid
  pid=$(daemon_pid "$name")
  pid_alive "$pid" || return 0
  if ((clean)); then
    # Its data is about to be removed: no orderly shutdown needed.
    log "killing $name (pid $pid)"
    kill -KILL "$pid" 2>/dev/null || true
    local n=0
    while pid_alive "$pid" && ((n++ < 100)); do sleep 0.1; done
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 60))
  while pid_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      log "warning: $name did not exit within 60s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
}

stop_ceph() {
  # radosgw first, the OSD (memstore writes its objects to osd.0 on a clean exit), the monitor last.
  stop_daemon client.rgw.wharf
  stop_daemon osd.0
  stop_daemon mon.a
}

# --- commands --------------------------------------------------------------------------------------
load_state() {
  PG_PORT= S3_PORT= MON_PORT= FSID=
  # shellcheck disable=SC1090
  [ -f "$STATE" ] && . "$STATE"
  return 0
}

case $cmd in
  start)
    PG_BIN=$(find_pg_bin) || die "PostgreSQL's server binaries are missing (Debian: apt-get install postgresql)"
    [ -x "$PG_BIN/initdb" ] || die "no initdb in $PG_BIN (set WHARF_PG_BIN to the folder of PostgreSQL's server binaries)"
    for b in ceph ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool node; do
      command -v "$b" >/dev/null || die "$b is missing (Debian: apt-get install --no-install-recommends radosgw ceph-mon ceph-osd ceph-common)"
    done
    load_state
    if [ -n "$want_pg_port" ] && [ -n "$PG_PORT" ] && [ "$want_pg_port" != "$PG_PORT" ] && pg_running; then
      die "postgres already runs on port $PG_PORT in $DIR; stop it first to change the port"
    fi
    if [ -n "$want_s3_port" ] && [ -n "$S3_PORT" ] && [ "$want_s3_port" != "$S3_PORT" ] && daemon_running client.rgw.wharf; then
      die "radosgw already runs on port $S3_PORT in $DIR; stop it first to change the port"
    fi
    PG_PORT=${want_pg_port:-${PG_PORT:-$(free_port)}}
    S3_PORT=${want_s3_port:-${S3_PORT:-$(free_port)}}
    MON_PORT=${MON_PORT:-$(free_port)}
    FSID=${FSID:-$(cat /proc/sys/kernel/random/uuid)}
    save_state
    t0=$SECONDS
    start_pg
    start_ceph
    log "ready in $((SECONDS - t0))s: postgres 127.0.0.1:$PG_PORT, S3 http://127.0.0.1:$S3_PORT (bucket $S3_BUCKET), folder $DIR"
    print_exports
    ;;
  stop)
    load_state
    if PG_BIN=$(find_pg_bin); then stop_pg; fi
    stop_ceph
    if ((clean)); then
      log "removing $DIR"
      rm -rf "$DIR"
    fi
    ;;
  status)
    load_state
    rc=0
    if PG_BIN=$(find_pg_bin) && pg_running; then
      echo "postgres: running on 127.0.0.1:$PG_PORT"
    else
      echo "postgres: stopped"
      rc=3
    fi
    for d in "${ceph_daemons[@]}"; do
      if daemon_running "$d"; then echo "$d: running (pid $(daemon_pid "$d"))"; else
        echo "$d: stopped"
        rc=3
      fi
    done
    if [ -n "$S3_PORT" ] && s3_answers; then echo "s3: answers on http://127.0.0.1:$S3_PORT"; else
      echo "s3: not answering"
      rc=3
    fi
    exit $rc
    ;;
  *) usage ;;
esac
