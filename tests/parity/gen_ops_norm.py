"""Fixture for batchnorm (tests/test_ops_norm.c): training and evaluation, with and
without affine, [N,C] and [N,C,L]. Besides op_case's output and gradients, each case
stores the running statistics before (<p>.running_mean, <p>.running_var) and after
the call (<p>.running_mean_after, <p>.running_var_after) and its <p>.momentum and
<p>.eps. Dropout has no parity fixture: its mask is mtl's own random stream."""
import torch
import torch.nn.functional as F
from fixture import op_case, rand, save

torch.manual_seed(0)
out = {}


def bn_case(prefix, shape, affine, training, momentum, eps, seed):
    C = shape[1]
    x = rand(*shape, seed=seed, lo=-1.5, hi=2.5)  # non-zero mean per channel
    rm = rand(C, seed=seed + 1, lo=-0.5, hi=0.5)
    rv = rand(C, seed=seed + 2, lo=0.5, hi=1.5)
    rm_after, rv_after = rm.clone(), rv.clone()
    inputs = {"x": x}
    if affine:
        inputs["gamma"] = rand(C, seed=seed + 3, lo=0.5, hi=1.5)
        inputs["beta"] = rand(C, seed=seed + 4)

    def fn(x, gamma=None, beta=None):
        return F.batch_norm(x, rm_after, rv_after, gamma, beta, training=training, momentum=momentum, eps=eps)

    op_case(out, prefix, fn, inputs, seed=seed + 5)
    out[f"{prefix}.running_mean"] = rm
    out[f"{prefix}.running_var"] = rv
    out[f"{prefix}.running_mean_after"] = rm_after
    out[f"{prefix}.running_var_after"] = rv_after
    out[f"{prefix}.momentum"] = torch.tensor([momentum], dtype=torch.float32)
    out[f"{prefix}.eps"] = torch.tensor([eps], dtype=torch.float32)


bn_case("bn_train", (4, 3, 5), True, True, 0.1, 1e-5, 10)
bn_case("bn_train2d", (6, 4), True, True, 0.3, 1e-5, 20)
bn_case("bn_train_noaffine", (5, 3, 4), False, True, 0.1, 1e-3, 30)
bn_case("bn_train_n2", (2, 3), True, True, 1.0, 1e-5, 40)  # smallest batch; momentum 1
bn_case("bn_train_wide", (3, 2, 37), True, True, 0.1, 1e-5, 70)  # L >= 16: one channel per block
bn_case("bn_train_many", (5, 40), True, True, 0.1, 1e-5, 80)      # [N,C] with C over one block of 32
bn_case("bn_eval", (4, 3, 5), True, False, 0.1, 1e-5, 50)
bn_case("bn_eval_wide", (3, 2, 37), False, False, 0.1, 1e-5, 90)
bn_case("bn_eval2d_noaffine", (6, 4), False, False, 0.1, 1e-5, 60)
save("ops_norm.safetensors", out, "tests/parity/gen_ops_norm.py")
