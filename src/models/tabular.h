/* Pieces shared by the tabular models (src/models/tabular.c): the input block, MLPs,
 * task towers, the mixture of experts. PyTorch reference: tests/parity/tabular_ref.py,
 * with the same parameter names. */
#ifndef MTL_MODELS_TABULAR_H
#define MTL_MODELS_TABULAR_H
#include "mtl/model.h"

/* Input block "<prefix>": per-field embeddings "<prefix>.emb.<i>.weight" [vocab_i, emb_dim]
 * concatenated, then the n_cont continuous values: dim n_ids * emb_dim + n_cont. Hashed
 * (hash_buckets > 0): one table "<prefix>.emb.weight" [hash_buckets, emb_dim], the n_ids
 * rows summed, then the continuous values: dim emb_dim + n_cont. Embeddings N(0, 1). */
typedef struct {
    int n_ids, n_cont, n_tables, dim;
    bool hashed;
    mtl_nn_embedding *emb; /* [n_tables] */
} mtl__tab_input;
mtl_status mtl__tab_input_init(mtl__tab_input *in, mtl_params *P, const char *prefix, int owner,
                               const mtl_tab_model_config *c);
void mtl__tab_input_free(mtl__tab_input *in);
/* x [N, 1, n_ids + n_cont] (or [N, n_ids + n_cont]) -> [N, dim]; an id that is not an
 * integer in range fails on the tape with a message naming the row and field */
mtl_tensor *mtl__tab_input_forward(mtl_tape *t, const mtl__tab_input *in, mtl_tensor *x);

/* The input block's rows of one forward, parsed once (ids checked against their table):
 * consumers take the [N, dim] block (mtl__tab_rows_block, built on first use) or apply
 * a Linear to it with mtl__tab_linear, which for per-field embeddings usually never
 * builds it. */
typedef struct {
    const mtl__tab_input *in;
    mtl_tensor *x;  /* the rows as given, [N, 1, F] or [N, F] */
    int n;
    int32_t *ids;   /* [n, n_ids], tape memory */
    mtl_tensor *h;  /* the block [n, dim] once built */
} mtl__tab_rows;
/* false (with the tape's error: a wrong row width, an id that is not an integer in its
 * table's range, naming row and field) if the rows cannot be read */
bool mtl__tab_rows_read(mtl_tape *t, const mtl__tab_input *in, mtl_tensor *x, mtl__tab_rows *r);
mtl_tensor *mtl__tab_rows_block(mtl_tape *t, mtl__tab_rows *r);
/* lin(block) = block W^T + b. With per-field embeddings and when it costs less (the
 * tables are small next to the batch), computed without the block: each field's table is
 * projected through its slice of W (P_i = E_i W_i^T, [vocab_i, out]) and the rows of P_i
 * the ids pick are summed; backward scatters dY into dP_i, then dW_i = dP_i^T E_i and
 * dE_i = dP_i W_i. Same result as mtl_nn_linear_forward(mtl__tab_rows_block(...)) up to
 * rounding. */
mtl_tensor *mtl__tab_linear(mtl_tape *t, mtl__tab_rows *r, const mtl_nn_linear *lin);
/* for tests: -1 (default) chooses by cost, 0 never fuses, 1 always (per-field input) */
extern int mtl__tab_fuse_mode;

/* A stack of Linear layers "<prefix>.<j>" (PyTorch ModuleList), ReLU after each one
 * except, when last_linear, the last. */
typedef struct {
    int n;
    bool last_linear;
    mtl_nn_linear layer[MTL_MAX_TOWER + 2];
} mtl__mlp;
mtl_status mtl__mlp_init(mtl__mlp *m, mtl_params *P, const char *prefix, int owner, int in, int n,
                         const int *widths, bool last_linear);
mtl_tensor *mtl__mlp_forward(mtl_tape *t, const mtl__mlp *m, mtl_tensor *x);

/* Task k's tower "towers.<k>": the c->tower hidden layers (ReLU), then 1 logit for a
 * 2-class task or n_classes logits, owner k. */
mtl_status mtl__towers_init(mtl__mlp *towers, mtl_params *P, const mtl_model_config *cfg, int in);

/* n experts of one ReLU layer in -> units as ONE Linear "<prefix>" (in -> n * units, the
 * reference module does the same: nn.Linear(in, n * units) viewed as [N, n, units]):
 * returns relu(x W^T + b) as [N, n, units]. */
mtl_status mtl__experts_init(mtl_nn_linear *x, mtl_params *P, const char *prefix, int owner, int n, int in,
                             int units);
mtl_tensor *mtl__experts_forward(mtl_tape *t, const mtl_nn_linear *x, mtl_tensor *in, int n);
/* softmax gate (a Linear gate_in -> E, no bias) mixing stacked experts [N, E, U] -> [N, U];
 * *weights (may be NULL) gets the gate [N, E] */
mtl_tensor *mtl__gate_mix(mtl_tape *t, const mtl_nn_linear *gate, mtl_tensor *gate_in, mtl_tensor *experts,
                          mtl_tensor **weights);
/* the registry's default sizes (mtl_tab_model_defaults) filled into m->cfg.tab, checked */
mtl_status mtl__tab_resolve(const char *kind, mtl_model *m);
#endif
