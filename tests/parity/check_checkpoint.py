"""Loads an mtl checkpoint into the PyTorch reference module and compares evaluation-mode
logits (used by tests/test_torch_checkpoint.c).

usage: check_checkpoint.py KIND CHECKPOINT IO_FILE CLASSES... [--per-task-units]

CHECKPOINT: mtl_params_save output (state_dict names). IO_FILE: safetensors with the input
"x" [N, C, L] and mtl's logits "logits0", "logits1", ... Builds reference.build(KIND, ...),
load_state_dict(strict=True), eval(), and exits 1 if any logit differs by more than 1e-4
(2 on a usage or loading error)."""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import build  # noqa: E402

TOLERANCE = 1e-4
_DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype=np.dtype(_DTYPES[e["dtype"]]).newbyteorder("<"))
        out[name] = torch.from_numpy(arr.reshape(e["shape"]).astype(arr.dtype.newbyteorder("=")))
    return out


def main(argv):
    args = [a for a in argv if a != "--per-task-units"]
    if len(args) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    kind, ckpt, io_file, classes = args[0], args[1], args[2], tuple(int(c) for c in args[3:])
    io = read_safetensors(io_file)
    x = io["x"]
    net = build(kind, classes, in_channels=x.shape[1], length=x.shape[2],
                per_task_units="--per-task-units" in argv)
    try:
        net.load_state_dict(read_safetensors(ckpt), strict=True)
    except RuntimeError as e:
        print(f"{kind}: the checkpoint does not load into the reference module: {e}", file=sys.stderr)
        return 2
    net.eval()
    with torch.no_grad():
        logits = net(x)
    worst, scale = 0.0, 0.0
    for k, lg in enumerate(logits):
        scale = max(scale, lg.abs().max().item())
        want = io[f"logits{k}"]
        if tuple(want.shape) != tuple(lg.shape):
            print(f"{kind}: task {k}: mtl logits {tuple(want.shape)}, PyTorch {tuple(lg.shape)}", file=sys.stderr)
            return 1
        worst = max(worst, (lg - want).abs().max().item())
    print(f"{kind}{' (per-task units)' if '--per-task-units' in argv else ''}: {len(logits)} tasks, "
          f"max |logit difference| {worst:.3g} (tolerance {TOLERANCE:g}; max |logit| {scale:.3g})")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
