"""Fixture for concat, slice and reshape (tests/test_ops_shape.c)."""
import torch
from fixture import op_case, rand, save

torch.manual_seed(0)
out = {}

# concat of 3 tensors along axis 0, 1 and the last
CONCATS = [
    ("cat0", 0, [(1, 3, 4), (2, 3, 4), (3, 3, 4)]),
    ("cat1", 1, [(2, 1, 4), (2, 2, 4), (2, 3, 4)]),
    ("cat2", 2, [(2, 3, 1), (2, 3, 2), (2, 3, 3)]),
    ("catm1", -1, [(4, 2), (4, 5), (4, 1)]),
]
seed = 10
for name, axis, shapes in CONCATS:
    inputs = {k: rand(*s, seed=seed + i) for i, (k, s) in enumerate(zip("abc", shapes))}
    op_case(out, name, lambda a, b, c, axis=axis: torch.cat([a, b, c], dim=axis), inputs, seed=seed + 5)
    seed += 10

# slices: (name, shape, axis, start, len)
SLICES = [
    ("slice0", (3, 4, 5), 0, 1, 2),
    ("slice1", (3, 4, 5), 1, 0, 4),
    ("slice2", (3, 4, 5), 2, 2, 3),
    ("slicem1", (2, 3, 2, 6), -1, 5, 1),
    ("slice1d", (9,), 0, 3, 4),
]
for name, shape, axis, start, ln in SLICES:
    op_case(out, name, lambda x, axis=axis, start=start, ln=ln: x.narrow(axis, start, ln),
            {"x": rand(*shape, seed=seed)}, seed=seed + 1)
    seed += 10

# reshapes: (name, shape, new shape)
RESHAPES = [
    ("reshape_flat", (2, 3, 4), (24,)),
    ("reshape_2d", (2, 3, 4), (4, 6)),
    ("reshape_4d", (6, 4), (2, 3, 2, 2)),
]
for name, shape, new in RESHAPES:
    op_case(out, name, lambda x, new=new: x.reshape(new), {"x": rand(*shape, seed=seed)}, seed=seed + 1)
    seed += 10
save("ops_shape.safetensors", out, "tests/parity/gen_ops_shape.py")
