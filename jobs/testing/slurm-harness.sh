#!/usr/bin/env bash
# A throw-away, one-node Slurm on this machine, for tests of the batch scripts in jobs/slurm/.
#
#   jobs/testing/slurm-harness.sh install        # installs Slurm, munge and PMIx when missing (root only)
#   jobs/testing/slurm-harness.sh start SCRATCH  # writes SCRATCH/slurm.conf, starts munged, slurmctld, slurmd
#   jobs/testing/slurm-harness.sh stop SCRATCH   # stops the daemons by the PIDs in their pid files
#
# Why it looks like this (measured facts in the project's cluster notes):
# - Debian's packages start nothing without systemd, so this script starts the daemons itself and stops
#   them by the PIDs in their pid files, never by name (other people's daemons may run on the same machine).
# - Everything Slurm writes (configuration, state, logs, pid files, spool) lives in SCRATCH, and every
#   client finds the configuration through SLURM_CONF, so /etc/slurm is left alone. Callers export
#   SLURM_CONF=SCRATCH/slurm.conf before running sbatch, squeue or scontrol.
# - Daemons listen on loopback only, on ports away from Slurm's defaults, so one test cluster runs on a machine
#   at a time: `start` takes a lock (/tmp/l3rs-slurm-harness.lock) that `stop` releases, and waits while another
#   checkout's cluster holds it or the ports (up to SLURM_HARNESS_PORT_WAIT seconds, default 480).
# - cred_expire=10 and a 5 s scheduler interval bring the start of a requeued job from about 140 s (Slurm's
#   defaults) down to 12-16 s, which a test can afford.
set -euo pipefail

PACKAGES=(slurmctld slurmd slurm-client munge libpmix-dev)

die() { echo "slurm-harness: $*" >&2; exit 1; }

missing_packages() {
    local p missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    echo "${missing[@]:-}"
}

install_packages() {
    local missing
    missing="$(missing_packages)"
    [[ -z "$missing" ]] && return 0
    if [[ "$(id -u)" != 0 ]]; then
        die "missing Debian packages: $missing; run: sudo apt-get install -y --no-install-recommends $missing"
    fi
    echo "slurm-harness: installing $missing"
    # Try the package lists already on the machine first; refresh them only when that fails.
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 || {
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    }
}

