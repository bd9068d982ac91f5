#!/usr/bin/python3
"""Reading and encoding census-income: libmtl (bench_tabular_read) against plain Python.

The Python side does the same work as mtl_tab_schema_census(1) + mtl_tab_fit(train) +
mtl_tab_encode_file(test) with the standard library only (gzip, str.split, dicts,
math.log1p, a z-score; no numpy or pandas): one vocabulary per nominal input in order of
first appearance with id 0 for unseen values, log1p on the money fields, training mean
and population std, the two group-1 labels. It then checks that both encodings agree:
identical id checksums and label counts, continuous sums within 1e-9 relative, and the
first 1000 test rows equal (ids exactly, values within 1e-4). The N rounds alternate one
mtl run (bench_tabular_read --repeat 1) and one Python run; each side's median is reported.

    /usr/bin/python3 bench/bench_tabular_read.py [--bin build/bench_tabular_read]
        [--data DIR] [--repeat N] [--json-out FILE]
"""
import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from array import array

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = 5.0

# (short name, kind, log1p): the README's table; 'I' = not an input (ignored or a label)
COLUMNS = [
    ("age", "C", 0), ("class_worker", "N", 0), ("det_ind_code", "N", 0), ("det_occ_code", "N", 0),
    ("education", "I", 0), ("wage_per_hour", "C", 1), ("hs_college", "N", 0), ("marital_stat", "I", 0),
    ("major_ind_code", "N", 0), ("major_occ_code", "N", 0), ("race", "N", 0), ("hisp_origin", "N", 0),
    ("sex", "N", 0), ("union_member", "N", 0), ("unemp_reason", "N", 0), ("full_or_part_emp", "N", 0),
    ("capital_gains", "C", 1), ("capital_losses", "C", 1), ("stock_dividends", "C", 1),
    ("tax_filer_stat", "N", 0), ("region_prev_res", "N", 0), ("state_prev_res", "N", 0),
    ("det_hh_fam_stat", "N", 0), ("det_hh_summ", "N", 0), ("instance_weight", "I", 0),
    ("mig_chg_msa", "N", 0), ("mig_chg_reg", "N", 0), ("mig_move_reg", "N", 0), ("mig_same", "N", 0),
    ("mig_prev_sunbelt", "N", 0), ("num_emp", "C", 0), ("fam_under_18", "N", 0), ("country_father", "N", 0),
    ("country_mother", "N", 0), ("country_self", "N", 0), ("citizenship", "N", 0), ("own_or_self", "N", 0),
    ("vet_question", "N", 0), ("vet_benefits", "N", 0), ("weeks_worked", "C", 0), ("year", "N", 0),
    ("income_50k", "I", 0),
]
ID_COLS = [i for i, c in enumerate(COLUMNS) if c[1] == "N"]
CONT_COLS = [i for i, c in enumerate(COLUMNS) if c[1] == "C"]
LOG1P = [COLUMNS[i][2] for i in CONT_COLS]
INCOME, MARITAL = 41, 7


def read_file(path, vocabs, fit):
    """rows of one file: flat ids, per-column continuous values (log1p'd), labels"""
    ids, raw = array("i"), [array("d") for _ in CONT_COLS]
    income, married = array("b"), array("b")
    with gzip.open(path, "rt", encoding="latin-1", newline="") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split(", ")
            if len(fields) != 42:
                raise SystemExit(f"{path}: {len(fields)} fields, expected 42")
            if fields[41].endswith("."):
                fields[41] = fields[41][:-1]
            for j, c in enumerate(ID_COLS):
                d, v = vocabs[j], fields[c]
                i = d.get(v)
                if i is None:
                    i = len(d) + 1 if fit else 0
                    if fit:
                        d[v] = i
                ids.append(i)
            for j, c in enumerate(CONT_COLS):
                x = float(fields[c])
                raw[j].append(math.log1p(x) if LOG1P[j] else x)
            income.append(fields[INCOME] == "50000+")
            married.append(fields[MARITAL] == "Never married")
    return ids, raw, income, married


def standardise(raw, stats):
    return [array("d", [(x - m) / s for x in col]) for col, (m, s) in zip(raw, stats)]


def fit_encode(train_path, test_path):
    vocabs = [dict() for _ in ID_COLS]
    tr = read_file(train_path, vocabs, True)
    stats = []
    for col in tr[1]:
        total = 0.0
        for x in col:
            total += x
        mean = total / len(col)
        ss = 0.0
        for x in col:
            ss += (x - mean) * (x - mean)
        std = math.sqrt(ss / len(col))
        stats.append((mean, std if std > 0 else 1.0))
    te = read_file(test_path, vocabs, False)
    return vocabs, (tr[0], standardise(tr[1], stats), tr[2], tr[3]), (te[0], standardise(te[1], stats), te[2], te[3])


