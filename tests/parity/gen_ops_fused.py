"""Fixture for the fused ops (tests/test_ops_fused.c): batchnorm_relu =
relu(batch_norm(...)), training and evaluation, with and without affine, [N,C] and
[N,C,L] (narrow L < 16 and wide L >= 16 layouts); conv1d_bn_relu =
relu(batch_norm(conv1d(...))) at lengths that take the direct kernels. Each case stores
op_case's output and gradients plus the running statistics before and after and the
momentum and eps, as gen_ops_norm.py does."""
import torch
import torch.nn.functional as F
from fixture import op_case, rand, save

torch.manual_seed(0)
out = {}


def bnr_case(prefix, shape, affine, training, momentum, eps, seed):
    C = shape[1]
    x = rand(*shape, seed=seed, lo=-1.5, hi=2.5)
    rm = rand(C, seed=seed + 1, lo=-0.5, hi=0.5)
    rv = rand(C, seed=seed + 2, lo=0.5, hi=1.5)
    rm_after, rv_after = rm.clone(), rv.clone()
    inputs = {"x": x}
    if affine:
        inputs["gamma"] = rand(C, seed=seed + 3, lo=0.5, hi=1.5)
        inputs["beta"] = rand(C, seed=seed + 4)

    def fn(x, gamma=None, beta=None):
        return F.relu(F.batch_norm(x, rm_after, rv_after, gamma, beta, training=training, momentum=momentum,
                                   eps=eps))

    op_case(out, prefix, fn, inputs, seed=seed + 5)
    out[f"{prefix}.running_mean"] = rm
    out[f"{prefix}.running_var"] = rv
    out[f"{prefix}.running_mean_after"] = rm_after
    out[f"{prefix}.running_var_after"] = rv_after
    out[f"{prefix}.momentum"] = torch.tensor([momentum], dtype=torch.float32)
    out[f"{prefix}.eps"] = torch.tensor([eps], dtype=torch.float32)


bnr_case("bnr_train_wide", (4, 3, 40), True, True, 0.1, 1e-5, 10)
bnr_case("bnr_train_narrow", (5, 3, 4), True, True, 0.1, 1e-5, 20)
bnr_case("bnr_train_2d_noaffine", (6, 5), False, True, 0.3, 1e-3, 30)
bnr_case("bnr_eval_wide", (3, 2, 37), True, False, 0.1, 1e-5, 40)
bnr_case("bnr_eval_narrow_noaffine", (4, 3, 5), False, False, 0.1, 1e-5, 50)


def cbr_case(prefix, n, cin, cout, length, k, pad, training, seed):
    x = rand(n, cin, length, seed=seed, lo=-1.0, hi=1.5)
    rm = rand(cout, seed=seed + 1, lo=-0.5, hi=0.5)
    rv = rand(cout, seed=seed + 2, lo=0.5, hi=1.5)
    rm_after, rv_after = rm.clone(), rv.clone()
    bound = 1.0 / (cin * k) ** 0.5
    inputs = {"x": x, "w": rand(cout, cin, k, seed=seed + 3, lo=-bound, hi=bound),
              "b": rand(cout, seed=seed + 4, lo=-bound, hi=bound),
              "gamma": rand(cout, seed=seed + 5, lo=0.5, hi=1.5), "beta": rand(cout, seed=seed + 6)}

    def fn(x, w, b, gamma, beta):
        z = F.conv1d(x, w, b, stride=1, padding=pad)
        return F.relu(F.batch_norm(z, rm_after, rv_after, gamma, beta, training=training, momentum=0.1, eps=1e-5))

    op_case(out, prefix, fn, inputs, seed=seed + 7)
    out[f"{prefix}.running_mean"] = rm
    out[f"{prefix}.running_var"] = rv
    out[f"{prefix}.running_mean_after"] = rm_after
    out[f"{prefix}.running_var_after"] = rv_after
    out[f"{prefix}.pad"] = torch.tensor([pad], dtype=torch.int32)


cbr_case("cbr_train_k5", 3, 4, 6, 40, 5, 2, True, 60)
cbr_case("cbr_train_k1", 4, 5, 9, 33, 1, 0, True, 70)
cbr_case("cbr_train_k4_pad1", 2, 3, 5, 50, 4, 1, True, 80)
cbr_case("cbr_eval_k3", 3, 4, 6, 20, 3, 1, False, 90)
save("ops_fused.safetensors", out, "tests/parity/gen_ops_fused.py")
