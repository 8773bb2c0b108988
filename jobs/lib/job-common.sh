# Shared by the job scripts in jobs/slurm/, jobs/pbs/ and jobs/mpirun/ (sourced, not run): the choice of the
# configuration, and running the launcher with a stop signal forwarded to every rank.
#
# Why forwarding: srun and mpirun kill their ranks on TERM but pass USR1 on to every rank, and the l3rs
# binary turns USR1 (like TERM) into "finish the step, write a checkpoint, exit 75" (Sources/Runs/StopSignal.swift).

# The l3rs subcommands the scripts run.
l3rs_job_commands="finetune meta-train pipeline"

# Sets `config` from L3RS_CONFIG, else from the first script argument (which the caller then shifts away:
# `l3rs_job_choose_config "$@" && shift "$l3rs_job_config_arguments"`). Exits 64 (EX_USAGE) without one, or when
# the file does not exist: a job that silently ran some default configuration would waste its allocation.
l3rs_job_choose_config() {
    l3rs_job_config_arguments=0
    if [[ -n "${L3RS_CONFIG:-}" ]]; then
        config="$L3RS_CONFIG"
    elif [[ $# -gt 0 && "$1" != -* ]]; then
        config="$1"
        l3rs_job_config_arguments=1
    else
        echo "l3rs job: no configuration: give the YAML file as the first argument after the script" \
             "(for example jobs/configs/cluster-smoke.yaml) or set L3RS_CONFIG" >&2
        exit 64
    fi
    if [[ ! -f "$config" ]]; then
        echo "l3rs job: configuration $config: no such file (relative paths start at $PWD)" >&2
        exit 64
    fi
}

# Checks L3RS_COMMAND (set by the script that sources this file).
l3rs_job_check_command() {
    case " $l3rs_job_commands " in
        *" ${L3RS_COMMAND:-} "*) ;;
        *) echo "l3rs job: L3RS_COMMAND must be one of: $l3rs_job_commands (got '${L3RS_COMMAND:-}')" >&2; exit 64 ;;
    esac
}

# Sets `launcher` to Open MPI's mpirun for RANKS ranks of CORES cores each (bound to them), with a HOSTFILE when
# given (inside a Slurm allocation mpirun reads the allocation instead), as root where needed, and MPIRUN_FLAGS.
l3rs_job_mpirun_launcher() {
    local ranks="$1" cores="$2" hostfile="${3:-}"
    launcher=(mpirun -np "$ranks")
    [[ -n "$hostfile" ]] && launcher+=(--hostfile "$hostfile")
    launcher+=(--map-by "slot:PE=$cores" --bind-to core -x OPENBLAS_NUM_THREADS)
    [[ "$(id -u)" == 0 ]] && launcher+=(--allow-run-as-root)
    # shellcheck disable=SC2206
    [[ -n "${MPIRUN_FLAGS:-}" ]] && launcher+=(${MPIRUN_FLAGS})
    return 0
}

# Runs `l3rs L3RS_COMMAND` under `launcher` on `config`, in the run `runs`/`name`, with --resume auto and "$@"
# (extra l3rs flags), forwarding a stop signal; sets `status`.
l3rs_job_run_l3rs() {
    l3rs_job_run_forwarding_stop "${launcher[@]}" "$bin" "$L3RS_COMMAND" --config "$config" --runs-directory "$runs" \
        --name "$name" --resume auto "$@"
}

# Runs "$@" (the launcher and the l3rs command line) in the background and sets `status` to its exit status.
# TERM (and INT) to this shell is forwarded to the launcher as USR1; `wait` returns early (status > 128) when a
# trapped signal arrives, so it waits again for the launcher's own status.
l3rs_job_run_forwarding_stop() {
    l3rs_job_forwarded=0
    l3rs_job_pid=""
    trap 'l3rs_job_forward_stop TERM' TERM
    trap 'l3rs_job_forward_stop INT' INT
    "$@" &
    l3rs_job_pid=$!
    wait "$l3rs_job_pid"
    status=$?
    while [[ $status -gt 128 && $l3rs_job_forwarded == 1 ]] && kill -0 "$l3rs_job_pid" 2>/dev/null; do
        wait "$l3rs_job_pid"
        status=$?
    done
    if [[ $status -gt 128 && $l3rs_job_forwarded == 1 ]]; then
        wait "$l3rs_job_pid" 2>/dev/null
        local again=$?
        [[ $again != 127 ]] && status=$again
    fi
    trap - TERM INT
}

l3rs_job_forward_stop() {
    l3rs_job_forwarded=1
    echo "=== $(date -Is) $1 received: asking the ranks to checkpoint and stop"
    [[ -n "${l3rs_job_pid:-}" ]] && kill -USR1 "$l3rs_job_pid" 2>/dev/null
    return 0
}
