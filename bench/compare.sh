#!/usr/bin/env bash
# bench/compare.sh: runs the same starling-bench scenarios against Starling, Prosody and ejabberd
# on loopback, in one run, and prints a Markdown table with the ratio Starling / best peer.
#
# Every server runs as our own process, with our own configuration and data directory in one
# temporary directory, on non-default loopback ports, pinned to CPU 0; the load driver is pinned
# to CPU 1. Each server is stopped by the PID we started (ejabberd: the PID of its beam.smp).
# The distribution's own service instances are neither used nor touched.
#
# See docs/performance.md, "Comparison with Prosody and ejabberd", for what is configured and why.
set -u

usage() {
    cat <<'EOF'
usage: bench/compare.sh [options]

  --servers LIST   comma-separated subset of starling,prosody,ejabberd (default: all three)
  --users N        accounts created on each server and idle sessions held (default 10000);
                   login, msg and max use min(N, 1000) of them
  --quick          tiny counts and short runs, a smoke check of a minute or two per server
  --out DIR        where the JSON lines and the table are written (default ./bench-results)
  --keep           keep the temporary work directory (configurations, data, server logs)
  --no-build       do not run install-deps.sh, cmake and ninja (the build must exist)
  --no-install     do not apt-get install missing Prosody / ejabberd packages
  --server-cpu N   CPU the servers are pinned to (default 0)
  --driver-cpu N   CPU the load driver is pinned to (default 1)
  -h, --help       this text
EOF
}

# ---------------------------------------------------------------- options
SERVERS="starling,prosody,ejabberd"
USERS=10000
QUICK=0
OUT_DIR="./bench-results"
KEEP=0
BUILD=1
INSTALL=1
SERVER_CPU=0
DRIVER_CPU=1
while [ $# -gt 0 ]; do
    case "$1" in
        --servers) SERVERS="${2:?--servers needs a value}"; shift 2 ;;
        --users) USERS="${2:?--users needs a value}"; shift 2 ;;
        --quick) QUICK=1; shift ;;
        --out) OUT_DIR="${2:?--out needs a value}"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --no-build) BUILD=0; shift ;;
        --no-install) INSTALL=0; shift ;;
        --server-cpu) SERVER_CPU="${2:?}"; shift 2 ;;
        --driver-cpu) DRIVER_CPU="${2:?}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "compare.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
case "$USERS" in ''|*[!0-9]*) echo "compare.sh: --users must be a number" >&2; exit 2 ;; esac
if [ "$QUICK" = 1 ] && [ "$USERS" = 10000 ]; then
    USERS=200
fi
if [ "$USERS" -lt 2 ]; then
    echo "compare.sh: --users must be at least 2" >&2; exit 2
fi
for s in ${SERVERS//,/ }; do
    case "$s" in
        starling|prosody|ejabberd) ;;
        *) echo "compare.sh: unknown server '$s' (starling, prosody, ejabberd)" >&2; exit 2 ;;
    esac
done

# Scenario sizes. ACTIVE: users of the login, msg and max scenarios.
ACTIVE=$(( USERS < 1000 ? USERS : 1000 ))
if [ "$QUICK" = 1 ]; then
    MSG_RATE=$ACTIVE; MSG_DURATION=3; MAX_INFLIGHT=10; MAX_DURATION=3; IDLE_HOLD=2
else
    MSG_RATE=1000; MSG_DURATION=10; MAX_INFLIGHT=10; MAX_DURATION=10; IDLE_HOLD=10
fi

REPO=$(cd "$(dirname "$0")/.." && pwd -P)
BUILD_DIR="$REPO/build"
STARLING_BIN="$BUILD_DIR/src/app/starling"
BENCH_BIN="$BUILD_DIR/src/app/starling-bench"
PY=/usr/bin/python3

