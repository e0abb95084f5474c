#!/usr/bin/env bash
# The local stack: Temporal dev server, a single-host Ceph cluster with two RGW multisite zones
# (regions "primary" and "secondary"), and moto server for the AWS-only APIs. up | down | status | install,
# and kill-rgw | start-rgw | restart-rgw <zone> for failover drills and after sync-policy changes,
# kill-temporal | start-temporal for the chaos tests.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${LIFEBOAT_STACK_DIR:-$ROOT/.stack}
CACHE=${LIFEBOAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat}
LOGS=$STATE/logs
PROFILE=$STATE/profile.json

TEMPORAL_PORT=${LIFEBOAT_TEMPORAL_PORT:-7233}
TEMPORAL_UI_PORT=${LIFEBOAT_TEMPORAL_UI_PORT:-8233}
PRIMARY_PORT=${LIFEBOAT_PRIMARY_PORT:-7480}
SECONDARY_PORT=${LIFEBOAT_SECONDARY_PORT:-7481}
MON_PORT=${LIFEBOAT_CEPH_MON_PORT:-6789}
MOTO_PORT=${LIFEBOAT_MOTO_PORT:-5055}
TEMPORAL_VERSION=v1.5.1
MOTO_VERSION=5.2.5
WAIT_SECONDS=${LIFEBOAT_STACK_TIMEOUT:-120}

# Lab-only keys: the stack listens on loopback only and these never leave .stack/profile.json.
SYNC_KEY=lifeboat-sync-key
SYNC_SECRET=lifeboat-sync-secret
APP_KEY=lifeboat-app-key
APP_SECRET=lifeboat-app-secret

# Search attributes Lifeboat's workflows set, so runs can be found in the Web UI.
SEARCH_ATTRIBUTES=(LifeboatProcedure=Keyword LifeboatTarget=Keyword LifeboatPhase=Keyword)

export CEPH_CONF=$STATE/ceph/ceph.conf
export PATH=$CACHE/bin:$PATH

log() { printf '[stack] %s\n' "$*" >&2; }
die() {
  printf '[stack] error: %s\n' "$*" >&2
  exit 1
}

# --- tools -----------------------------------------------------------------------------------

install_temporal() {
  command -v temporal >/dev/null 2>&1 && return 0
  command -v go >/dev/null 2>&1 ||
    die "the Temporal CLI is not on PATH and Go is missing to build it: install Go 1.22+ (apt-get install golang-go, or from go.dev) and run again"
  log "building the Temporal CLI $TEMPORAL_VERSION into $CACHE/bin (about 5 minutes on 2 cores)"
  mkdir -p "$CACHE/bin"
  GOBIN=$CACHE/bin GOFLAGS=-mod=mod go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_VERSION" >&2 ||
    die "go install of the Temporal CLI failed (see the output above)"
}

install_moto() {
  [ -x "$CACHE/venv/bin/moto_server" ] && return 0
  if command -v moto_server >/dev/null 2>&1; then return 0; fi
  command -v python3 >/dev/null 2>&1 || die "python3 is missing: apt-get install -y python3 python3-venv"
  log "installing moto[server] $MOTO_VERSION into $CACHE/venv"
  python3 -m venv "$CACHE/venv" >&2 || die "python3 -m venv failed: apt-get install -y python3-venv"
  "$CACHE/venv/bin/pip" install -q "moto[server]==$MOTO_VERSION" >&2 || die "pip install moto[server] failed (see the output above)"
}

moto_bin() {
  if [ -x "$CACHE/venv/bin/moto_server" ]; then echo "$CACHE/venv/bin/moto_server"; else command -v moto_server; fi
}

install_ceph() {
  local missing=()
  for b in ceph-mon ceph-osd ceph-mgr radosgw radosgw-admin ceph monmaptool; do
    command -v "$b" >/dev/null 2>&1 || missing+=("$b")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 ||
    die "Ceph is missing (${missing[*]}) and apt-get is not available: install Ceph 16+ (ceph-mon ceph-osd ceph-mgr radosgw ceph-common)"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing Ceph from Debian's packages (about 30 s)"
  $sudo apt-get update -q >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q ceph-mon ceph-osd ceph-mgr radosgw ceph-common >&2 ||
    die "apt-get install of Ceph failed (see the output above)"
}

cmd_install() {
  install_ceph
  install_moto
  install_temporal
}

