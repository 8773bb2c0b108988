# The body of the PBS batch scripts (jobs/pbs/*.pbs source it with L3RS_COMMAND set): one data-parallel l3rs
# job under mpirun on the ranks PBS_NODEFILE lists, TERM forwarded to the ranks, rerun when stopped after a
# checkpoint. Runs in L3RS_HOME (default: the folder qsub was called from, PBS_O_WORKDIR).
set -uo pipefail

l3rs_home="${L3RS_HOME:-${PBS_O_WORKDIR:-$PWD}}"
cd "$l3rs_home" || exit 1
source "$l3rs_home/jobs/lib/job-common.sh"
l3rs_job_check_command
l3rs_job_choose_config "$@" && shift "$l3rs_job_config_arguments"
# qsub passes no arguments to a batch script: extra l3rs flags come in L3RS_ARGS (split at spaces).
# shellcheck disable=SC2206
extra_flags=(${L3RS_ARGS:-})
set -- "$@" "${extra_flags[@]}"

runs="${L3RS_RUNS:-runs}"
job_number="${PBS_JOBID:-0}"
job_number="${job_number%%.*}"
# The job id stays the same when the job is rerun, so --resume auto finds the run again.
name="${L3RS_NAME:-${PBS_JOBNAME:-l3rs}-$job_number}"
bin="${L3RS_BIN:-$l3rs_home/.build/release/l3rs}"
nodefile="${PBS_NODEFILE:?not inside a PBS job}"
ranks="$(wc -l <"$nodefile")"

# OpenBLAS runs one thread per core a rank owns: ompthreads from the select statement (PBS exports it as
# OMP_NUM_THREADS), else 1.
export OPENBLAS_NUM_THREADS="${OMP_NUM_THREADS:-1}"
echo "=== l3rs job ${PBS_JOBID:-?} start $(date -Is): l3rs $L3RS_COMMAND, $ranks rank(s) on $(sort -u "$nodefile" | wc -l) node(s)"
echo "=== configuration $config, run $runs/$name, OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS (cores per rank, from ompthreads)"

l3rs_job_mpirun_launcher "$ranks" "$OPENBLAS_NUM_THREADS" "$nodefile"
l3rs_job_run_l3rs "$@"

echo "=== l3rs job ${PBS_JOBID:-?} end $(date -Is): exit status $status"
if [[ $status == 75 && "${L3RS_REQUEUE:-1}" == 1 && -n "${PBS_JOBID:-}" ]]; then
    echo "=== stopped after a checkpoint: rerunning job $PBS_JOBID (it continues with --resume auto)"
    qrerun "$PBS_JOBID"
fi
exit "$status"
