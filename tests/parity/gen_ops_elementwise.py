"""Fixture for add, mul (broadcasting), affine, scale_channels, mean and sum
(tests/test_ops_elementwise.c)."""
import torch
import fixture
from fixture import op_case, save

_rand = fixture.rand


def rand(*shape, seed, lo=-1.0, hi=1.0):
    """fixture.rand that also makes 0-d tensors (rand() with no size)."""
    if not shape:
        return _rand(1, seed=seed, lo=lo, hi=hi).reshape(())
    return _rand(*shape, seed=seed, lo=lo, hi=hi)


fixture.rand = rand  # op_case draws dy with it: the 0-d outputs of mean/sum of a 1-d tensor
torch.manual_seed(0)
out = {}


def scalar(seed):
    return rand(seed=seed)


# add / mul: (name, shape of a, shape of b); None is a 0-d tensor
PATTERNS = [
    ("same", (3, 4, 5), (3, 4, 5)),
    ("chan", (2, 3, 6), (1, 3, 1)),     # bias over channels of [N, C, L]
    ("chan2", (2, 3, 6), (3, 1)),       # the same with b [C, 1]
    ("row", (4, 5), (5,)),              # bias over the last dim
    ("last", (2, 3, 4), (2, 3, 1)),     # b broadcast over the last dim
    ("front", (4,), (2, 3, 4)),         # a broadcast over the leading dims
    ("both", (2, 1, 4), (1, 3, 1)),     # both broadcast
    ("scalar", None, (3, 4)),           # 0-d + tensor
    ("d4", (2, 3, 2, 3), (3, 1, 3)),
]
seed = 100
for name, sa, sb in PATTERNS:
    a = scalar(seed) if sa is None else rand(*sa, seed=seed)
    b = scalar(seed + 1) if sb is None else rand(*sb, seed=seed + 1)
    op_case(out, f"add_{name}", lambda a, b: a + b, {"a": a, "b": b}, seed=seed + 2)
    op_case(out, f"mul_{name}", lambda a, b: a * b, {"a": a, "b": b}, seed=seed + 3)
    seed += 10

# affine(x, 1.5, -0.25), and 1 + sigmoid-like use affine(x, 1, 1)
op_case(out, "affine", lambda x: 1.5 * x - 0.25, {"x": rand(3, 7, seed=200)}, seed=201)
op_case(out, "affine_shift", lambda x: x + 1.0, {"x": rand(2, 3, 4, seed=202)}, seed=203)

# scale_channels x[N,C,L] * s[N,C]
op_case(out, "scale_channels", lambda x, s: x * s.unsqueeze(-1),
        {"x": rand(3, 4, 9, seed=210), "s": rand(3, 4, seed=211)}, seed=212)
op_case(out, "scale_channels_long", lambda x, s: x * s.unsqueeze(-1),
        {"x": rand(2, 3, 37, seed=213), "s": rand(2, 3, seed=214, lo=0, hi=1)}, seed=215)

# mean / sum over each axis of a [2,3,4] tensor, with and without keepdim
seed = 300
for red in ("mean", "sum"):
    fn = torch.mean if red == "mean" else torch.sum
    for axis in (0, 1, 2, -1):
        for keep in (0, 1):
            op_case(out, f"{red}_a{axis}_k{keep}", lambda x, axis=axis, keep=keep: fn(x, dim=axis, keepdim=bool(keep)),
                    {"x": rand(2, 3, 4, seed=seed)}, seed=seed + 1)
            seed += 2
    op_case(out, f"{red}_1d", lambda x: fn(x, dim=0), {"x": rand(7, seed=seed)}, seed=seed + 1)
    op_case(out, f"{red}_gap", lambda x: fn(x, dim=-1), {"x": rand(2, 5, 33, seed=seed + 2)}, seed=seed + 3)
    seed += 4
save("ops_elementwise.safetensors", out, "tests/parity/gen_ops_elementwise.py")
