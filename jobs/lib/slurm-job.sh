# The body of the Slurm batch scripts (jobs/slurm/*.sbatch source it with L3RS_COMMAND set): one data-parallel
# l3rs job on the ranks sbatch allocated, TERM forwarded to the ranks, requeued when stopped after a checkpoint.
# Runs in L3RS_HOME (default: the folder sbatch was called from, SLURM_SUBMIT_DIR); relative paths start there.
set -uo pipefail

l3rs_home="${L3RS_HOME:-${SLURM_SUBMIT_DIR:-$PWD}}"
cd "$l3rs_home" || exit 1
source "$l3rs_home/jobs/lib/job-common.sh"
l3rs_job_check_command
l3rs_job_choose_config "$@" && shift "$l3rs_job_config_arguments"

runs="${L3RS_RUNS:-runs}"
# The job id stays the same across requeues, so --resume auto finds the run again.
name="${L3RS_NAME:-${SLURM_JOB_NAME:-l3rs}-${SLURM_JOB_ID:-0}}"
bin="${L3RS_BIN:-$l3rs_home/.build/release/l3rs}"
launch="${L3RS_LAUNCH:-srun}"
cores_per_rank="${SLURM_CPUS_PER_TASK:-1}"

# OpenBLAS runs one thread per core a rank owns: each rank gets --cpus-per-task cores from Slurm.
export OPENBLAS_NUM_THREADS="$cores_per_rank"
echo "=== l3rs job ${SLURM_JOB_ID:-?} start $(date -Is) restart ${SLURM_RESTART_COUNT:-0}: l3rs $L3RS_COMMAND, ${SLURM_NTASKS:-?} rank(s) on ${SLURM_JOB_NUM_NODES:-?} node(s) (${SLURM_JOB_NODELIST:-?}), launcher $launch"
echo "=== configuration $config, run $runs/$name, OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS (cores per rank, from --cpus-per-task)"

case "$launch" in
    srun)
        # --kill-on-bad-exit: a rank that dies ends the others at once instead of leaving them in a collective.
        launcher=(srun --mpi=pmix --kill-on-bad-exit=1 --cpus-per-task="$cores_per_rank")
        ;;
    mpirun)
        # Open MPI reads the allocation from Slurm; each rank is bound to its cores.
        l3rs_job_mpirun_launcher "${SLURM_NTASKS:?}" "$cores_per_rank"
        ;;
    *) echo "l3rs job: L3RS_LAUNCH must be srun or mpirun, got $launch" >&2; exit 64 ;;
esac

l3rs_job_run_l3rs "$@"

echo "=== l3rs job ${SLURM_JOB_ID:-?} end $(date -Is): exit status $status"
if [[ $status == 75 && "${L3RS_REQUEUE:-1}" == 1 && -n "${SLURM_JOB_ID:-}" ]]; then
    echo "=== stopped after a checkpoint: requeueing job $SLURM_JOB_ID (it continues with --resume auto)"
    scontrol requeue "$SLURM_JOB_ID"
fi
exit "$status"