# Returns success when the pid file names a live process.
alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Stops the process named by a pid file and waits (up to 10 s) for it to go.
stop_by_pidfile() {
    local file="$1" pid
    alive "$file" || return 0
    pid="$(cat "$file")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

start_munge() {
    local scratch="$1"
    # /run is a tmpfs: the socket folder must be made again after every boot.
    install -d -o munge -g munge -m 0755 /run/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        install -d -o munge -g munge -m 0700 /etc/munge
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        chown munge:munge /etc/munge/munge.key
        chmod 0400 /etc/munge/munge.key
    fi
    # A munged that is already running (ours from an earlier start, or the machine's) serves us as well.
    if [[ -S /run/munge/munge.socket.2 ]] && munge -n </dev/null | unmunge >/dev/null 2>&1; then
        return 0
    fi
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid --force
    cp /run/munge/munged.pid "$scratch/munged.pid" 2>/dev/null || true
    for _ in $(seq 50); do munge -n </dev/null | unmunge >/dev/null 2>&1 && return 0; sleep 0.1; done
    die "munged did not start"
}

write_config() {
    local scratch="$1" host node
    host="$(hostname -s)"
    # The node line as slurmd measures it (CPUs, sockets, cores, threads, memory), with a loopback address.
    node="$(slurmd -C | head -1)"
    cat >"$scratch/slurm.conf" <<EOF
# Written by jobs/testing/slurm-harness.sh: a one-node cluster on loopback for tests.
ClusterName=l3rs-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=cred_expire=10
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
JobRequeue=1
EnforcePartLimits=ALL
ReturnToService=2
SchedulerParameters=batch_sched_delay=0,sched_interval=5,bf_interval=5
MinJobAge=600
KillWait=10
StateSaveLocation=$scratch/state
SlurmdSpoolDir=$scratch/spool
SlurmctldPidFile=$scratch/slurmctld.pid
SlurmdPidFile=$scratch/slurmd.pid
SlurmctldLogFile=$scratch/slurmctld.log
SlurmdLogFile=$scratch/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=60 State=UP
EOF
}

start() {
    local scratch="$1"
    [[ "$(id -u)" == 0 ]] || die "starting Slurm's daemons needs root"
    install_packages
    mkdir -p "$scratch/state" "$scratch/spool"
    scratch="$(cd "$scratch" && pwd)"
    stop "$scratch"
    export SLURM_CONF="$scratch/slurm.conf"
    start_munge "$scratch"
    write_config "$scratch"
    local t0=$SECONDS port waited=0
    take_lock "$scratch"
    # Another cluster on our ports (one started by an older copy of this script) would answer in place of ours:
    # wait for it to go, then refuse to start beside it.
    for port in 16817 16818; do
        while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
            if (( waited >= ${SLURM_HARNESS_PORT_WAIT:-480} )); then
                release_lock "$scratch"
                die "port $port on 127.0.0.1 is still in use after ${waited} s (another test cluster still running? stop it with: $0 stop ITS_SCRATCH)"
            fi
            (( waited == 0 )) && echo "slurm-harness: port $port on 127.0.0.1 is in use: waiting for the other test cluster to stop"
            sleep 5
            waited=$((waited + 5))
        done
    done
    t0=$SECONDS
    # -c: a clean start (no jobs from an earlier run of the test), -i: ignore stale state.
    /usr/sbin/slurmctld -c -i -f "$SLURM_CONF"
    for _ in $(seq 100); do scontrol ping >/dev/null 2>&1 && break; sleep 0.1; done
    # A controller that lost the race for its port answers nothing itself and exits; the ping may have been
    # answered by another: make sure ours is the one running.
    sleep 1
    if ! alive "$scratch/slurmctld.pid" || grep -q "fatal" "$scratch/slurmctld.log" 2>/dev/null; then
        tail -n 20 "$scratch/slurmctld.log" >&2
        release_lock "$scratch"
        die "slurmctld did not start"
    fi
    /usr/sbin/slurmd -f "$SLURM_CONF"
    # Ready when the node is idle.
    for _ in $(seq 300); do
        if alive "$scratch/slurmd.pid" && sinfo -h -o '%T' 2>/dev/null | grep -qx idle; then
            echo "slurm-harness: one-node Slurm ready in $((SECONDS - t0)) s (SLURM_CONF=$SLURM_CONF)"
            return 0
        fi
        sleep 0.1
    done
    sinfo >&2 || true
    tail -n 20 "$scratch/slurmctld.log" "$scratch/slurmd.log" >&2 || true
    die "the node did not become idle within 30 s"
}

# One test cluster on this machine at a time, whichever checkout's tests start it: a lock folder naming the
# scratch folder of the cluster that holds it. A lock whose scratch folder is gone, or whose controller has been
# gone for 90 s (a test killed before its stop), is taken over. Waits up to SLURM_HARNESS_PORT_WAIT seconds (default 480).
LOCK=/tmp/l3rs-slurm-harness.lock
take_lock() {
    local scratch="$1" waited=0 owner age
    until mkdir "$LOCK" 2>/dev/null; do
        owner="$(cat "$LOCK/owner" 2>/dev/null || true)"
        age=$(( $(date +%s) - $(stat -c %Y "$LOCK" 2>/dev/null || date +%s) ))
        if [[ -n "$owner" && "$owner" != "$scratch" ]] \
            && { [[ ! -d "$owner" ]] || { ! alive "$owner/slurmctld.pid" && (( age > 90 )); }; }; then
            echo "slurm-harness: taking over the lock of $owner (its controller is gone)"
            rm -rf "$LOCK"
            continue
        fi
        [[ "$owner" == "$scratch" ]] && return 0
        (( waited >= ${SLURM_HARNESS_PORT_WAIT:-480} )) && die "another test cluster ($owner) still holds $LOCK after ${waited} s"
        (( waited == 0 )) && echo "slurm-harness: waiting for the test cluster of ${owner:-another test} to stop"
        sleep 2
        waited=$((waited + 2))
    done
    echo "$scratch" >"$LOCK/owner"
}

release_lock() {
    [[ "$(cat "$LOCK/owner" 2>/dev/null)" == "$1" ]] && rm -rf "$LOCK"
    return 0
}

stop() {
    local scratch="$1"
    [[ -d "$scratch" ]] || { release_lock "$scratch"; return 0; }
    stop_by_pidfile "$scratch/slurmd.pid"
    stop_by_pidfile "$scratch/slurmctld.pid"
    # munged is stopped only if this script started it.
    if [[ -s "$scratch/munged.pid" ]]; then
        stop_by_pidfile "$scratch/munged.pid"
        rm -f "$scratch/munged.pid"
    fi
    release_lock "$scratch"
}

case "${1:-}" in
    install) install_packages ;;
    start) [[ $# == 2 ]] || die "usage: $0 start SCRATCH"; start "$2" ;;
    stop) [[ $# == 2 ]] || die "usage: $0 stop SCRATCH"; stop "$2" ;;
    *) die "usage: $0 install | start SCRATCH | stop SCRATCH" ;;
esac
