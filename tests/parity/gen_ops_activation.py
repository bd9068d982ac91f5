"""Fixture for relu, sigmoid, tanh, softmax and log_softmax (tests/test_ops_activation.c)."""
import torch
from fixture import op_case, rand, save

torch.manual_seed(0)
out = {}

# relu: some exact zeros, where PyTorch's gradient is 0
x = rand(4, 3, 5, seed=1)
x.view(-1)[::7] = 0.0
op_case(out, "relu", lambda x: torch.relu(x), {"x": x}, seed=2)
# sigmoid / tanh: a wide range, with saturated values at both ends
x = rand(3, 17, seed=3, lo=-12.0, hi=12.0)
x[0, :4] = torch.tensor([-90.0, 90.0, -30.0, 30.0])
op_case(out, "sigmoid", lambda x: torch.sigmoid(x), {"x": x}, seed=4)
op_case(out, "tanh", lambda x: torch.tanh(x), {"x": x}, seed=5)

# softmax / log_softmax over each axis of a 3-d tensor (contiguous and strided rows)
x3 = rand(3, 4, 5, seed=6, lo=-3.0, hi=3.0)
for axis, tag in ((0, "0"), (1, "1"), (-1, "m1")):
    op_case(out, f"softmax_a{tag}", lambda x, a=axis: torch.softmax(x, a), {"x": x3}, seed=10 + axis)
    op_case(out, f"log_softmax_a{tag}", lambda x, a=axis: torch.log_softmax(x, a), {"x": x3}, seed=20 + axis)
# 1-d, 4-d, and more than 64 inner positions (two column blocks in the kernel)
op_case(out, "softmax_1d", lambda x: torch.softmax(x, 0), {"x": rand(9, seed=30, lo=-5.0, hi=5.0)}, seed=31)
op_case(out, "softmax_4d", lambda x: torch.softmax(x, 2), {"x": rand(2, 3, 4, 3, seed=32, lo=-3.0, hi=3.0)}, seed=33)
op_case(out, "log_softmax_wide", lambda x: torch.log_softmax(x, 1), {"x": rand(2, 3, 70, seed=34, lo=-3.0, hi=3.0)},
        seed=35)
# large logits: the max is subtracted, nothing overflows
xl = rand(4, 6, seed=36, lo=-1000.0, hi=1000.0)
op_case(out, "softmax_large", lambda x: torch.softmax(x, -1), {"x": xl}, seed=37)
op_case(out, "log_softmax_large", lambda x: torch.log_softmax(x, -1), {"x": xl}, seed=38)
save("ops_activation.safetensors", out, "tests/parity/gen_ops_activation.py")