# --- helpers ---------------------------------------------------------------------------------

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A process that has exited but was not reaped yet (a zombie) is not alive.
proc_running() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}

pid_alive() { [ -f "$1" ] && proc_running "$(cat "$1")"; }

# A port taken by something that is not ours is an error, never silently reused.
require_free_port() {
  local port=$1 what=$2
  if port_open "$port"; then
    die "port $port for $what is already in use by another process: stop it, or choose another port with $3=<port>"
  fi
}

# wait_for WHAT LOGFILE CHECK [PIDFILE]: poll CHECK until it passes; a process that dies or a
# timeout is an error naming the log, never a hang.
wait_for() {
  local what=$1 logfile=$2 check=$3 pidfile=${4:-} start=$SECONDS
  until eval "$check" >/dev/null 2>&1; do
    if [ -n "$pidfile" ] && ! pid_alive "$pidfile"; then
      die "$what exited while starting; its log: $logfile (last lines below)
$(tail -n 15 "$logfile" 2>/dev/null | tr -d '\000')"
    fi
    sleep 1
    # Wall-clock seconds, not iterations: a check can itself take seconds (ceph's timeout 5).
    if [ $((SECONDS - start)) -ge "$WAIT_SECONDS" ]; then
      die "$what did not become ready within ${WAIT_SECONDS}s; its log: $logfile (last lines below)
$(tail -n 15 "$logfile" 2>/dev/null | tr -d '\000')"
    fi
  done
}

# stop_pid PIDFILE: TERM, wait up to 15 s for the process to exit, then KILL.
stop_pid() {
  local f=$1 pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if proc_running "$pid"; then
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 30); do
      proc_running "$pid" || break
      sleep 0.5
    done
    proc_running "$pid" && kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$f"
}

# --- Temporal --------------------------------------------------------------------------------

temporal_ready() {
  temporal operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" 2>/dev/null | grep -q SERVING
}

start_temporal() {
  if pid_alive "$STATE/temporal.pid" && temporal_ready; then
    log "temporal: already running on 127.0.0.1:$TEMPORAL_PORT"
    return 0
  fi
  require_free_port "$TEMPORAL_PORT" "the Temporal frontend" LIFEBOAT_TEMPORAL_PORT
  require_free_port "$TEMPORAL_UI_PORT" "the Temporal Web UI" LIFEBOAT_TEMPORAL_UI_PORT
  local args=(server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT"
    --db-filename "$STATE/temporal.db" --log-level warn
    # Eager activity dispatch: an activity scheduled by a workflow task on this worker's queue is
    # handed back with the task's completion instead of through matching (a bulk page starts at once).
    --dynamic-config-value system.enableActivityEagerExecution=true)
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$sa"); done
  log "temporal: starting on 127.0.0.1:$TEMPORAL_PORT, Web UI http://127.0.0.1:$TEMPORAL_UI_PORT"
  setsid nohup temporal "${args[@]}" >"$LOGS/temporal.log" 2>&1 </dev/null &
  echo $! >"$STATE/temporal.pid"
  wait_for "the Temporal dev server" "$LOGS/temporal.log" temporal_ready "$STATE/temporal.pid"
}

# --- Ceph ------------------------------------------------------------------------------------

write_ceph_conf() {
  local fsid=$1 dir=$STATE/ceph
  cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon_host = v1:127.0.0.1:$MON_PORT
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
osd_objectstore = memstore
memstore_device_bytes = ${LIFEBOAT_CEPH_MEMORY_BYTES:-8589934592}
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_autoscale_mode = off
osd_pool_default_pg_num = 8
mon_max_pg_per_osd = 1000
run_dir = $dir/run
log_file = $LOGS/ceph-\$name.log
admin_socket = $dir/run/\$name.asok
pid_file = $dir/run/\$name.pid
mon_data = $dir/mon/\$cluster-\$id
mgr_data = $dir/mgr/\$cluster-\$id
osd_data = $dir/osd/\$cluster-\$id
rgw_data = $dir/rgw/\$cluster-\$id
ms_bind_ipv4 = true
ms_bind_ipv6 = false
public_addr = 127.0.0.1
[client]
rgw_sync_log_trim_interval = 0
rgw_data_log_num_shards = 8
rgw_md_log_max_shards = 8
# A restarted gateway waits for the sync-shard leases its previous process held to expire before it
# syncs again: 120 s by default, seen as 70 to 100 s before the first object replicated after each
# restart (a sync-policy change needs one). 15 s brings that to 1 to 11 s; lab only.
rgw_sync_lease_period = 15
EOF
}