log() { printf '%s compare: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Ports: our own, never a distribution default (5222/5269/5280/...).
declare -A PORT=([starling]=35222 [prosody]=35322 [ejabberd]=35422)
EJABBERD_DIST_PORT=35423   # Erlang distribution (ejabberdctl <-> node), loopback, no epmd
EJABBERD_NODE=starlingcmp@localhost

# ---------------------------------------------------------------- build and packages
if [ "$BUILD" = 1 ]; then
    log "building Starling (RelWithDebInfo) in $BUILD_DIR"
    (cd "$REPO" && ./scripts/install-deps.sh) || die "install-deps.sh failed"
    cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DSTARLING_TESTS=OFF >/dev/null || die "cmake failed"
    ninja -C "$BUILD_DIR" starling starlingctl starling-bench >&2 || die "ninja failed"
fi
[ -x "$STARLING_BIN" ] && [ -x "$BENCH_BIN" ] || die "no build in $BUILD_DIR (run without --no-build)"

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=""
for s in ${SERVERS//,/ }; do
    if [ "$s" != starling ] && ! pkg_installed "$s"; then
        missing="$missing $s"
    fi
done
if [ -n "$missing" ]; then
    [ "$INSTALL" = 1 ] || die "not installed:$missing (run without --no-install)"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    log "installing:$missing"
    # Debian's maintainer scripts start the system service through invoke-rc.d unless
    # policy-rc.d forbids it. We run our own instances, so forbid it for the time of the
    # install if the machine does not already have a policy.
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null &&
            $SUDO chmod 755 /usr/sbin/policy-rc.d && made_policy=1
    fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        $missing >&2
    rc=$?
    [ "$made_policy" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
    [ "$rc" -eq 0 ] || die "apt-get install failed"
fi

# Prosody and ejabberd run as their own system users (Prosody refuses root). Not through su:
# ejabberdctl started as root switches users with su, whose PAM session (pam_limits) puts the
# fd limit back to 1024, and ejabberd then fails at about 1,000 sessions (emfile). setpriv
# keeps our raised limit and the PID chain (no PAM, no fork).
RUN_AS_PROSODY=()
RUN_AS_EJABBERD=()
if [ "$(id -u)" -eq 0 ]; then
    RUN_AS_PROSODY=(setpriv --reuid=prosody --regid=prosody --init-groups)
    RUN_AS_EJABBERD=(setpriv --reuid=ejabberd --regid=ejabberd --init-groups)
fi

# ---------------------------------------------------------------- work dir, limits, cleanup
# Raise the fd limit to the hard limit: 10,000 sessions need 10,000 sockets on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
if [ "$FD_LIMIT" != unlimited ] && [ "$FD_LIMIT" -lt $(( USERS + 200 )) ]; then
    log "warning: fd limit $FD_LIMIT is below --users $USERS + 200; idle will fail"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/starling-compare.XXXXXX") || die "mktemp failed"
chmod 755 "$WORK"   # the prosody and ejabberd users must reach their own subdirectories
mkdir -p "$OUT_DIR" || die "cannot create $OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd -P)
STAMP=$(date -u +%Y%m%d-%H%M%S)
JSONL="$OUT_DIR/compare-$STAMP.jsonl"
TABLE="$OUT_DIR/compare-$STAMP.md"
: > "$JSONL"

SERVER_PID=""     # the process whose CPU and RSS are measured, and that we stop
WRAPPER_PID=""    # ejabberd: the ejabberdctl wrapper we started ($!)
CURRENT=""

cleanup() {
    stop_server
    if [ "$KEEP" = 1 ]; then
        log "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# One certificate for all three: the type Starling makes for itself (EC P-256, self-signed).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null || die "openssl failed"

# ---------------------------------------------------------------- server configurations
write_starling_config() {
    local d="$WORK/starling"
    mkdir -p "$d/data"
    cat > "$d/starling.toml" <<EOF
# Written by bench/compare.sh
domains = ["localhost"]
data_dir = "$d/data"
workers = 1                       # pinned to one core

[c2s]
listen = ["127.0.0.1:${PORT[starling]}"]
direct_tls = []
max_bytes_per_second = 0          # no per-connection read-rate limit (fairness: none on the peers)

[tls]
certificate = "$WORK/cert.pem"
key = "$WORK/key.pem"

[registration]
allow = true
throttle_max = 0                  # no registration throttle

[offline]
max_messages = 100                # the default; as ejabberd's max_user_offline_messages

[log]
level = "warn"
EOF
}

write_prosody_config() {
    local d="$WORK/prosody"
    mkdir -p "$d/data"
    cp "$WORK/cert.pem" "$WORK/key.pem" "$d/"
    cat > "$d/prosody.cfg.lua" <<EOF
-- Written by bench/compare.sh
interfaces = { "127.0.0.1" }
c2s_ports = { ${PORT[prosody]} }
c2s_direct_tls_ports = { }
legacy_ssl_ports = { }
s2s_ports = { }
component_ports = { }
data_path = "$d/data"
pidfile = "$d/prosody.pid"

-- The modules that correspond to Starling's: roster, disco, register, offline (autoloaded),
-- ping, version, last activity, blocking (Prosody's counterpart of privacy lists); posix for
-- signal handling. No mod_limits (it throttles c2s to 10 kB/s in Debian's configuration),
-- no carbons, smacks, csi, pep, mam.
modules_enabled = {
	"roster"; "saslauth"; "tls"; "disco"; "register"; "ping"; "version";
	"lastactivity"; "blocklist"; "posix";
}

authentication = "internal_hashed"   -- SCRAM keys stored, no passwords
default_iteration_count = 4096        -- as Starling and ejabberd
storage = "internal"
c2s_require_encryption = true
allow_registration = true             -- loopback is on mod_register_limits' allowlist: no throttle

ssl = { certificate = "$d/cert.pem"; key = "$d/key.pem"; }

log = { warn = "$d/prosody.log"; }

VirtualHost "localhost"
EOF
    chown -R prosody:prosody "$d" 2>/dev/null || true
}

write_ejabberd_config() {
    local d="$WORK/ejabberd"
    mkdir -p "$d/db" "$d/log"
    cp "$WORK/cert.pem" "$WORK/key.pem" "$d/"
    local cookie
    cookie=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    cat > "$d/ejabberd.yml" <<EOF
# Written by bench/compare.sh
hosts:
  - localhost
loglevel: warning
log_rotate_count: 0
certfiles:
  - "$d/cert.pem"
  - "$d/key.pem"
listen:
  -
    port: ${PORT[ejabberd]}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls_required: true
    max_stanza_size: 262144
    backlog: 1024                    # default 5: connection bursts overflow it (SYN retries)
    # no 'shaper': Debian's c2s_shaper (3,000 B/s) would throttle the benchmark
auth_method: internal
auth_password_format: scram          # SCRAM keys stored, no passwords
default_db: mnesia
registration_timeout: infinity       # default 600 s between registrations from one address
shaper_rules:
  max_user_offline_messages: 100     # as Starling's [offline] max_messages
# The modules that correspond to Starling's; no mod_caps, mod_carboncopy, mod_stream_mgmt,
# mod_pres_counter, mod_fail2ban, mod_mam, mod_pubsub, mod_muc, HTTP listeners.
modules:
  mod_roster: {}
  mod_disco: {}
  mod_register:
    ip_access: all
  mod_offline:
    access_max_user_messages: max_user_offline_messages
  mod_ping: {}
  mod_version: {}
  mod_last: {}
  mod_privacy: {}
EOF
    # ejabberdctl reads this instead of /etc/ejabberd/ejabberdctl.cfg. A fixed distribution
    # port on loopback and no epmd, so nothing outlives the node; our own cookie so nothing is
    # written to the ejabberd user's home. One scheduler (pinned to one core) and no scheduler
    # busy-waiting, which would be counted as server CPU while no work is done.
    cat > "$d/ejabberdctl.cfg" <<EOF
ERLANG_NODE=$EJABBERD_NODE
ERL_DIST_PORT=$EJABBERD_DIST_PORT
INET_DIST_INTERFACE=127.0.0.1
ERL_OPTIONS="-setcookie $cookie -env ERL_CRASH_DUMP_BYTES 0 +S 1:1 +SDcpu 1:1 +sbwt none +sbwtdcpu none +sbwtdio none"
EJABBERD_PID_PATH=$d/ejabberd.pid
EOF
    chown -R ejabberd:ejabberd "$d" 2>/dev/null || true
}

ejabberdctl_cmd() {
    local d="$WORK/ejabberd"
    "${RUN_AS_EJABBERD[@]}" env HOME="$d" ejabberdctl --config "$d/ejabberd.yml" --ctl-config "$d/ejabberdctl.cfg" \
        --spool "$d/db" --logs "$d/log" "$@"
}

# ---------------------------------------------------------------- start / stop
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The beam.smp of our ejabberd node among the descendants of $1: the command name is beam.smp
# and the command line names our node. (ejabberdctl first runs a short-lived erl of its own to
# parse INET_DIST_INTERFACE; that one must not be taken for the server.)
find_beam() {
    local pids="$1" pid
    for _ in 1 2 3 4 5 6 7 8; do
        local next=""
        for pid in $pids; do
            next="$next $(cat /proc/"$pid"/task/*/children 2>/dev/null)"
        done
        for pid in $next; do
            if [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = beam.smp ] &&
               tr '\0' ' ' < /proc/"$pid"/cmdline 2>/dev/null | grep -q -- "-sname $EJABBERD_NODE "; then
                echo "$pid"; return 0
            fi
        done
        pids="$next"
        [ -n "${pids// /}" ] || return 1
    done
    return 1
}

start_server() {
    local s=$1 port=${PORT[$1]} log_file="$WORK/$1/stdout.log"
    if port_open "$port"; then
        log "port $port is already in use: cannot start $s"
        return 1
    fi
    CURRENT=$s
    case "$s" in
        starling)
            taskset -c "$SERVER_CPU" "$STARLING_BIN" --config "$WORK/starling/starling.toml" \
                >>"$log_file" 2>&1 &
            SERVER_PID=$!
            ;;
        prosody)
            "${RUN_AS_PROSODY[@]}" taskset -c "$SERVER_CPU" \
                prosody -F --config "$WORK/prosody/prosody.cfg.lua" >>"$log_file" 2>&1 &
            SERVER_PID=$!
            ;;
        ejabberd)
            "${RUN_AS_EJABBERD[@]}" env HOME="$WORK/ejabberd" taskset -c "$SERVER_CPU" \
                ejabberdctl --config "$WORK/ejabberd/ejabberd.yml" \
                --ctl-config "$WORK/ejabberd/ejabberdctl.cfg" --spool "$WORK/ejabberd/db" \
                --logs "$WORK/ejabberd/log" foreground >>"$log_file" 2>&1 &
            WRAPPER_PID=$!
            SERVER_PID=""
            ;;
    esac
    local i
    for i in $(seq 1 240); do   # 60 s
        if [ "$s" = ejabberd ] && [ -z "$SERVER_PID" ]; then
            SERVER_PID=$(find_beam "$WRAPPER_PID") || SERVER_PID=""
        fi
        if [ -n "$SERVER_PID" ] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
            log "$s (pid $SERVER_PID) exited during start-up; its output:"
            tail -20 "$log_file" >&2
            stop_server; return 1
        fi
        if [ "$s" = ejabberd ] && [ -z "$SERVER_PID" ] && ! kill -0 "$WRAPPER_PID" 2>/dev/null; then
            log "ejabberdctl (pid $WRAPPER_PID) exited before beam.smp was found; its output:"
            tail -20 "$log_file" >&2
            stop_server; return 1
        fi
        if [ -n "$SERVER_PID" ] && port_open "$port"; then
            sleep 1   # let start-up work settle before measuring
            log "$s started, pid $SERVER_PID, port $port;" \
                "listen backlog $(ss -Hltn "sport = :$port" | awk '{print $3}' | head -1);" \
                "fd limit $(awk '/open files/ {print $4}' /proc/"$SERVER_PID"/limits)"
            return 0
        fi
        sleep 0.25
    done
    log "$s did not open port $port within 60 s"
    stop_server
    return 1
}

# Stops the server we started, by PID: SIGTERM, then SIGKILL after 30 s. For ejabberd the PID
# is that of beam.smp (the Erlang VM stops cleanly on SIGTERM); the ejabberdctl wrapper and the
# su between them then exit by themselves.
stop_server() {
    if [ -n "$SERVER_PID" ] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
        SERVER_PID=""
    fi
    if [ -n "$WRAPPER_PID" ] && [ -z "$SERVER_PID" ]; then
        SERVER_PID=$(find_beam "$WRAPPER_PID") || SERVER_PID=""
        if [ -z "$SERVER_PID" ] && [ "$CURRENT" = ejabberd ]; then
            # beam.smp not found (the wrapper died): ask the node to stop, by our own node name.
            timeout 30 ejabberdctl_cmd stop >/dev/null 2>&1 || true
        fi
    fi
    local pid i
    for pid in $SERVER_PID $WRAPPER_PID; do
        if [ "$pid" != "$WRAPPER_PID" ] || [ -z "$SERVER_PID" ]; then
            kill -TERM "$pid" 2>/dev/null
        fi
        i=0
        while kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' /proc/"$pid"/stat 2>/dev/null)" != Z ] \
              && [ $i -lt 120 ]; do
            sleep 0.25; i=$((i + 1))
        done
        if kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' /proc/"$pid"/stat 2>/dev/null)" != Z ]; then
            log "$CURRENT (pid $pid) did not stop in 30 s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    SERVER_PID=""; WRAPPER_PID=""
}

server_version() {
    case "$1" in
        starling) printf '%s (%s)' "$("$STARLING_BIN" --version 2>/dev/null | sed 's/^starling //')" \
                      "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')" ;;
        *) dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?' ;;
    esac
}

# ---------------------------------------------------------------- scenarios
# run_bench SERVER SCENARIO TIMEOUT ARGS...: one starling-bench run on the driver CPU; its JSON
# line goes to $JSONL with the server's name added (or a failure record if there is none).
run_bench() {
    local s=$1 scen=$2 tmo=$3; shift 3
    local cmd=(taskset -c "$DRIVER_CPU" "$BENCH_BIN" --host 127.0.0.1 --port "${PORT[$s]}"
               --domain localhost --mech SCRAM-SHA-1 --threads 1 --server-pid "$SERVER_PID"
               --timeout "$tmo" "$@")
    local out="$WORK/bench-$s-$scen.json" err="$WORK/bench-$s-$scen.err"
    log "$s $scen: ${cmd[*]#"$REPO/"}"
    # The outer timeout is a backstop: starling-bench stops itself at --timeout.
    local wait0 wait1 t0 t1
    wait0=$(runq_wait_ns); t0=$(date +%s.%N)
    timeout --kill-after=10 $(( ${tmo%.*} + 30 )) "${cmd[@]}" >"$out" 2>"$err"
    local rc=$?
    wait1=$(runq_wait_ns); t1=$(date +%s.%N)
    # Time the server's threads were runnable but waited for a CPU (another process had CPU 0):
    # when it is large, latency and throughput say more about the machine than the server.
    local runq
    runq=$(awk -v a="$wait0" -v b="$wait1" -v t0="$t0" -v t1="$t1" \
        'BEGIN { printf "{\"server_runq_wait_s\": %.2f, \"wall_s\": %.2f}", (b - a) / 1e9, t1 - t0 }')
    local line
    line=$(grep -m1 '^{' "$out" 2>/dev/null)
    if [ -n "$line" ]; then
        printf '%s\n' "$line" | jq -c --arg s "$s" --arg n "$scen" --argjson rc "$rc" \
            --argjson runq "$runq" '{server: $s, step: $n, exit_code: $rc} + $runq + .' >> "$JSONL"
        log "$s $scen: exit $rc, $(printf '%s' "$line" | jq -c '{ok, logins_ok, logins_failed,
            first_error, lost, server_cpu_s}' 2>/dev/null)"
    else
        local why
        why=$(tail -3 "$err" | tr '\n' ' ')
        jq -cn --arg s "$s" --arg n "$scen" --argjson rc "$rc" --arg why "$why" \
            '{server: $s, step: $n, exit_code: $rc, ok: false, failed: $why}' >> "$JSONL"
        log "$s $scen: FAILED (exit $rc, no result): $why"
    fi
    return $rc
}

