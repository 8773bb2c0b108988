#!/usr/bin/env python3
"""Writes the model of a run (`runs/NAME/final.safetensors`, F32, PyTorch names) as the file the project ships:
floating-point tensors stored as F16 (half the bytes; `l3rs` widens them exactly on load), integers (BatchNorm's
num_batches_tracked) and names unchanged, and `__metadata__` holding "format": "pt"
(so PyTorch and Hugging Face tools accept it) plus the provenance given with --metadata KEY=VALUE.
Needs numpy and safetensors (`make deps` installs them). Used for jobs/pretrained/ (README there).

    python3 tools/export-weights.py runs/pretrain-resnet18-fmnist/final.safetensors \\
        jobs/pretrained/resnet18-fmnist.safetensors --dtype f16 --metadata commit=abc123
"""
import argparse
import sys

import numpy as np
from safetensors.numpy import load_file, save_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--dtype", choices=["f16", "f32"], default="f16", help="storage of floating-point tensors")
    parser.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE")
    arguments = parser.parse_args()

    storage = np.float16 if arguments.dtype == "f16" else np.float32
    tensors = {}
    for name, array in load_file(arguments.source).items():
        if np.issubdtype(array.dtype, np.floating):
            converted = array.astype(storage)
            if not np.all(np.isfinite(converted)):
                print(f"export-weights: {name} does not fit {arguments.dtype} (overflow to infinity)", file=sys.stderr)
                return 1
            tensors[name] = converted
        else:
            tensors[name] = array
    metadata = {"format": "pt"}
    for pair in arguments.metadata:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            print(f"export-weights: --metadata expects KEY=VALUE, got '{pair}'", file=sys.stderr)
            return 64
        metadata[key] = value
    save_file(tensors, arguments.target, metadata=metadata)
    return 0


if __name__ == "__main__":
    sys.exit(main())