ceph_ready() { timeout 5 ceph osd stat 2>/dev/null | grep -q '1 up'; }

# osd_started PIDFILE: wait until the OSD is up (0) or its process has exited (1).
osd_started() {
  local waited=0
  sleep 1
  while [ "$waited" -lt "$WAIT_SECONDS" ]; do
    ceph_ready && return 0
    pid_alive "$1" || return 1
    sleep 1
    waited=$((waited + 1))
  done
  return 1
}

# A gateway paused by a realm reload accepts connections and never answers: give up after 5 s.
rgw_ready() { curl -s -m 5 -o /dev/null "http://127.0.0.1:$1/"; }

# The cluster keeps its data in memory: when its daemons are gone, so is the data, and the
# cluster is built again from nothing.
ceph_alive() {
  pid_alive "$STATE/ceph/run/mon.a.pid" && pid_alive "$STATE/ceph/run/osd.0.pid" && ceph_ready
}

start_ceph() {
  local dir=$STATE/ceph
  # A configuration of the zones cut short (a port was taken, say) is not resumed: the cluster is
  # rebuilt, which takes 20 s and leaves no half-made realm behind.
  if ceph_alive && { [ -f "$dir/zones-configured" ] || [ ! -f "$dir/zones-started" ]; }; then
    log "ceph: cluster already running"
  else
    stop_ceph_daemons
    require_free_port "$MON_PORT" "the Ceph monitor" LIFEBOAT_CEPH_MON_PORT
    rm -rf "$dir"
    mkdir -p "$dir/run" "$dir/mon" "$dir/mgr/ceph-x" "$dir/osd/ceph-0" "$dir/rgw"
    local fsid osd_uuid
    fsid=$(cat /proc/sys/kernel/random/uuid)
    osd_uuid=$(cat /proc/sys/kernel/random/uuid)
    write_ceph_conf "$fsid"
    log "ceph: creating a single-host cluster (memstore) in $dir"
    {
      # --addv with an explicit v1 address: `--add a 127.0.0.1:<port>` makes a msgr2 (v2) address for
      # any port but 6789, and clients that dial mon_host (v1) then wait for an answer that never comes.
      monmaptool --create --addv a "[v1:127.0.0.1:$MON_PORT]" --fsid "$fsid" "$dir/monmap"
      ceph-mon --mkfs -i a --monmap "$dir/monmap"
      ceph-mon -i a
    } >>"$LOGS/ceph-setup.log" 2>&1 || die "ceph-mon failed to start; its log: $LOGS/ceph-mon.a.log and $LOGS/ceph-setup.log"
    # Our monitor, in quorum: the fsid it reports is the one we made (not some other cluster's).
    wait_for "the Ceph monitor" "$LOGS/ceph-mon.a.log" "[ \"\$(timeout 5 ceph fsid)\" = $fsid ]" "$dir/run/mon.a.pid"
    ceph-mgr -i x >>"$LOGS/ceph-setup.log" 2>&1 || die "ceph-mgr failed to start; its log: $LOGS/ceph-mgr.x.log"
    # `osd new` with the same uuid is idempotent; a monitor that has just formed quorum can still refuse
    # commands for a moment (seen once: EPERM getting command descriptions), so retry briefly.
    local id="" attempt
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
      id=$(timeout 10 ceph osd new "$osd_uuid" 2>>"$LOGS/ceph-setup.log") && break
      id=""
      sleep 1
    done
    [ -n "$id" ] || die "ceph osd new failed 10 times; see $LOGS/ceph-setup.log and $LOGS/ceph-mon.a.log"
    ceph-osd -i "$id" --mkfs --osd-uuid "$osd_uuid" >>"$LOGS/ceph-setup.log" 2>&1 ||
      die "ceph-osd --mkfs failed; see $LOGS/ceph-setup.log"
    # A freshly made OSD sometimes sends its first command before it knows the cluster's fsid
    # (the monitor logs "handle_command on fsid 00000000-... != ...") and exits: start it again.
    local tries
    for tries in 1 2 3 4 5; do
      if ceph-osd -i "$id" >>"$LOGS/ceph-setup.log" 2>&1 && osd_started "$dir/run/osd.$id.pid"; then break; fi
      log "ceph: the OSD exited while booting (attempt $tries), starting it again"
      sleep 1
    done
    ceph_ready || die "the Ceph OSD did not come up; its log: $LOGS/ceph-osd.$id.log, and $LOGS/ceph-mon.a.log"
    rm -f "$dir/zones-configured" "$dir/zones-started"
  fi
  start_zones
}

