"""Fixture for conv1d and maxpool1d (tests/test_ops_conv.c)."""
import torch
import torch.nn.functional as F
from fixture import op_case, rand, save

torch.manual_seed(0)
out = {}

# conv1d cases: (name, N, Cin, Cout, L, K, stride, pad, bias); the C test uses the
# same names, strides and pads (CONV_CASES in tests/test_ops_conv.c).
CONV = [
    ("conv_k1", 2, 4, 5, 12, 1, 1, 0, True),
    ("conv_k3p1", 3, 3, 4, 20, 3, 1, 1, True),
    ("conv_k5s2p2", 2, 4, 3, 25, 5, 2, 2, True),
    ("conv_k7p3_cin1", 3, 1, 6, 40, 7, 1, 3, True),
    ("conv_nobias", 2, 3, 4, 16, 3, 1, 0, False),
    ("conv_bigpad", 2, 2, 3, 10, 3, 1, 4, True),
    ("conv_k1s2", 2, 3, 2, 15, 1, 2, 0, True),
    ("conv_k4s3", 2, 2, 3, 23, 4, 3, 0, True),
    ("conv_k12s2p5", 2, 2, 4, 36, 12, 2, 5, True),
    ("conv_k16s4p6", 2, 1, 3, 40, 16, 4, 6, True),
]
seed = 100
for name, N, Cin, Cout, L, K, s, p, bias in CONV:
    inputs = {"x": rand(N, Cin, L, seed=seed), "w": rand(Cout, Cin, K, seed=seed + 1)}
    if bias:
        inputs["b"] = rand(Cout, seed=seed + 2)
        fn = (lambda s, p: lambda x, w, b: F.conv1d(x, w, b, stride=s, padding=p))(s, p)
    else:
        fn = (lambda s, p: lambda x, w: F.conv1d(x, w, None, stride=s, padding=p))(s, p)
    op_case(out, name, fn, inputs, seed=seed + 3)
    seed += 10

# x doubles as the weight ([N, Cin, L] read as [Cout, Cin, K]): its two gradients add
op_case(out, "conv_self", lambda x: F.conv1d(x, x), {"x": rand(3, 2, 5, seed=seed)}, seed=seed + 1)
seed += 10

# maxpool1d cases: (name, N, C, L, kernel, stride)
POOL = [
    ("pool_k4s4", 2, 3, 17, 4, 4),
    ("pool_k2s2", 3, 2, 11, 2, 2),
    ("pool_k3s2", 2, 4, 21, 3, 2),
    ("pool_k5s1", 2, 2, 12, 5, 1),
]
for name, N, C, L, k, s in POOL:
    fn = (lambda k, s: lambda x: F.max_pool1d(x, k, s))(k, s)
    op_case(out, name, fn, {"x": rand(N, C, L, seed=seed)}, seed=seed + 1)
    seed += 10

# ties: values on a coarse grid so windows hold equal maxima; PyTorch sends the
# gradient to the first of them.
x = torch.round(rand(2, 3, 24, seed=seed) * 2) / 2
op_case(out, "pool_ties_k3s2", lambda x: F.max_pool1d(x, 3, 2), {"x": x}, seed=seed + 1)
op_case(out, "pool_ties_k4s4", lambda x: F.max_pool1d(x, 4, 4), {"x": x}, seed=seed + 2)

save("ops_conv.safetensors", out, "tests/parity/gen_ops_conv.py")
