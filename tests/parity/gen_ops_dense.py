"""Fixture for linear, matmul and bmm (tests/test_ops_dense.c)."""
import torch
import torch.nn.functional as F
from fixture import op_case, rand, save

torch.manual_seed(0)
out = {}
op_case(out, "linear", lambda x, w, b: F.linear(x, w, b),
        {"x": rand(6, 9, seed=1), "w": rand(5, 9, seed=2), "b": rand(5, seed=3)}, seed=4)
op_case(out, "matmul", lambda a, b: a @ b, {"a": rand(4, 7, seed=5), "b": rand(7, 3, seed=6)}, seed=7)
op_case(out, "bmm", lambda a, b: torch.bmm(a, b), {"a": rand(3, 4, 5, seed=8), "b": rand(3, 5, 2, seed=9)}, seed=10)
op_case(out, "bmm_tt", lambda a, b: torch.bmm(a.transpose(1, 2), b.transpose(1, 2)),
        {"a": rand(3, 5, 4, seed=11), "b": rand(3, 2, 5, seed=12)}, seed=13)
# attention scores: experts e[B,E,D] against a task vector t[B,1,D] -> [B,E,1]
op_case(out, "bmm_scores", lambda a, b: torch.bmm(a, b.transpose(1, 2)),
        {"a": rand(4, 3, 8, seed=14), "b": rand(4, 1, 8, seed=15)}, seed=16)
save("ops_dense.safetensors", out, "tests/parity/gen_ops_dense.py")