radosgw_admin() { radosgw-admin "$@" 2>>"$LOGS/ceph-setup.log"; }

start_rgw() {
  local zone=$1 port=$2
  if pid_alive "$STATE/ceph/run/rgw.$zone.pid"; then
    rgw_ready "$port" && return 0
    # Running but not answering (seen: "rgw realm reloader: Frontends paused" after a period commit,
    # never resumed): restart it rather than fail on its port.
    log "ceph: the $zone RGW runs but does not answer on port $port: restarting it (its log: $LOGS/rgw-$zone.log)"
    stop_pid "$STATE/ceph/run/rgw.$zone.pid"
    local i
    for i in $(seq 1 30); do
      port_open "$port" || break
      sleep 0.5
    done
  fi
  require_free_port "$port" "the $zone RGW" "LIFEBOAT_$(echo "$zone" | tr a-z A-Z)_PORT"
  radosgw -n "client.rgw.$zone" --rgw-zone="$zone" --rgw-frontends="beast endpoint=127.0.0.1:$port" \
    --pid-file="$STATE/ceph/run/rgw.$zone.pid" --log-file="$LOGS/rgw-$zone.log" >>"$LOGS/ceph-setup.log" 2>&1 ||
    die "radosgw for zone $zone failed to start; its log: $LOGS/rgw-$zone.log"
  wait_for "the $zone RGW (port $port)" "$LOGS/rgw-$zone.log" "rgw_ready $port" "$STATE/ceph/run/rgw.$zone.pid"
  echo "$port" >"$STATE/ceph/rgw.$zone.port"
  log "ceph: zone $zone serving S3 on http://127.0.0.1:$port"
}

# The gateway subcommands (kill-rgw, start-rgw, restart-rgw) name a zone; its port is the one `up` used
# (recorded by start_rgw), so a restart run by the worker without the LIFEBOAT_*_PORT variables of
# `up` cannot start a gateway on another stack's port.
zone_port() {
  if [ -f "$STATE/ceph/rgw.$1.port" ]; then
    cat "$STATE/ceph/rgw.$1.port"
    return 0
  fi
  case "$1" in
  primary) echo "$PRIMARY_PORT" ;;
  secondary) echo "$SECONDARY_PORT" ;;
  *) die "unknown zone \"$1\": expected primary or secondary" ;;
  esac
}

# Daemons alive is enough here: `ceph osd stat` can take more than its 5 s under load (seen during a
# period commit), and a gateway restart must not fail for that.
require_cluster() {
  { pid_alive "$STATE/ceph/run/mon.a.pid" && pid_alive "$STATE/ceph/run/osd.0.pid"; } || die "the Ceph cluster of $STATE is not running: start the stack with npm run stack:up"
}

# kill_pidfile PIDFILE WHAT LOG: SIGKILL, as in an outage: no graceful shutdown, state left as a crash
# leaves it; waits up to 5 s for the process to be gone.
kill_pidfile() {
  local f=$1 what=$2 logfile=$3 pid i
  if ! pid_alive "$f"; then
    rm -f "$f"
    log "$what is not running"
    return 0
  fi
  pid=$(cat "$f")
  kill -9 "$pid" 2>/dev/null || true
  for i in $(seq 1 20); do
    proc_running "$pid" || break
    sleep 0.25
  done
  proc_running "$pid" && die "$what (pid $pid) survived SIGKILL for 5 s"
  rm -f "$f"
  log "killed $what (pid $pid, SIGKILL); its log: $logfile"
}

# The Temporal dev server SIGKILLed (chaos tests): its SQLite file keeps every workflow for the restart.
cmd_kill_temporal() { kill_pidfile "$STATE/temporal.pid" "the Temporal dev server" "$LOGS/temporal.log"; }

