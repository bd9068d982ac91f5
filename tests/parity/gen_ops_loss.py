"""Fixture for cross_entropy, bce_with_logits, mse and l1 (tests/test_ops_loss.c).

Losses are 0-d, so the cases are written here rather than with fixture.op_case:
  <p>.logits, <p>.target (int64 class indices for CE, float32 for BCE), <p>.w (0-d, the
  backward seed), <p>.y (the loss), <p>.dlogits (w * d loss / d logits);
  mse/l1 cases follow op_case's names (<p>.a, <p>.b, <p>.y, <p>.dy, <p>.da, <p>.db)
  with a 0-d dy, so th_parity_case reads them."""
import torch
import torch.nn.functional as F
from fixture import rand, save

torch.manual_seed(0)
out = {}


def scalar(seed, lo=0.5, hi=1.5):
    return rand(1, seed=seed, lo=lo, hi=hi).reshape(())


def target_case(prefix, fn, logits, target, seed):
    x = logits.clone().requires_grad_(True)
    y = fn(x, target)
    w = scalar(seed)
    y.backward(w)
    out[f"{prefix}.logits"] = logits
    out[f"{prefix}.target"] = target
    out[f"{prefix}.w"] = w
    out[f"{prefix}.y"] = y.detach()
    out[f"{prefix}.dlogits"] = x.grad


def pair_case(prefix, fn, a, b, seed):
    la, lb = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    y = fn(la, lb)
    dy = scalar(seed)
    y.backward(dy)
    out.update({f"{prefix}.a": a, f"{prefix}.b": b, f"{prefix}.y": y.detach(), f"{prefix}.dy": dy,
                f"{prefix}.da": la.grad, f"{prefix}.db": lb.grad})


g = torch.Generator().manual_seed(7)
target_case("ce", F.cross_entropy, rand(8, 5, seed=1, lo=-3.0, hi=3.0),
            torch.randint(0, 5, (8,), generator=g, dtype=torch.int64), seed=2)
target_case("ce_wide", F.cross_entropy, rand(6, 37, seed=3, lo=-4.0, hi=4.0),
            torch.randint(0, 37, (6,), generator=g, dtype=torch.int64), seed=4)
target_case("ce_large", F.cross_entropy, rand(5, 4, seed=5, lo=-1000.0, hi=1000.0),
            torch.randint(0, 4, (5,), generator=g, dtype=torch.int64), seed=6)

t_bce = torch.cat([torch.tensor([0.0, 1.0, 0.0, 1.0, 0.25, 0.5]), rand(6, seed=8, lo=0.0, hi=1.0)])
target_case("bce", F.binary_cross_entropy_with_logits, rand(12, seed=9, lo=-5.0, hi=5.0), t_bce, seed=10)
target_case("bce_col", lambda x, t: F.binary_cross_entropy_with_logits(x, t.view(-1, 1)),
            rand(12, 1, seed=11, lo=-5.0, hi=5.0), t_bce, seed=12)
xb = rand(6, seed=13, lo=-1000.0, hi=1000.0)
target_case("bce_large", F.binary_cross_entropy_with_logits, xb, t_bce[:6].clone(), seed=14)

pair_case("mse", F.mse_loss, rand(4, 6, seed=20), rand(4, 6, seed=21), seed=22)
pair_case("mse_3d", F.mse_loss, rand(2, 3, 5, seed=23), rand(2, 3, 5, seed=24), seed=25)
pair_case("l1", F.l1_loss, rand(4, 6, seed=26), rand(4, 6, seed=27), seed=28)
pair_case("l1_3d", F.l1_loss, rand(2, 3, 5, seed=29), rand(2, 3, 5, seed=30), seed=31)
save("ops_loss.safetensors", out, "tests/parity/gen_ops_loss.py")
