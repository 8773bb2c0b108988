#!/usr/bin/env bash
# Nine fixed-seed jobs whose final parameter / φ hashes show whether a change altered any bit of training:
# resnet-28 (SyncBatchNorm) and ccexam-mnist (momentum, augmentation) fine-tunes on 1 and 2 ranks, meta-training
# on 1 rank, 2 ranks, second order with validation, antithetic ES with a meta-batch, and a 2-rank fine-tune with
# the learned optimizer just meta-trained. Run it with the binary before and after a refactor and diff the output.
#
#   tools/fixed-seed-hashes.sh [L3RS_BINARY] > hashes.txt      (default .build/debug/l3rs; needs `make data`)
#
# Prints one "job hash" line per job. OPENBLAS_NUM_THREADS=1, so the numbers do not depend on the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(realpath "${1:-.build/debug/l3rs}")"
data="$(realpath data)"
runs="$(mktemp -d /tmp/l3rs-hashes.XXXXXX)"
trap 'rm -rf "$runs"' EXIT
export OPENBLAS_NUM_THREADS=1
mpi=(mpirun -np 2 --oversubscribe -x OPENBLAS_NUM_THREADS=1)
[[ "$(id -u)" == 0 ]] && mpi+=(--allow-run-as-root)
common="dataDirectory: $data
runsDirectory: $runs
progressSeconds: 1000"
cat > "$runs/bn.yaml" <<Y
model: resnet-28
data: mnist-5k
steps: 8
globalBatch: 8
learningRate: 0.001
evalEvery: 4
curveEvaluationLimit: 16
checkpointEvery: 4
hashEvery: 4
evaluationLimit: 48
seed: 3
$common
Y
cat > "$runs/cc.yaml" <<Y
model: ccexam-mnist
weights: $data/ccexam/mnist.pth
data: fashion-mnist
head: reinit
optimizer: momentum
learningRate: 0.01
augment: true
globalBatch: 16
steps: 10
evalEvery: 5
checkpointEvery: 5
hashEvery: 5
evaluationLimit: 64
seed: 5
$common
Y
meta=(--config jobs/configs/meta-train-tiny.yaml --runs-directory "$runs" --data-directory "$data" --weights "$data/ccexam/mnist.pth")
hash() { grep -ho "hash [0-9a-f]*" "$runs/$1.log" | tail -1 | cut -d' ' -f2; }
job() {
    local name="$1"; shift
    "$@" > "$runs/$name.log" 2>&1 || { echo "$name failed:" >&2; tail -20 "$runs/$name.log" >&2; exit 1; }
    echo "$name $(hash "$name")"
}
job bn-1 "$bin" finetune --config "$runs/bn.yaml" --name bn-1
job bn-2 "${mpi[@]}" "$bin" finetune --config "$runs/bn.yaml" --name bn-2
job cc-1 "$bin" finetune --config "$runs/cc.yaml" --name cc-1
job cc-2 "${mpi[@]}" "$bin" finetune --config "$runs/cc.yaml" --name cc-2
job meta-1 "$bin" meta-train "${meta[@]}" --name meta-1
job meta-2 "${mpi[@]}" "$bin" meta-train "${meta[@]}" --name meta-2
job meta-2-second "${mpi[@]}" "$bin" meta-train "${meta[@]}" --name meta-2-second --order secondOrder --validate-every 2
job meta-2-es "${mpi[@]}" "$bin" meta-train "${meta[@]}" --name meta-2-es --estimator antitheticES --tasks-per-meta-step 2 \
    --validate-every 2 --meta-steps 2
sed -e "s|optimizer: momentum|optimizer: l3rs\nl3rsWeights: $runs/meta-1/l3rs.safetensors|" "$runs/cc.yaml" > "$runs/l3.yaml"
job l3-2 "${mpi[@]}" "$bin" finetune --config "$runs/l3.yaml" --name l3-2