# A gateway SIGKILLed, as in an outage drill: sync state left as a crash leaves it.
cmd_kill_rgw() {
  local zone=${1:-}
  [ -n "$zone" ] || die "usage: stack.sh kill-rgw primary|secondary"
  zone_port "$zone" >/dev/null
  kill_pidfile "$STATE/ceph/run/rgw.$zone.pid" "the $zone RGW" "$LOGS/rgw-$zone.log"
}

cmd_start_rgw() {
  local zone=${1:-}
  [ -n "$zone" ] || die "usage: stack.sh start-rgw primary|secondary"
  require_cluster
  start_rgw "$zone" "$(zone_port "$zone")"
}

# Graceful: TERM, up to 15 s to exit, then KILL; then start again and wait until it answers.
cmd_restart_rgw() {
  local zone=${1:-}
  [ -n "$zone" ] || die "usage: stack.sh restart-rgw primary|secondary"
  local port
  port=$(zone_port "$zone")
  require_cluster
  stop_pid "$STATE/ceph/run/rgw.$zone.pid"
  # The old gateway can hold its port a moment after its process is gone: wait for it (up to 15 s)
  # rather than fail the restart on a port that is about to be free.
  local i
  for i in $(seq 1 30); do
    port_open "$port" || break
    sleep 0.5
  done
  start_rgw "$zone" "$port"
}

start_zones() {
  local marker=$STATE/ceph/zones-configured
  if [ ! -f "$marker" ]; then
    touch "$STATE/ceph/zones-started"
    log "ceph: configuring realm lifeboat, zonegroup lab, zones primary and secondary"
    radosgw_admin realm create --rgw-realm=lifeboat --default >/dev/null
    radosgw_admin zonegroup create --rgw-zonegroup=lab --endpoints="http://127.0.0.1:$PRIMARY_PORT" --master --default >/dev/null
    radosgw_admin zone create --rgw-zonegroup=lab --rgw-zone=primary --endpoints="http://127.0.0.1:$PRIMARY_PORT" \
      --master --default >/dev/null
    radosgw_admin user create --uid=lifeboat-sync --display-name="Lifeboat zone sync" \
      --access-key="$SYNC_KEY" --secret="$SYNC_SECRET" --system >/dev/null
    radosgw_admin zone modify --rgw-zone=primary --access-key="$SYNC_KEY" --secret="$SYNC_SECRET" >/dev/null
    radosgw_admin period update --commit >/dev/null || die "radosgw-admin period update failed; see $LOGS/ceph-setup.log"
  fi
  start_rgw primary "$PRIMARY_PORT"
  if [ ! -f "$marker" ]; then
    radosgw_admin zone create --rgw-zonegroup=lab --rgw-zone=secondary --endpoints="http://127.0.0.1:$SECONDARY_PORT" \
      --access-key="$SYNC_KEY" --secret="$SYNC_SECRET" >/dev/null
    radosgw_admin period update --commit >/dev/null || die "radosgw-admin period update failed; see $LOGS/ceph-setup.log"
    radosgw_admin user create --uid=lifeboat --display-name="Lifeboat" \
      --access-key="$APP_KEY" --secret="$APP_SECRET" >/dev/null
    touch "$marker"
  fi
  start_rgw secondary "$SECONDARY_PORT"
}

# All at once: TERM every daemon, give them 5 s together, then KILL what is left. Their data is in
# memory and gone either way; the wait only lets them close their sockets.
stop_ceph_daemons() {
  local f pids=() pid i
  for f in "$STATE"/ceph/run/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    rm -f "$f"
    proc_running "$pid" || continue
    kill "$pid" 2>/dev/null || true
    pids+=("$pid")
  done
  for i in $(seq 1 10); do
    local left=0
    for pid in "${pids[@]}"; do proc_running "$pid" && left=1; done
    [ "$left" = 0 ] && return 0
    sleep 0.5
  done
  for pid in "${pids[@]}"; do proc_running "$pid" && kill -9 "$pid" 2>/dev/null; done
  return 0
}

# --- moto ------------------------------------------------------------------------------------

