#!/usr/bin/python3
"""MTAGN training step and single-window inference: mtl against the PyTorch reference.

Identical work on both sides: MTAGN with two tasks of 4 classes (tests/parity/reference.py
class MTAGN, src/models/mtagn.c), random [B, 1, 2048] windows and fixed labels;

  training step: zero_grad, forward (training mode), CE(task 1) + CE(task 2), backward,
                 Adam (lr 1e-3) step, at batch B (default 50);
  inference:     one window, evaluation mode, no gradients (torch.no_grad / a
                 non-recording tape).

Each is warmed up and then timed R times (one clock reading per iteration), median in ms,
at each thread count. T threads means mtl --threads T, and for PyTorch
torch.set_num_threads(T) plus openblas_set_num_threads(T) (torch's GEMMs use OpenBLAS's own
pool, which set_num_threads does not limit). mtl is timed through `mtl bench --json` (which
also reports every step's time and the peak memory after an evaluation pass).

    /usr/bin/python3 bench/bench_mtagn.py [--mtl build/mtl] [--threads 1,2] [--batch-size 50] [--repeat 20]
                                          [--infer-repeat 200] [--mtl-before OTHER/mtl] [--json-out FILE]

ratio = torch time / mtl time (> 1: mtl is faster); "2 vs 1" = time at 1 thread / time at 2.
--mtl-before times a second mtl command (an older build) in the same run, interleaved with the
first per thread count, and adds its columns: a before/after comparison under the same load.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "parity"))
sys.path.insert(0, os.path.join(REPO_ROOT, "bench"))
from reference import MTAGN  # noqa: E402
from bench_ops import find_openblas, set_threads  # noqa: E402

LENGTH = 2048
CLASSES = (4, 4)
WARMUP = 3


def run_mtl(args, threads, binary=None):
    cmd = [binary or args.mtl, "bench", "--model", "mtagn", "--json", "--threads", str(threads),
           "--batch-size", str(args.batch_size), "--repeat", str(args.repeat),
           "--infer-repeat", str(args.infer_repeat)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def time_torch(threads, batch, repeat, infer_repeat):
    set_threads(threads, find_openblas())
    torch.manual_seed(0)
    model = MTAGN(CLASSES)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 1, LENGTH)
    y = [torch.tensor([(i * 7 + k * 3) % c for i in range(batch)]) for k, c in enumerate(CLASSES)]

    def train_step():
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits[0], y[0]) + F.cross_entropy(logits[1], y[1])
        loss.backward()
        opt.step()

    model.train()
    steps = []
    for i in range(WARMUP + repeat):
        t0 = time.perf_counter()
        train_step()
        if i >= WARMUP:
            steps.append(1e3 * (time.perf_counter() - t0))

    model.eval()
    x1 = x[:1].clone()
    infer = []
    with torch.no_grad():
        for i in range(WARMUP + infer_repeat):
            t0 = time.perf_counter()
            model(x1)
            if i >= WARMUP:
                infer.append(1e3 * (time.perf_counter() - t0))
    return {"train_step_ms_median": statistics.median(steps), "infer_batch1_ms_median": statistics.median(infer),
            "train_step_ms_all": steps}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mtl", default=os.path.join(REPO_ROOT, "build", "mtl"), help="the mtl command")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--batch-size", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=20, help="timed training steps per side and thread count")
    ap.add_argument("--infer-repeat", type=int, default=200, help="timed single-window inferences")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds per thread count, each timing mtl then PyTorch; medians over the rounds")
    ap.add_argument("--mtl-before", help="a second mtl command (e.g. an older build) timed in the same run")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]

    # Rounds: each times mtl (and --mtl-before) and then PyTorch at every thread count, so that a
    # change in the machine's load during the run falls on both sides alike; the tables give the
    # median over the rounds of each side's median, and the ratio is the median of the rounds'
    # ratios. mtl's first run at every thread count comes before any PyTorch work: a child
    # started after torch has grown this process may report this process's size as its own peak
    # RSS (getrusage keeps the maximum across exec), so the peak memory is taken from those runs.
    rounds = max(1, args.rounds)
    runs = {t: {"mtl": [], "torch": [], "mtl_before": []} for t in threads}
    for rnd in range(rounds):
        for t in threads:
            if args.mtl_before:
                runs[t]["mtl_before"].append(run_mtl(args, t, args.mtl_before))
            runs[t]["mtl"].append(run_mtl(args, t))
        for t in threads:
            runs[t]["torch"].append(time_torch(t, args.batch_size, args.repeat, args.infer_repeat))
        print(f"# round {rnd + 1} of {rounds} done", file=sys.stderr)

    keys = ("train_step_ms_median", "infer_batch1_ms_median")

    def combine(side_runs):
        out = dict(side_runs[0])  # peak memory and per-step times of the first run
        for key in keys:
            out[key] = statistics.median(r[key] for r in side_runs)
            out[key.replace("_median", "_rounds")] = [r[key] for r in side_runs]
        return out

    rows = []
    for t in threads:
        r = {"threads": t, "mtl": combine(runs[t]["mtl"]), "torch": combine(runs[t]["torch"])}
        if runs[t]["mtl_before"]:
            r["mtl_before"] = combine(runs[t]["mtl_before"])
        r["ratio"] = {key: statistics.median(b[key] / a[key] for a, b in zip(runs[t]["mtl"], runs[t]["torch"]))
                      for key in keys}
        rows.append(r)

    print(f"# MTAGN (2 tasks, 4+4 classes), windows of {LENGTH}; torch {torch.__version__}; medians in ms "
          f"over {rounds} round(s); ratio: the median of the rounds' ratios")
    print(f"{'case':<28} {'thr':>3} {'mtl':>10} {'torch':>10} {'ratio':>7}   ratio per round")
    for r in rows:
        t = r["threads"]
        for key, name in (("train_step_ms_median", f"train step (batch {args.batch_size})"),
                          ("infer_batch1_ms_median", "inference (batch 1)")):
            a, b = r["mtl"][key], r["torch"][key]
            per = [y[key] / x[key] for x, y in zip(runs[t]["mtl"], runs[t]["torch"])]
            line = f"{name:<28} {t:>3} {a:>10.3f} {b:>10.3f} {r['ratio'][key]:>7.2f}   " + " ".join(
                f"{q:.2f}" for q in per)
            if "mtl_before" in r:
                c = r["mtl_before"][key]
                line += f"   before {c:>9.3f} {b / c:>7.2f}"
            print(line)
    by_t = {r["threads"]: r for r in rows}
    summary = {}
    if 1 in by_t and 2 in by_t:
        for side in ("mtl", "torch") + (("mtl_before",) if "mtl_before" in by_t[1] else ()):
            s = by_t[1][side]["train_step_ms_median"] / by_t[2][side]["train_step_ms_median"]
            summary[f"{side}_train_speedup_2_vs_1"] = s
            print(f"{side} training step, 2 threads vs 1: {s:.2f}x")
    for r in rows:
        if "peak_rss_mb" in r["mtl"]:
            print(f"mtl peak RSS at {r['threads']} thread(s): {r['mtl']['peak_rss_mb']:.1f} MB")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"batch_size": args.batch_size, "length": LENGTH, "rows": rows, "summary": summary}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
