#!/usr/bin/env bash
# A data-parallel `l3rs finetune` with plain mpirun and a hostfile: no batch system (a workstation, a few
# machines reachable by ssh, or inside an allocation that provides no script of its own).
#
#   RANKS=4 HOSTFILE=hostfiles/two-nodes CORES_PER_RANK=8 jobs/mpirun/finetune.sh CONFIG.yaml [extra l3rs flags]
#
# The configuration is the first argument (or L3RS_CONFIG); there is no default (exit status 64 without one).
#
# Environment:
#   RANKS           number of ranks (default 2)
#   HOSTFILE        Open MPI hostfile: which hosts, how many slots each (default hostfiles/single-node);
#                   nodes = the hosts it lists (see hostfiles/README.md)
#   CORES_PER_RANK  cores each rank owns (default 1); also OpenBLAS's thread count per rank
#   L3RS_CONFIG     YAML run configuration, in place of the first argument
#   L3RS_RUNS       output folder of run folders (default runs); the run goes to L3RS_RUNS/L3RS_NAME/
#   L3RS_NAME       run name (default l3rs-mpirun); run the script again with the same name to continue
#   L3RS_BIN        the l3rs executable (default .build/release/l3rs)
#   MPIRUN_FLAGS    extra mpirun flags (for example "--oversubscribe" on a laptop, "--mca btl_tcp_if_include eth0")
# Arguments after the configuration are passed to `l3rs finetune`.
#
# Stopping: TERM or INT to this script is forwarded to the ranks as USR1 (mpirun kills ranks on TERM but forwards
# USR1, jobs/lib/job-common.sh); the trainer writes a checkpoint and exits 75. Running the script again with the same L3RS_NAME continues
# from that checkpoint (--resume auto is always passed; it starts fresh when there is none).
#
# Exit status: 0 finished; 75 stopped after a checkpoint (run again to continue); 64 no or missing
# configuration; anything else is an error.
set -uo pipefail

cd "$(dirname "$0")/../.."
source jobs/lib/job-common.sh
L3RS_COMMAND=finetune
l3rs_job_choose_config "$@" && shift "$l3rs_job_config_arguments"
ranks="${RANKS:-2}"
hostfile="${HOSTFILE:-hostfiles/single-node}"
cores_per_rank="${CORES_PER_RANK:-1}"
runs="${L3RS_RUNS:-runs}"
name="${L3RS_NAME:-l3rs-mpirun}"
bin="${L3RS_BIN:-.build/release/l3rs}"

# OpenBLAS runs one thread per core a rank owns; mpirun binds each rank to CORES_PER_RANK cores.
export OPENBLAS_NUM_THREADS="$cores_per_rank"
echo "=== l3rs: $ranks rank(s) from $hostfile, OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS (cores per rank)"
echo "=== configuration $config, run $runs/$name"

l3rs_job_mpirun_launcher "$ranks" "$cores_per_rank" "$hostfile"
l3rs_job_run_l3rs "$@"
[[ $status == 75 ]] && echo "=== stopped after a checkpoint: run the same command again to continue"
echo "=== exit status $status"
exit "$status"