def sums(enc):
    ids, cont, income, married = enc
    k = len(ID_COLS)
    n = len(ids) // k
    total = 0
    for r in range(n):
        w = r % 1000 + 1
        row = ids[r * k:(r + 1) * k]
        total += w * sum(v * (i + 1) for i, v in enumerate(row))
    f32 = [array("f", col) for col in cont]  # mtl stores float32
    s = sum(sum(col) for col in f32)
    sa = sum(sum(abs(x) for x in col) for col in f32)
    return {"rows": n, "checksum_ids": total, "sum_cont": s, "sum_abs_cont": sa,
            "positives": {"income": sum(income), "never_married": sum(married)}}


def compare(mtl, py_train, py_test, dump_path, test_enc):
    errors = []
    for tag, p in (("train", py_train), ("test", py_test)):
        for key in ("rows", "checksum_ids"):
            if mtl[f"{key}_{tag}"] != p[key]:
                errors.append(f"{key}_{tag}: mtl {mtl[f'{key}_{tag}']} python {p[key]}")
        if mtl[f"positives_{tag}"] != p["positives"]:
            errors.append(f"positives_{tag}: mtl {mtl[f'positives_{tag}']} python {p['positives']}")
        for key in ("sum_cont", "sum_abs_cont"):
            a, b = mtl[f"{key}_{tag}"], p[key]
            if abs(a - b) > 1e-9 * p["sum_abs_cont"] + 1e-6:
                errors.append(f"{key}_{tag}: mtl {a!r} python {b!r}")
    ids, cont = test_enc[0], test_enc[1]
    k = len(ID_COLS)
    with open(dump_path) as f:
        rows = [line.split() for line in f]
    worst = 0.0
    for r, row in enumerate(rows):
        want_ids = list(ids[r * k:(r + 1) * k])
        if [int(v) for v in row[:k]] != want_ids:
            errors.append(f"test row {r}: ids differ")
            break
        for j, v in enumerate(row[k:]):
            worst = max(worst, abs(float(v) - cont[j][r]))
    if len(rows) != min(1000, py_test["rows"]):
        errors.append(f"dump has {len(rows)} rows")
    if worst > 1e-4:
        errors.append(f"first 1000 test rows: continuous values differ by up to {worst:.3g}")
    return errors, worst


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if len(v) % 2 else 0.5 * (v[len(v) // 2 - 1] + v[len(v) // 2])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "bench_tabular_read"))
    ap.add_argument("--data", default=None, help="folder of census-income.data(.gz) and .test(.gz)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json-out", default=None)
    a = ap.parse_args()
    data = a.data or (os.path.join(os.environ["MTL_DATA"], "census-income") if os.environ.get("MTL_DATA")
                      else os.path.join(REPO, "..", "shared", "data", "census-income"))
    train = next((p for p in (os.path.join(data, "census-income.data.gz"), os.path.join(data, "census-income.data"))
                  if os.path.exists(p)), None)
    test = next((p for p in (os.path.join(data, "census-income.test.gz"), os.path.join(data, "census-income.test"))
                 if os.path.exists(p)), None)
    if not train or not test:
        raise SystemExit(f"census-income files not found in {data}")

    # Rounds alternate one mtl run and one Python run, so that a change in the machine's
    # load hits both sides alike; each side's median over the rounds is reported.
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "rows.txt")
        mtl_ms, times, mtl = [], [], None
        for i in range(a.repeat):
            cmd = [a.bin, "--data", data, "--repeat", "1"] + (["--dump", dump] if i == 0 else [])
            run = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            mtl = mtl or run
            mtl_ms.append(run["ms_median"])
            t0 = time.perf_counter()
            vocabs, tr, te = fit_encode(train, test)
            times.append(1e3 * (time.perf_counter() - t0))
        py_train, py_test = sums(tr), sums(te)
        errors, worst = compare(mtl, py_train, py_test, dump, te)
    mtl_med, py_ms = median(mtl_ms), median(times)
    vocab_py = [len(d) + 1 for d in vocabs]
    if vocab_py != mtl["vocab"]:
        errors.append(f"vocabulary sizes: mtl {mtl['vocab']} python {vocab_py}")

    ratio = py_ms / mtl_med
    print(f"census-income group 1: fit {mtl['rows_train']} training rows + encode {mtl['rows_test']} test rows "
          f"({mtl['n_ids']} ids + {mtl['n_cont']} continuous), median of {a.repeat}")
    print(f"{'':22}{'mtl ms':>10}{'Python ms':>12}{'ratio':>8}{'target':>8}")
    print(f"{'read + encode':22}{mtl_med:10.1f}{py_ms:12.1f}{ratio:8.1f}{TARGET:7.0f}x")
    print(f"encodings agree: {'yes' if not errors else 'NO'} (ids and labels exact, first 1000 test rows "
          f"within {worst:.2g})")
    for e in errors:
        print("  MISMATCH", e)
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"mtl": mtl, "mtl_ms_median": mtl_med, "mtl_ms_all": mtl_ms, "python_ms_median": py_ms,
                       "python_ms_all": times, "ratio": ratio, "target": TARGET, "agree": not errors,
                       "errors": errors}, f, indent=1)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
