"""Writes mtl test fixtures: safetensors files (8-byte header length, JSON header,
raw little-endian data) with a versioned "__metadata__" header. Only the standard
library, NumPy and PyTorch (Debian's python3-torch) are needed."""
import json
import os
import struct

import numpy as np
import torch

FORMAT = "mtl-fixture"
VERSION = "1"
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.normpath(os.path.join(HERE, "..", "fixtures"))

_DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64",
           np.dtype(np.int32): "I32", np.dtype(np.int64): "I64"}


def save(name, tensors, generator, meta=None):
    """tensors: dict name -> torch tensor or numpy array (float32/float64/int32/int64)."""
    header = {"__metadata__": {"format": FORMAT, "version": VERSION, "generator": generator,
                               "torch": torch.__version__}}
    for k, v in (meta or {}).items():
        header["__metadata__"][k] = str(v)
    blobs, offset = [], 0
    for key, value in tensors.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        arr = np.ascontiguousarray(value)
        if arr.dtype not in _DTYPES:
            raise TypeError(f"{key}: unsupported dtype {arr.dtype}")
        raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[key] = {"dtype": _DTYPES[arr.dtype], "shape": list(arr.shape),
                       "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    os.makedirs(FIXTURES, exist_ok=True)
    path = os.path.join(FIXTURES, name)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)
    print(f"wrote {path}: {len(tensors)} tensors, {os.path.getsize(path)} bytes")


def rand(*shape, seed, lo=-1.0, hi=1.0):
    """Deterministic uniform float32 tensor."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g, dtype=torch.float32) * (hi - lo) + lo)


def op_case(out, prefix, fn, inputs, seed):
    """Runs fn(**inputs) with gradients, seeds backward with a fixed random dy and
    stores <prefix>.<input>, <prefix>.y, <prefix>.dy and <prefix>.d<input>."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y = fn(**leaves)
    dy = rand(max(y.numel(), 1), seed=seed).reshape(y.shape)
    y.backward(dy)
    for k, v in inputs.items():
        out[f"{prefix}.{k}"] = v
        out[f"{prefix}.d{k}"] = leaves[k].grad
    out[f"{prefix}.y"] = y.detach()
    out[f"{prefix}.dy"] = dy
