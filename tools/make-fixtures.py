#!/usr/bin/env python3
"""Writes the small test fixtures committed under Tests/*/Fixtures, with the reference Python tools
(numpy, the `safetensors` package, pickle and zipfile), so the Swift readers are tested against files they
did not write themselves. Needs: pip install numpy safetensors. Run from the repository root; re-running
gives byte-identical files."""
import argparse, collections, gzip, io, os, pickle, struct, sys, types, zipfile, zlib

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
def pickled(obj):
    buffer = io.BytesIO(); Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()

def archive_entries(pickle_bytes, deflate_storage=False):
    """(name, data, method) of a torch.save archive named `tiny`."""
    return [("tiny/data.pkl", pickle_bytes, zipfile.ZIP_STORED),
            ("tiny/byteorder", b"little", zipfile.ZIP_STORED),
            ("tiny/data/0", base.values.tobytes(), zipfile.ZIP_DEFLATED if deflate_storage else zipfile.ZIP_STORED),
            ("tiny/data/1", counter.values.tobytes(), zipfile.ZIP_STORED),
            ("tiny/version", b"3\n", zipfile.ZIP_STORED)]

def write_zip(path, entries):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data, method in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)); info.compress_type = method
            archive.writestr(info, data)
write_zip(f"{CK}/tiny-state-dict.pth", archive_entries(pickled(state)))
write_zip(f"{CK}/tiny-state-dict-deflate.pth", archive_entries(pickled(state), deflate_storage=True))

# --- the same archive in Zip64 form: every size and offset saturated to 0xFFFFFFFF and given in the Zip64 extra
# field, the end record's counts saturated and given in the Zip64 end record (what torch writes past 4 GiB).
# Python's zipfile only does this for large files, so the records are written out here.
def write_zip64(path, entries):
    out, directory = bytearray(), bytearray()
    for name, data, _ in entries:
        crc, encoded, offset = zlib.crc32(data), name.encode(), len(out)
        local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(encoded), len(local_extra))
        out += encoded + local_extra + data
        extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        directory += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                                 len(encoded), len(extra), 0, 0, 0, 0, 0xFFFFFFFF)
        directory += encoded + extra
    directory_offset = len(out)
    out += directory
    record = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(directory), directory_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, record, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path, "wb") as f:
        f.write(bytes(out))
write_zip64(f"{CK}/tiny-state-dict-zip64.pth", archive_entries(pickled(state)))

# --- a training checkpoint as scripts save it: the state_dict of a DistributedDataParallel model (names
# prefixed `module.`) nested under "state_dict" beside the epoch, the optimizer's state, the script's
# argparse arguments and a numpy scalar (PyTorch's ImageNet example saves exactly these keys).
nested = collections.OrderedDict((f"module.{name}", tensor) for name, tensor in state.items())
checkpoint = {
    "epoch": 3, "arch": "tiny", "state_dict": nested,
    "best_acc1": np.float64(0.5),
    "optimizer": {"state": {0: {"momentum_buffer": Tensor(base, 0, (3, 4), (4, 1))}},
                  "param_groups": [{"lr": 0.1, "momentum": 0.9, "params": [0, 1]}]},
    "args": argparse.Namespace(arch="tiny", lr=0.1, epochs=90),
}
write_zip(f"{CK}/tiny-checkpoint.pth", archive_entries(pickled(checkpoint)))

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
