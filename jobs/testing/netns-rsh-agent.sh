#!/usr/bin/env bash
# An ssh stand-in for mpirun on the two "hosts" of jobs/testing/two-host-harness.sh: `mpirun --mca plm_rsh_agent
# THIS` starts Open MPI's daemon (orted) on each remote host with `THIS HOST COMMAND...`, as it would with ssh.
# HOST is a network namespace's name (or its address in the namespace's hosts file); COMMAND runs in that
# namespace under that host name, through /bin/sh -c like ssh's remote shell.
set -euo pipefail

# Options ssh would take (mpirun passes none to an agent that is not called ssh or rsh, but be lenient).
while [[ $# -gt 0 && "$1" == -* ]]; do shift; done
[[ $# -ge 2 ]] || { echo "netns-rsh-agent: usage: $0 HOST COMMAND..." >&2; exit 255; }
host="$1"
shift

namespace=""
if [[ -e "/run/netns/$host" ]]; then
    namespace="$host"
else
    # An address: the namespace whose hosts file names it.
    for file in /etc/netns/*/hosts; do
        name="$(awk -v address="$host" '$1 == address { print $2; exit }' "$file" 2>/dev/null)"
        if [[ -n "$name" && -e "/run/netns/$name" ]]; then namespace="$name"; break; fi
    done
fi
[[ -n "$namespace" ]] || { echo "netns-rsh-agent: no network namespace for host '$host' (is two-host-harness.sh running?)" >&2; exit 255; }

# Like ssh: the arguments joined by spaces, run by a shell on the remote host.
exec ip netns exec "$namespace" unshare --uts -- /bin/sh -c 'hostname "$0" && exec /bin/sh -c "$1"' "$namespace" "$*"
