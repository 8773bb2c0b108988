#!/usr/bin/env bash
# Two "hosts" on this machine for tests of multi-node runs: two network namespaces joined by a veth pair, each
# with its own address, host name and /etc/hosts, and an ssh stand-in that lets mpirun start its daemon on the
# other host. Runs one command on the first host, then tears everything down (also after a failure or a signal).
#
#   jobs/testing/two-host-harness.sh COMMAND [ARGS...]
#   jobs/testing/two-host-harness.sh teardown          # removes what a killed run left behind
#
#   jobs/testing/two-host-harness.sh bash -c 'mpirun -np 2 --hostfile "$HOSTFILE" $MPIRUN_FLAGS hostname'
#   RANKS=2 L3RS_BIN=.build/release/l3rs jobs/testing/two-host-harness.sh jobs/mpirun/finetune.sh jobs/configs/cluster-smoke.yaml --steps 40
#
# COMMAND runs in the namespace l3rs-host-a, under the host name l3rs-host-a, in the repository root, with
#   HOSTFILE      hostfiles/two-namespaces (l3rs-host-a and l3rs-host-b, one slot each)
#   MPIRUN_FLAGS  the mpirun flags that make Open MPI use the namespaces (docs/clusters.md says why each):
#                 --mca plm_rsh_agent jobs/testing/netns-rsh-agent.sh (starts orted "remotely")
#                 --mca oob_tcp_if_include / btl_tcp_if_include 10.231.0.0/24 (the veth link only)
#                 --mca btl tcp,self --mca pml ob1 (TCP between the hosts, no shared memory, no UCX)
#                 --bind-to none (the two hosts share this machine's cores)
# Its exit status is the harness's. The harness's own failures: 2 usage, 3 not root, 4 a tool is missing,
# 5 the namespaces could not be made or could not reach each other, 6 another harness run holds the lock.
#
# Both hosts see the same file system (as on a cluster with a shared one): the build, data/ and runs/ are
# where they are on this machine. Only the network and the host name differ.
set -uo pipefail

HOSTS=(l3rs-host-a l3rs-host-b)
ADDRESSES=(10.231.0.1 10.231.0.2)
LINKS=(l3rs-veth-a l3rs-veth-b)
SUBNET=10.231.0.0/24
LOCK=/run/lock/l3rs-two-host-harness.lock

die() { local status="$1"; shift; echo "two-host-harness: $*" >&2; exit "$status"; }

root="$(cd "$(dirname "$0")/../.." && pwd)"
agent="$root/jobs/testing/netns-rsh-agent.sh"

# Removes the namespaces, the link and the hosts files, ending the processes still inside our namespaces by id.
teardown() {
    local host pid
    for host in "${HOSTS[@]}"; do
        if ip netns list 2>/dev/null | grep -qw "^$host"; then
            for pid in $(ip netns pids "$host" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null; done
            sleep 0.2
            for pid in $(ip netns pids "$host" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
            ip netns delete "$host" 2>/dev/null
        fi
        rm -rf "/etc/netns/$host"
    done
    # A link left in this namespace by a run that died between creating and moving it.
    ip link delete "${LINKS[0]}" 2>/dev/null
    return 0
}

setup() {
    local i host
    teardown
    ip link add "${LINKS[0]}" type veth peer name "${LINKS[1]}" || return 1
    for i in 0 1; do
        host="${HOSTS[$i]}"
        ip netns add "$host" || return 1
        ip link set "${LINKS[$i]}" netns "$host" || return 1
        ip -n "$host" link set lo up || return 1
        ip -n "$host" addr add "${ADDRESSES[$i]}/24" dev "${LINKS[$i]}" || return 1
        ip -n "$host" link set "${LINKS[$i]}" up || return 1
        # `ip netns exec` mounts the files of /etc/netns/NAME/ over /etc/: each host resolves both names.
        mkdir -p "/etc/netns/$host"
        {
            echo "127.0.0.1 localhost"
            echo "${ADDRESSES[0]} ${HOSTS[0]}"
            echo "${ADDRESSES[1]} ${HOSTS[1]}"
        } >"/etc/netns/$host/hosts"
    done
    # Ready when host a reaches host b: a refused TCP connection to a closed port proves it (no ping needed);
    # a timeout or "no route" does not. The veth link takes some tenths of a second to come up.
    for _ in $(seq 50); do
        [[ "$(ip netns exec "${HOSTS[0]}" timeout 1 bash -c "exec 3<>/dev/tcp/${ADDRESSES[1]}/9" 2>&1)" == *"Connection refused"* ]] && return 0
        sleep 0.1
    done
    return 1
}

case "${1:-}" in
    "") die 2 "usage: $0 COMMAND [ARGS...] | teardown" ;;
esac
[[ "$(id -u)" == 0 ]] || die 3 "network namespaces need root (this runs as uid $(id -u)); run it as root, as CI does"
for tool in ip unshare flock timeout mpirun; do
    command -v "$tool" >/dev/null || die 4 "'$tool' is missing; run: apt-get install -y iproute2 util-linux coreutils openmpi-bin"
done

# One harness at a time on a machine: the names and the subnet are fixed. Wait up to 10 minutes for another.
mkdir -p "$(dirname "$LOCK")" && exec 9>"$LOCK" || die 5 "cannot open the lock file $LOCK"
flock -w 600 9 || die 6 "another two-host harness run has held $LOCK for 10 minutes"

if [[ "$1" == teardown ]]; then teardown; exit 0; fi

trap teardown EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
setup || die 5 "could not build the two namespaces (or ${HOSTS[0]} cannot reach ${HOSTS[1]})"

export HOSTFILE="$root/hostfiles/two-namespaces"
# --bind-to none last (it overrides a script's --bind-to core): both "hosts" share this machine's cores, and each
# daemon would bind its first rank to core 0, so both ranks would share one core.
export MPIRUN_FLAGS="--mca plm_rsh_agent $agent --mca oob_tcp_if_include $SUBNET --mca btl_tcp_if_include $SUBNET --mca btl tcp,self --mca pml ob1 --bind-to none"
echo "two-host-harness: ${HOSTS[0]} (${ADDRESSES[0]}) and ${HOSTS[1]} (${ADDRESSES[1]}) up; running on ${HOSTS[0]}: $*"
cd "$root" || exit 1
# Not exec: the EXIT trap tears down when the command ends. The command runs in the background so that a TERM
# to the harness (a test's timeout) reaches the trap at once; the trap's teardown then ends the command.
ip netns exec "${HOSTS[0]}" unshare --uts -- /bin/sh -c 'hostname "$0" && exec "$@"' "${HOSTS[0]}" "$@" &
wait $!