moto_ready() { curl -s -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/"; }

start_moto() {
  if pid_alive "$STATE/moto.pid" && moto_ready; then
    log "moto: already running on 127.0.0.1:$MOTO_PORT"
    return 0
  fi
  require_free_port "$MOTO_PORT" "moto server" LIFEBOAT_MOTO_PORT
  setsid nohup "$(moto_bin)" -H 127.0.0.1 -p "$MOTO_PORT" >"$LOGS/moto.log" 2>&1 </dev/null &
  echo $! >"$STATE/moto.pid"
  wait_for "moto server" "$LOGS/moto.log" moto_ready "$STATE/moto.pid"
  log "moto: serving CloudWatch and S3 replication configurations on http://127.0.0.1:$MOTO_PORT"
}

# --- profile ---------------------------------------------------------------------------------

# What the Ceph replication provider needs about a zone: its names, the cluster's ceph.conf, the command
# that restarts its gateway after a period commit, and the system user's keys for `period pull`.
ceph_profile() {
  printf '{ "zone": "%s", "zonegroup": "lab", "conf": "%s", "restartCommand": ["bash", "%s", "restart-rgw", "%s"], "systemAccessKey": "%s", "systemSecretKey": "%s" }' \
    "$1" "$CEPH_CONF" "$ROOT/stack/stack.sh" "$1" "$SYNC_KEY" "$SYNC_SECRET"
}

write_profile() {
  cat >"$PROFILE.tmp" <<EOF
{
  "temporal": {
    "address": "127.0.0.1:$TEMPORAL_PORT",
    "namespace": "default",
    "webUi": "http://127.0.0.1:$TEMPORAL_UI_PORT"
  },
  "regions": {
    "primary": {
      "endpoint": "http://127.0.0.1:$PRIMARY_PORT",
      "region": "lab",
      "forcePathStyle": true,
      "accessKeyId": "$APP_KEY",
      "secretAccessKey": "$APP_SECRET",
      "ceph": $(ceph_profile primary)
    },
    "secondary": {
      "endpoint": "http://127.0.0.1:$SECONDARY_PORT",
      "region": "lab",
      "forcePathStyle": true,
      "accessKeyId": "$APP_KEY",
      "secretAccessKey": "$APP_SECRET",
      "ceph": $(ceph_profile secondary)
    }
  },
  "moto": { "endpoint": "http://127.0.0.1:$MOTO_PORT" },
  "logs": "$LOGS"
}
EOF
  mv "$PROFILE.tmp" "$PROFILE"
}

# --- commands --------------------------------------------------------------------------------

# Before starting anything: every port of a service that is not running yet must be free.
preflight_ports() {
  if ! temporal_ready; then
    require_free_port "$TEMPORAL_PORT" "the Temporal frontend" LIFEBOAT_TEMPORAL_PORT
    require_free_port "$TEMPORAL_UI_PORT" "the Temporal Web UI" LIFEBOAT_TEMPORAL_UI_PORT
  fi
  if ! ceph_alive; then
    require_free_port "$MON_PORT" "the Ceph monitor" LIFEBOAT_CEPH_MON_PORT
    require_free_port "$PRIMARY_PORT" "the primary RGW" LIFEBOAT_PRIMARY_PORT
    require_free_port "$SECONDARY_PORT" "the secondary RGW" LIFEBOAT_SECONDARY_PORT
  fi
  moto_ready || require_free_port "$MOTO_PORT" "moto server" LIFEBOAT_MOTO_PORT
}

# The ports a running stack was started with: `up` with other LIFEBOAT_*_PORT values would take
# another stack's services (on the default ports, say) for its own and write their endpoints to this
# stack's profile. Seen once: a test run without the variables wrote to the other stack's gateways.
ports_line() {
  echo "temporal=$TEMPORAL_PORT ui=$TEMPORAL_UI_PORT primary=$PRIMARY_PORT secondary=$SECONDARY_PORT mon=$MON_PORT moto=$MOTO_PORT"
}

check_same_ports() {
  local f=$STATE/ports
  [ -f "$f" ] || return 0
  if [ "$(cat "$f")" != "$(ports_line)" ] &&
    { pid_alive "$STATE/temporal.pid" || pid_alive "$STATE/moto.pid" || pid_alive "$STATE/ceph/run/mon.a.pid"; }; then
    die "the stack in $STATE is running with other ports ($(cat "$f")) than these ($(ports_line)): set the same LIFEBOAT_*_PORT variables, or stop it first with stack.sh down"
  fi
}

cmd_up() {
  local started=$SECONDS
  mkdir -p "$STATE" "$LOGS"
  check_same_ports
  ports_line >"$STATE/ports"
  cmd_install
  preflight_ports
  start_temporal
  start_ceph
  start_moto
  write_profile
  log "ready in $((SECONDS - started))s; endpoints in $PROFILE"
}

cmd_down() {
  stop_pid "$STATE/temporal.pid"
  stop_pid "$STATE/moto.pid"
  stop_ceph_daemons
  rm -f "$PROFILE" "$STATE/ports"
  log "stopped (Temporal history kept in $STATE/temporal.db; Ceph's in-memory data is gone)"
}

status_line() {
  local name=$1 ok=$2 where=$3
  if [ "$ok" = 0 ]; then printf '%-10s up    %s\n' "$name" "$where"; else printf '%-10s down  %s\n' "$name" "$where"; fi
}

cmd_status() {
  local rc=0 s
  temporal_ready && s=0 || s=1
  status_line temporal $s "127.0.0.1:$TEMPORAL_PORT (Web UI http://127.0.0.1:$TEMPORAL_UI_PORT, log $LOGS/temporal.log)"
  rc=$((rc | s))
  ceph_alive && s=0 || s=1
  local used=""
  [ "$s" = 0 ] && used=$(timeout 5 ceph osd df -f json 2>/dev/null | python3 -c \
    'import json,sys; d=json.load(sys.stdin)["summary"]; print("%.0f%% of %d MiB in-memory store used" % (d["average_utilization"], d["total_kb"] // 1024))' 2>/dev/null)
  status_line ceph $s "mon 127.0.0.1:$MON_PORT${used:+, $used} (log $LOGS/ceph-osd.0.log)"
  rc=$((rc | s))
  # RGW stops answering writes (it waits, it does not fail) when the in-memory store is full.
  case "$used" in
  9[0-9]%* | 100%*) printf '%s\n' "warning: the Ceph store is nearly full: writes will hang; npm run stack:down && npm run stack:up empties it, or raise LIFEBOAT_CEPH_MEMORY_BYTES" >&2 ;;
  esac
  # The in-memory OSD's process grows past the store's own size over a long day of runs (deleted
  # objects are not all given back); once the machine runs short of memory everything slows down.
  local osd_pid osd_rss_kb mem_total_kb mem_avail_kb
  osd_pid=$(cat "$STATE/ceph/run/osd.0.pid" 2>/dev/null || pgrep -f 'ceph-osd -i 0' | head -1)
  osd_rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/${osd_pid:-0}/status" 2>/dev/null)
  mem_total_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
  mem_avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
  if [ -n "$osd_rss_kb" ]; then
    printf '%-10s       OSD process %d MiB; machine %d of %d MiB available\n' memory \
      $((osd_rss_kb / 1024)) $((mem_avail_kb / 1024)) $((mem_total_kb / 1024))
    if [ $((mem_avail_kb * 100 / mem_total_kb)) -lt 20 ] || [ $((osd_rss_kb * 2)) -gt "$mem_total_kb" ]; then
      printf '%s\n' "warning: the Ceph OSD holds $((osd_rss_kb / 1024)) MiB and the machine has $((mem_avail_kb / 1024)) MiB left: benchmarks and tests will slow down; npm run stack:down && npm run stack:up starts it afresh" >&2
    fi
  fi
  rgw_ready "$PRIMARY_PORT" && s=0 || s=1
  status_line primary $s "http://127.0.0.1:$PRIMARY_PORT (log $LOGS/rgw-primary.log)"
  rc=$((rc | s))
  rgw_ready "$SECONDARY_PORT" && s=0 || s=1
  status_line secondary $s "http://127.0.0.1:$SECONDARY_PORT (log $LOGS/rgw-secondary.log)"
  rc=$((rc | s))
  moto_ready && s=0 || s=1
  status_line moto $s "http://127.0.0.1:$MOTO_PORT (log $LOGS/moto.log)"
  rc=$((rc | s))
  return $rc
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
install) cmd_install ;;
kill-rgw) cmd_kill_rgw "${2:-}" ;;
start-rgw) cmd_start_rgw "${2:-}" ;;
restart-rgw) cmd_restart_rgw "${2:-}" ;;
kill-temporal) cmd_kill_temporal ;;
start-temporal) start_temporal ;;
*)
  echo "usage: stack.sh up|down|status|install|kill-rgw <zone>|start-rgw <zone>|restart-rgw <zone>|kill-temporal|start-temporal" >&2
  exit 2
  ;;
esac
