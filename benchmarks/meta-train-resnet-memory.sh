#!/usr/bin/env bash
# Peak resident memory per rank and time per meta-iteration of real `l3rs meta-train` runs on torchvision
# ResNet-18 and ResNet-34 at 3x32x32 (docs/performance.md, "Meta-training on torchvision ResNet-18 and
# ResNet-34"): 3 meta-steps, T = 4, global batch 16, mnist-5k resized, store and recompute (segments of 2),
# 1 and 2 ranks; each rank runs under /usr/bin/time -v. Run from the repository root after `make release data`.
#   benchmarks/meta-train-resnet-memory.sh [OUTPUT_FOLDER]      (default .build/meta-memory)
set -u
BIN=${L3RS_BIN:-.build/release/l3rs}
OUT=$(mkdir -p "${1:-.build/meta-memory}" && cd "${1:-.build/meta-memory}" && pwd)
DATA=${L3RS_DATA_DIR:-data}
MPIRUN="mpirun --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS=1 $([ "$(id -u)" = 0 ] && echo --allow-run-as-root)"
for model in resnet18 resnet34; do
  # Cost and memory do not depend on the weights' values: a one-step pretrain gives a file of the right shapes.
  [ -f "$OUT/runs/init-$model/final.safetensors" ] || OPENBLAS_NUM_THREADS=1 $BIN pretrain --model $model@32 \
    --data digits --resize --steps 1 --global-batch 8 --eval-every 0 --checkpoint-every 0 --name init-$model \
    --runs-directory "$OUT/runs" --data-directory "$DATA" > "$OUT/init-$model.log" 2>&1 || exit 1
  for mode in store recompute; do
    for ranks in 1 2; do
      tag=$model-$mode-$ranks
      cat > "$OUT/$tag.yaml" <<YAML
name: $tag
runsDirectory: $OUT/runs
dataDirectory: $DATA
model: $model@32
weights: $OUT/runs/init-$model/final.safetensors
data: mnist-5k
resize: true
globalBatch: 16
validationBatch: 16
truncation: 4
horizon: 8
innerRuns: 1
metaSteps: 3
memory: $mode
recomputeSegment: 2
checkpointEvery: 0
progressSeconds: 1000
YAML
      rm -rf "$OUT/runs/$tag"
      echo "== $tag $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
      $MPIRUN -np $ranks sh -c "exec /usr/bin/time -v -o $OUT/$tag.rank\$OMPI_COMM_WORLD_RANK.time $BIN meta-train --config $OUT/$tag.yaml" \
        > "$OUT/$tag.log" 2>&1 || { echo "failed: $OUT/$tag.log"; continue; }
      python3 - "$OUT" "$tag" <<'PY'
import glob, json, re, statistics, sys
out, tag = sys.argv[1], sys.argv[2]
rows = [json.loads(line) for line in open(f"{out}/runs/{tag}/metrics.jsonl")]
seconds = [rows[0]["seconds"]] + [b["seconds"] - a["seconds"] for a, b in zip(rows, rows[1:])]
peaks = [int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(f).read()).group(1)) / 1024
         for f in sorted(glob.glob(f"{out}/{tag}.rank*.time"))]
print(f"{tag}: median {statistics.median(seconds):.1f} s per meta-iteration, peak RSS per rank "
      + " / ".join(f"{p:.0f}" for p in peaks) + " MiB")
PY
    done
  done
done
