#!/usr/bin/python3
"""mtl's hot ops against PyTorch on identical work.

Runs the C benchmark (bench_ops --json) at each thread count, rebuilds every case it
reports in PyTorch (same shapes, same parameters requiring gradients, same input
requiring a gradient or not) and times it the same way: warm-up, then R iterations
of the forward and R of forward+backward (y.backward(dy) with a fixed dy), one clock
reading per iteration, median. Parameter and input gradients are zeroed before each
forward+backward iteration, outside the timed region. T threads means
torch.set_num_threads(T) and, since torch's GEMMs go through OpenBLAS's own thread
pool, openblas_set_num_threads(T) too (mtl runs OpenBLAS on one thread per worker).

    /usr/bin/python3 bench/bench_ops.py [BINARY] [--threads 1,2] [--repeat R] [--json-out FILE]

ratio = torch time / mtl time: > 1 means mtl is faster.
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

# the same calibration as bench_ops.c
TARGET_SECONDS = 0.3
WARMUP_SECONDS = 0.05
WARMUP_MIN = 3
REPEAT_MIN = 5
REPEAT_MAX = 20000

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_openblas():
    """The OpenBLAS that torch loaded (torch's CPU GEMMs go through it), or None.
    torch.set_num_threads does not limit OpenBLAS's own thread pool, so set_threads
    sets both: "T threads" then means T threads for torch as it does for mtl."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "libopenblas" in os.path.basename(path):
                lib = ctypes.CDLL(path)
                return lib if hasattr(lib, "openblas_set_num_threads") else None
    return None


def set_threads(threads, openblas):
    torch.set_num_threads(threads)
    if openblas is not None:
        openblas.openblas_set_num_threads(threads)


def run_mtl(binary, threads, repeat):
    cmd = [binary, "--json", "--threads", str(threads)]
    if repeat:
        cmd += ["--repeat", str(repeat)]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out)


class TorchCase:
    """The work of one case of bench_ops, in PyTorch."""

    def __init__(self, case):
        gen = torch.Generator().manual_seed(1234)
        n, cin, cout = case["n"], case["in"], case["out"]
        self.conv = case["op"] == "conv1d"
        if self.conv:
            k, self.pad, length = case["k"], case["pad"], case["len"]
            x_shape, w_shape = (n, cin, length), (cout, cin, k)
            y_shape = (n, cout, length + 2 * self.pad - k + 1)
            fan_in = cin * k
        else:
            x_shape, w_shape, y_shape = (n, cin), (cout, cin), (n, cout)
            fan_in = cin
        bound = 1.0 / math.sqrt(fan_in)
        self.x = torch.randn(x_shape, generator=gen).requires_grad_(case["x_grad"])
        self.w = ((torch.rand(w_shape, generator=gen) * 2 - 1) * bound).requires_grad_()
        self.b = ((torch.rand(cout, generator=gen) * 2 - 1) * bound).requires_grad_()
        self.dy = torch.randn(y_shape, generator=gen)
        self.grads = [t for t in (self.x, self.w, self.b) if t.requires_grad]

    def forward(self):
        if self.conv:
            return F.conv1d(self.x, self.w, self.b, stride=1, padding=self.pad)
        return F.linear(self.x, self.w, self.b)

    def step(self, backward):
        """one iteration; returns its wall time in seconds"""
        if backward:
            for t in self.grads:  # zero_grad(set_to_none=False), untimed
                if t.grad is not None:
                    t.grad.zero_()
        t0 = time.perf_counter()
        y = self.forward()
        if backward:
            y.backward(self.dy)
        return time.perf_counter() - t0


def time_torch(case, repeat):
    c = TorchCase(case)
    start, pair, i = time.perf_counter(), math.inf, 0
    while i < WARMUP_MIN or time.perf_counter() - start < WARMUP_SECONDS:
        pair = min(pair, c.step(False) + c.step(True))
        i += 1
    if not repeat:
        repeat = max(REPEAT_MIN, min(REPEAT_MAX, int(TARGET_SECONDS / pair)))
    fwd = statistics.median(c.step(False) for _ in range(repeat))
    fwdbwd = statistics.median(c.step(True) for _ in range(repeat))
    return 1e3 * fwd, 1e3 * fwdbwd, repeat


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", nargs="?", default=os.path.join(REPO_ROOT, "build", "bench_ops"),
                    help="the bench_ops executable (default: build/bench_ops in the repository)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--repeat", type=int, default=0,
                    help="timed iterations per case for both (default: about %.1f s per case)" % TARGET_SECONDS)
    ap.add_argument("--json-out", metavar="FILE", help="write all numbers as JSON to FILE")
    args = ap.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]

    openblas = find_openblas()
    rows = []
    for threads in thread_counts:
        set_threads(threads, openblas)
        for case in run_mtl(args.binary, threads, args.repeat):
            t_fwd, t_fwdbwd, t_repeat = time_torch(case, args.repeat)
            rows.append({
                "case": "%s %s" % (case["op"], case["shape"]),
                "op": case["op"], "shape": case["shape"], "threads": threads,
                "x_grad": case["x_grad"],
                "mtl_fwd_ms": case["fwd_ms"], "torch_fwd_ms": t_fwd,
                "fwd_ratio": t_fwd / case["fwd_ms"],
                "mtl_fwdbwd_ms": case["fwdbwd_ms"], "torch_fwdbwd_ms": t_fwdbwd,
                "fwdbwd_ratio": t_fwdbwd / case["fwdbwd_ms"],
                "mtl_repeat": case["repeat"], "torch_repeat": t_repeat,
            })

    header = ("case", "thr", "mtl fwd", "torch fwd", "ratio", "mtl f+b", "torch f+b", "ratio")
    fmt = "%-32s %3s %9s %9s %6s %9s %9s %6s"
    print("times in ms (median); ratio = torch / mtl, > 1 means mtl is faster; torch %s%s"
          % (torch.__version__, ", its OpenBLAS limited to the same threads" if openblas else ""))
    print(fmt % header)
    print("-" * 90)
    summary = {}
    for threads in thread_counts:
        mine = [r for r in rows if r["threads"] == threads]
        for r in mine:
            print(fmt % (r["case"], threads, "%.3f" % r["mtl_fwd_ms"], "%.3f" % r["torch_fwd_ms"],
                         "%.2f" % r["fwd_ratio"], "%.3f" % r["mtl_fwdbwd_ms"], "%.3f" % r["torch_fwdbwd_ms"],
                         "%.2f" % r["fwdbwd_ratio"]))
        g_fwd = geomean([r["fwd_ratio"] for r in mine])
        g_fb = geomean([r["fwdbwd_ratio"] for r in mine])
        summary[str(threads)] = {"fwd_ratio_geomean": g_fwd, "fwdbwd_ratio_geomean": g_fb}
        print(fmt % ("geometric mean", threads, "", "", "%.2f" % g_fwd, "", "", "%.2f" % g_fb))
        print("-" * 90)

    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"torch_version": torch.__version__, "binary": os.path.abspath(args.binary),
                       "openblas_threads_set": openblas is not None,
                       "cases": rows, "geomean": summary}, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
