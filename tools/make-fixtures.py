#!/usr/bin/env python3
"""Writes the small test fixtures committed under Tests/*/Fixtures, with the reference Python tools
(numpy, the `safetensors` package, pickle and zipfile), so the Swift readers are tested against files they
did not write themselves. Needs: pip install numpy safetensors. Run from the repository root; re-running
gives byte-identical files."""
import collections, gzip, io, os, pickle, struct, sys, types, zipfile

import numpy as np
from safetensors.numpy import save_file

CK = "Tests/CheckpointsTests/Fixtures"
DS = "Tests/DatasetsTests/Fixtures"
os.makedirs(CK, exist_ok=True)
os.makedirs(DS, exist_ok=True)

# --- safetensors written by the reference implementation -----------------------------------------------
reference = {
    "weight": np.arange(6, dtype=np.float32).reshape(2, 3) / 4 - 0.5,
    "steps": np.array([1, -2, 3_000_000_000, -(2**62)], dtype=np.int64),
    "half": np.array([[0.5, -1.25], [65504.0, 6.1035156e-05]], dtype=np.float16),
    "scalar": np.array(3.25, dtype=np.float64),
    "empty": np.zeros((0, 3), dtype=np.uint8),
    "counts": np.array([7, -8, 2**31 - 1], dtype=np.int32),
}
save_file(reference, f"{CK}/reference.safetensors", metadata={"format": "pt", "producer": "make-fixtures"})

# --- a torch.save-shaped state_dict, without torch ------------------------------------------------------
# Fake the two torch globals pickle must name; the Swift importer only reads their names.
torch = types.ModuleType("torch"); utils = types.ModuleType("torch._utils")
class FloatStorage: pass
class LongStorage: pass
FloatStorage.__module__ = LongStorage.__module__ = "torch"
def _rebuild_tensor_v2(*args): raise RuntimeError("never called")
_rebuild_tensor_v2.__module__ = "torch._utils"
torch.FloatStorage, torch.LongStorage, utils._rebuild_tensor_v2, torch._utils = FloatStorage, LongStorage, _rebuild_tensor_v2, utils
sys.modules["torch"], sys.modules["torch._utils"] = torch, utils

class Storage:
    def __init__(self, key, kind, values): self.key, self.kind, self.values = key, kind, values
class Tensor:
    def __init__(self, storage, offset, size, stride): self.args = (storage, offset, size, stride)
    def __reduce__(self):
        storage, offset, size, stride = self.args
        return (_rebuild_tensor_v2, (storage, offset, size, stride, False, collections.OrderedDict()))
class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.kind, obj.key, "cpu", obj.values.size)
        return None

base = Storage("0", FloatStorage, np.arange(12, dtype=np.float32))       # shared by two views
counter = Storage("1", LongStorage, np.array([42], dtype=np.int64))
state = collections.OrderedDict()
state["layer.weight"] = Tensor(base, 0, (3, 4), (4, 1))                 # contiguous
state["layer.weight_t"] = Tensor(base, 0, (4, 3), (1, 4))               # transposed view of the same storage
state["layer.bias"] = Tensor(base, 9, (3,), (1,))                        # offset view
state["bn.num_batches_tracked"] = Tensor(counter, 0, (), ())            # scalar
state._metadata = collections.OrderedDict([("", {"version": 1})])
buffer = io.BytesIO(); Pickler(buffer, protocol=2).dump(state)

def write_zip(path, deflate_storage):
    with zipfile.ZipFile(path, "w") as archive:
        def add(name, data, method=zipfile.ZIP_STORED):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)); info.compress_type = method
            archive.writestr(info, data)
        add("tiny/data.pkl", buffer.getvalue())
        add("tiny/byteorder", b"little")
        add("tiny/data/0", base.values.tobytes(), zipfile.ZIP_DEFLATED if deflate_storage else zipfile.ZIP_STORED)
        add("tiny/data/1", counter.values.tobytes())
        add("tiny/version", b"3\n")
write_zip(f"{CK}/tiny-state-dict.pth", deflate_storage=False)
write_zip(f"{CK}/tiny-state-dict-deflate.pth", deflate_storage=True)

# --- dataset fixtures -------------------------------------------------------------------------------------
images = (np.arange(5 * 4 * 3) * 4 % 256).astype(np.uint8).reshape(5, 4, 3)
labels = np.array([3, 0, 9, 1, 1], dtype=np.uint8)
def gz(path, data):
    with open(path, "wb") as f:
        f.write(gzip.compress(data, mtime=0))
gz(f"{DS}/tiny-images-idx3-ubyte.gz", struct.pack(">IIII", 0x803, 5, 4, 3) + images.tobytes())
gz(f"{DS}/tiny-labels-idx1-ubyte.gz", struct.pack(">II", 0x801, 5) + labels.tobytes())
with open(f"{DS}/tiny-labels-idx1-ubyte", "wb") as f:
    f.write(struct.pack(">II", 0x801, 5) + labels.tobytes())
digits = np.arange(3 * 4, dtype=np.int64).reshape(3, 4) % 17
gz(f"{DS}/tiny-digits.csv.gz", "".join(",".join(map(str, row)) + f",{i * 4}\n" for i, row in enumerate(digits)).encode())
np.save(f"{DS}/train_images.npy", images)
np.save(f"{DS}/train_labels.npy", labels.astype(np.int64))
np.save(f"{DS}/float-images.npy", (np.arange(2 * 3 * 2 * 2, dtype=np.float32) / 8 - 1).reshape(2, 3, 2, 2))
print("fixtures written")