# Sum over the server's threads of the time spent runnable but waiting for a CPU
# (/proc/PID/task/TID/schedstat, second field, ns).
runq_wait_ns() {
    cat /proc/"$SERVER_PID"/task/*/schedstat 2>/dev/null | awk '{ s += $2 } END { printf "%.0f", s }'
}

failed_step() {
    jq -cn --arg s "$1" --arg n "$2" --arg why "$3" \
        '{server: $s, step: $n, ok: false, failed: $why}' >> "$JSONL"
}

LOGIN_CONC=50
IDLE_CONC=100
SETUP_TIMEOUT=$(( 60 + USERS / 5 ))   # registration: 5 accounts/s at the very least
IDLE_TIMEOUT=$(( 60 + USERS / 10 + IDLE_HOLD ))

run_server() {
    local s=$1
    log "=== $s $(server_version "$s")"
    "write_${s}_config"
    # Setup: create the accounts by in-band registration (each one also logs in once).
    if ! start_server "$s"; then
        for scen in setup idle login msg max; do failed_step "$s" "$scen" "server did not start"; done
        return
    fi
    run_bench "$s" setup "$SETUP_TIMEOUT" --users "$USERS" --register \
        --concurrency "$LOGIN_CONC" login
    stop_server

    # Each scenario against a freshly started server (idle's RSS needs one; the others are then
    # independent of each other).
    local scen
    for scen in idle login msg max; do
        if ! start_server "$s"; then
            failed_step "$s" "$scen" "server did not start"; continue
        fi
        case "$scen" in
            idle) run_bench "$s" idle "$IDLE_TIMEOUT" --users "$USERS" --concurrency "$IDLE_CONC" \
                      idle --duration "$IDLE_HOLD" ;;
            login) run_bench "$s" login 300 --users "$ACTIVE" --concurrency "$LOGIN_CONC" \
                       login ;;
            msg) run_bench "$s" msg 300 --users "$ACTIVE" --concurrency "$LOGIN_CONC" \
                     msg --rate "$MSG_RATE" --duration "$MSG_DURATION" ;;
            max) run_bench "$s" max 300 --users "$ACTIVE" --concurrency "$LOGIN_CONC" \
                     max --inflight "$MAX_INFLIGHT" --duration "$MAX_DURATION" ;;
        esac
        stop_server
    done
}

START_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for s in ${SERVERS//,/ }; do
    run_server "$s"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- table
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
    echo "Date: $START_DATE; machine: $(nproc) CPUs ($CPU_MODEL), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); kernel $(uname -r)"
    echo "Load average before / after: $LOAD_BEFORE / $LOAD_AFTER"
    for s in ${SERVERS//,/ }; do
        echo "- $s $(server_version "$s")"
    done
    echo "Servers pinned to CPU $SERVER_CPU, starling-bench to CPU $DRIVER_CPU (--threads 1);" \
         "STARTTLS, SCRAM-SHA-1, loopback; $USERS accounts; login/msg/max with $ACTIVE users;" \
         "msg --rate $MSG_RATE --duration $MSG_DURATION; max --inflight $MAX_INFLIGHT --duration $MAX_DURATION;" \
         "idle --duration $IDLE_HOLD.$([ "$QUICK" = 1 ] && echo ' QUICK RUN (smoke check, not a measurement).')"
    echo
    "$PY" - "$JSONL" "${SERVERS}" <<'PYEOF'
import json, sys

path, chosen = sys.argv[1], sys.argv[2].split(",")
servers = [s for s in ("starling", "prosody", "ejabberd") if s in chosen]
res = {}
with open(path) as f:
    for line in f:
        line = line.strip()
        if line:
            r = json.loads(line)
            res[(r["server"], r["step"])] = r

def get(r, key):
    v = r
    for k in key.split("."):
        if not isinstance(v, dict) or v.get(k) is None:
            return None
        v = v[k]
    return v

# (label, step, field, lower_is_better, target, format)
rows = [
    ("server CPU s per 1,000 SCRAM logins (TLS + SASL + bind + roster + presence)",
     "login", "server_cpu_s_per_1k_logins", True, 0.5, "{:.2f} s"),
    ("server CPU s per 10,000 routed chat messages (users online, msg/s as below)",
     "msg", "server_cpu_s_per_10k_msgs", True, 0.2, "{:.2f} s"),
    ("delivery latency p99 at the msg rate", "msg", "latency_ms.p99", True, 1.0, "{:.2f} ms"),
    ("messages/s delivered, server on one core (max, closed loop)",
     "max", "delivered_per_s", False, 50000, "{:,.0f}"),
    ("server RSS KiB per idle authenticated TLS session", "idle",
     "server_rss_kib_per_session", True, 8.0, "{:.1f} KiB"),
]
peers = [s for s in servers if s != "starling"]
names = {"starling": "Starling", "prosody": "Prosody", "ejabberd": "ejabberd"}

def cell(s, step, field, fmt):
    r = res.get((s, step))
    if r is None:
        return None, "not run"
    v = get(r, field)
    if v is None:
        why = r.get("failed") or r.get("first_error") or "no value"
        return None, "failed" + (f" ({why.strip()[:60]})" if why else "")
    text = fmt.format(v)
    if not r.get("ok", False):
        text += " (run not ok)"
    return v, text

head = ["per operation"] + [names[s] for s in servers]
if "starling" in servers and peers:
    head += ["Starling ÷ best peer", "target", "met"]
elif "starling" in servers:
    head += ["target", "met"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for label, step, field, lower, target, fmt in rows:
    vals, cells = {}, []
    for s in servers:
        v, t = cell(s, step, field, fmt)
        vals[s] = v
        cells.append(t)
    line = [label + (" (lower is better)" if lower else " (higher is better)")] + cells
    if "starling" in servers:
        sv = vals["starling"]
        if peers:
            pv = [vals[p] for p in peers if vals[p] is not None]
            if sv is not None and pv:
                best = min(pv) if lower else max(pv)
                if best > 0:
                    ratio = sv / best
                    line.append(f"{ratio:.3g}" + (" (<1: Starling better)" if lower
                                                  else " (>1: Starling better)"))
                else:
                    line.append("n/a")
            else:
                line.append("n/a")
        tgt = ("≤ " if lower else "≥ ") + fmt.format(target)
        met = "n/a" if sv is None else ("yes" if (sv <= target if lower else sv >= target)
                                        else "no")
        line += [tgt, met]
    print("| " + " | ".join(line) + " |")

# Context: is the driver the bottleneck, how fast were logins.
print()
print("Context (not targets):")
print()
print("| | " + " | ".join(names[s] for s in servers) + " |")
print("|---|" + "---|" * len(servers))
ctx = [
    ("setup: accounts registered + logged in / failed", "setup",
     lambda r: f"{r.get('logins_ok', 0)} / {r.get('logins_failed', 0)} in {r.get('elapsed_s', 0):.0f} s"),
    ("login: logins/s (p99 latency ms)", "login",
     lambda r: f"{r['logins_per_s']:.0f} ({r['latency_ms']['p99']:.0f})"),
    ("msg: sent / delivered / lost", "msg",
     lambda r: f"{r['sent']} / {r['delivered']} / {r['lost']}"),
    ("max: generator CPU s / window s (near 1: generator-bound)", "max",
     lambda r: f"{r['bench_cpu_s']:.1f} / {r['elapsed_s']:.1f}"),
    ("max: server CPU s in the window", "max", lambda r: f"{r['server_cpu_s']:.1f}"),
    ("login: server waited for a CPU, s (whole run, wall s)", "login",
     lambda r: f"{r['server_runq_wait_s']:.1f} ({r['wall_s']:.0f})"),
    ("msg: server waited for a CPU, s (whole run, wall s)", "msg",
     lambda r: f"{r['server_runq_wait_s']:.1f} ({r['wall_s']:.0f})"),
    ("max: server waited for a CPU, s (whole run, wall s)", "max",
     lambda r: f"{r['server_runq_wait_s']:.1f} ({r['wall_s']:.0f})"),
    ("max: latency p99 ms", "max", lambda r: f"{r['latency_ms']['p99']:.1f}"),
    ("idle: sessions held, RSS KiB before → after", "idle",
     lambda r: f"{r['sessions']}, {r['server_rss_kib_before']:,} → {r['server_rss_kib_after']:,}"),
]
for label, step, fn in ctx:
    cells = []
    for s in servers:
        r = res.get((s, step))
        if r is None:
            cells.append("not run")
            continue
        try:
            cells.append(fn(r) + ("" if r.get("ok") else " (not ok)"))
        except (KeyError, TypeError):
            cells.append("failed" + (f" ({str(r.get('failed') or r.get('first_error'))[:60]})"))
    print(f"| {label} | " + " | ".join(cells) + " |")
PYEOF
} > "$TABLE"
cat "$TABLE"
log "JSON lines: $JSONL"
log "table: $TABLE"
