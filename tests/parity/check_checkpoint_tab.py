"""Loads an mtl checkpoint of a tabular model into the PyTorch reference module
(tabular_ref.build) and compares evaluation-mode logits (used by
tests/test_torch_checkpoint_tab.c).

usage: check_checkpoint_tab.py KIND CHECKPOINT IO_FILE --classes C0 C1 ... [sizes]
sizes (mtl_tab_model_config, as resolved by mtl): --vocab V0,V1,... (one entry per id field,
also when hashed; "none" for no id fields) --n-cont N --hash-buckets H --emb-dim D --units U
--experts E --shared-experts S --task-experts T --levels L --tower W0,W1,... (or "none")
[--scaled-attention]

CHECKPOINT: mtl_params_save output. IO_FILE: safetensors with the input "x" [N, 1, F] and
mtl's logits "logits0", "logits1", ... Builds the module, load_state_dict(strict=True),
eval(), and exits 1 if any logit differs by more than 1e-4 (2 on a usage or loading error)."""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_checkpoint import read_safetensors  # noqa: E402
from tabular_ref import Cfg, build  # noqa: E402

TOLERANCE = 1e-4


def int_list(text):
    return [] if text in ("", "none") else [int(v) for v in text.split(",")]


def parse(argv):
    p = argparse.ArgumentParser(usage=__doc__)
    p.add_argument("kind")
    p.add_argument("checkpoint")
    p.add_argument("io_file")
    p.add_argument("--classes", type=int, nargs="+", required=True)
    p.add_argument("--vocab", type=int_list, default=[])
    p.add_argument("--tower", type=int_list, default=None)
    p.add_argument("--scaled-attention", action="store_true")
    for name in ("n-cont", "hash-buckets", "emb-dim", "units", "experts", "shared-experts", "task-experts",
                 "levels"):
        p.add_argument("--" + name, type=int, default=0)
    return p.parse_args(argv)


def main(argv):
    try:
        a = parse(argv)
    except SystemExit:
        return 2
    cfg = Cfg(a.kind, vocab=a.vocab, n_cont=a.n_cont, hash_buckets=a.hash_buckets, emb_dim=a.emb_dim,
              units=a.units, experts=a.experts, shared_experts=a.shared_experts, task_experts=a.task_experts,
              levels=a.levels, tower=a.tower, scaled_attention=a.scaled_attention)
    what = f"{a.kind} (tasks {a.classes}{', hashed' if a.hash_buckets else ''})"
    io = read_safetensors(a.io_file)
    try:
        net = build(a.kind, a.classes, cfg)
        net.load_state_dict(read_safetensors(a.checkpoint), strict=True)
    except (RuntimeError, ValueError, ImportError) as e:
        print(f"{what}: the checkpoint does not load into the reference module: {e}", file=sys.stderr)
        return 2
    net.eval()
    with torch.no_grad():
        logits = net(io["x"])
    worst, scale = 0.0, 0.0
    for k, lg in enumerate(logits):
        want = io[f"logits{k}"]
        if tuple(want.shape) != tuple(lg.shape):
            print(f"{what}: task {k}: mtl logits {tuple(want.shape)}, PyTorch {tuple(lg.shape)}", file=sys.stderr)
            return 1
        scale = max(scale, lg.abs().max().item())
        worst = max(worst, (lg - want).abs().max().item())
    print(f"{what}: {len(logits)} tasks, {sum(p.numel() for p in net.parameters())} parameters, max |logit "
          f"difference| {worst:.3g} (tolerance {TOLERANCE:g}; max |logit| {scale:.3g})")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
