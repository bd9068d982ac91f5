"""Fixture for embedding (tests/test_ops_embedding.c): lookups with repeated ids (their
gradients accumulate) and unused rows (zero gradient)."""
import torch
import torch.nn.functional as F
from fixture import op_case, rand, save

torch.manual_seed(0)
out = {}


def emb_case(prefix, V, D, ids, seed):
    ids = torch.tensor(ids, dtype=torch.int64)
    op_case(out, prefix, lambda table: F.embedding(ids, table), {"table": rand(V, D, seed=seed)}, seed=seed + 1)
    out[f"{prefix}.ids"] = ids


emb_case("emb", 7, 5, [3, 1, 3, 0, 6, 3], 1)             # id 3 three times; rows 2, 4, 5 unused
emb_case("emb_wide", 10, 40, [9, 0, 0, 4, 9, 2, 4, 4], 3)
emb_case("emb_one", 4, 3, [2], 5)
save("ops_embedding.safetensors", out, "tests/parity/gen_ops_embedding.py")
