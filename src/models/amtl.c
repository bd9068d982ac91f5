/* Tabular AMTL and Co-AMTL (specs/tabular.md). PyTorch reference with the same parameter
 * names: tests/parity/amtl_ref.py. d = units, E = experts, K = tasks.
 *
 *   shared:  x = inp(rows) [N, D]; x_d = proj(x) (Linear(D, d), no activation) if D != d, else x
 *            e_i = ReLU(experts(x_d))_i + x_d          (ONE Linear(d, E*d) viewed [N, E, d]; residual)
 *   task k:  t_k = ReLU(task_reps.k(x_d))
 *            s_k = softmax_i(e_i . t_k)                 (/ sqrt(d) with scaled_attention; the Co-AMTL
 *                                                        code does not scale)
 *            h_k = t_k + sum_i s_k,i e_i
 *   coamtl:  m_k = ReLU(co.k(h_k)); h_k' = h_k + sum_{j != k} (h_j . m_k) h_j, every update from the
 *            pre-update h (raw per-example scores: no softmax, no norm; / sqrt(d) with
 *            scaled_attention); for K = 2 the spec's formulas
 *   towers.k read h_k (amtl) or h_k' (coamtl).
 *
 * Taps: attention[k][0] = s_k [N, E]; coamtl: attention[k][1] = the co-attention scores
 * [N, K-1] (the tasks j != k in order); features[k] = the tower input.
 * Initialisation: PyTorch defaults (Linear weight and bias U(+-1/sqrt(fan_in)), Embedding
 * N(0, 1)). Owners: inp, proj, experts shared; task_reps.k, co.k, towers.k task k. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "models/models.h"
#include "models/tabular.h"
#include "mtl/ops.h"

typedef struct {
    mtl__tab_input inp;
    bool has_proj, co, scaled;
    mtl_nn_linear proj, experts;
    mtl_nn_linear rep[MTL_MAX_TASKS], coat[MTL_MAX_TASKS];
    mtl__mlp towers[MTL_MAX_TASKS];
} amtl;

/* h_k' = h_k + sum_{j != k} (h_j . m_k) h_j for every k, from the h given; *scores gets [N, K-1] */
static void co_attention(mtl_tape *t, const amtl *net, int K, int N, int d, mtl_tensor **h, mtl_tensor **out,
                         mtl_tensor **scores) {
    mtl_tensor *rows[MTL_MAX_TASKS]; /* h_j as [N, 1, d], to stack the other tasks along dim 1 */
    for (int j = 0; j < K; j++) rows[j] = mtl_reshape(t, h[j], MTL_SHAPE(N, 1, d));
    for (int k = 0; k < K; k++) {
        mtl_tensor *m = mtl_nn_linear_relu_forward(t, &net->coat[k], h[k]);
        mtl_tensor *others[MTL_MAX_TASKS];
        int n = 0;
        for (int j = 0; j < K; j++)
            if (j != k) others[n++] = rows[j];
        mtl_tensor *H = n == 1 ? others[0] : mtl_concat(t, n, others, 1); /* [N, K-1, d] */
        scores[k] = mtl_rowdot(t, H, m);
        if (net->scaled) scores[k] = mtl_affine(t, scores[k], 1.0f / sqrtf((float)d), 0.0f);
        out[k] = mtl_mix_add(t, h[k], scores[k], H);
    }
}

static mtl_tensor *amtl_forward(mtl_model *m, mtl_tape *t, mtl_tensor *x, mtl_tensor **logits) {
    const amtl *net = m->impl;
    const mtl_tab_model_config *c = &m->cfg.tab;
    int K = m->cfg.n_tasks, E = c->experts, d = c->units;
    /* the projection of the input block goes through mtl__tab_linear: with per-field
     * embeddings the [N, D] block is usually never built */
    mtl__tab_rows rows;
    if (!mtl__tab_rows_read(t, &net->inp, x, &rows)) return NULL;
    mtl_tensor *xd = net->has_proj ? mtl__tab_linear(t, &rows, &net->proj) : mtl__tab_rows_block(t, &rows);
    if (!xd) return NULL;
    int N = xd->shape[0];
    mtl_tensor *e = mtl__experts_forward(t, &net->experts, xd, E);
    e = mtl_add(t, e, mtl_reshape(t, xd, MTL_SHAPE(N, 1, d))); /* [N, E, d] */
    mtl_tensor *h[MTL_MAX_TASKS];
    for (int k = 0; k < K; k++) {
        mtl_tensor *tk = mtl_nn_linear_relu_forward(t, &net->rep[k], xd);
        mtl_tensor *s = mtl_rowdot(t, e, tk);
        if (c->scaled_attention) s = mtl_affine(t, s, 1.0f / sqrtf((float)d), 0.0f);
        s = mtl_softmax(t, s, -1);
        m->taps.attention[k][0] = s;
        h[k] = mtl_mix_add(t, tk, s, e);
    }
    m->taps.n_stages = 1;
    if (net->co) {
        mtl_tensor *h2[MTL_MAX_TASKS], *scores[MTL_MAX_TASKS];
        co_attention(t, net, K, N, d, h, h2, scores);
        for (int k = 0; k < K; k++) h[k] = h2[k], m->taps.attention[k][1] = scores[k];
        m->taps.n_stages = 2;
    }
    for (int k = 0; k < K; k++) {
        m->taps.features[k] = h[k];
        logits[k] = mtl__mlp_forward(t, &net->towers[k], h[k]);
    }
    return logits[0];
}

static void amtl_destroy(mtl_model *m) {
    amtl *net = m->impl;
    if (net) mtl__tab_input_free(&net->inp);
    free(net);
    m->impl = NULL;
}

static mtl_status create(const char *kind, bool co, mtl_model *m) {
    mtl_status s = mtl__tab_resolve(kind, m);
    if (s) return s;
    const mtl_model_config *cfg = &m->cfg;
    const mtl_tab_model_config *c = &cfg->tab;
    int K = cfg->n_tasks, d = c->units;
    if (co && K < 2)
        return mtl_error(MTL_ERR_ARG, "model %s: %d task (co-attention needs at least 2 tasks)", kind, K);
    amtl *net = calloc(1, sizeof *net);
    if (!net) return mtl_error(MTL_ERR_NOMEM, "model %s: out of memory", kind);
    m->impl = net;
    m->forward = amtl_forward;
    m->destroy = amtl_destroy;
    net->co = co;
    net->scaled = m->cfg.tab.scaled_attention;
    mtl_params *P = m->params;
    s = mtl__tab_input_init(&net->inp, P, "inp", MTL_OWNER_SHARED, c);
    if (s) return s;
    net->has_proj = net->inp.dim != d;
    if (net->has_proj) s = mtl_nn_linear_init(&net->proj, P, "proj", MTL_OWNER_SHARED, net->inp.dim, d, true);
    if (!s) s = mtl__experts_init(&net->experts, P, "experts", MTL_OWNER_SHARED, c->experts, d, d);
    char name[MTL_NAME_MAX];
    for (int k = 0; k < K && !s; k++) {
        snprintf(name, sizeof name, "task_reps.%d", k);
        s = mtl_nn_linear_init(&net->rep[k], P, name, k, d, d, true);
        snprintf(name, sizeof name, "co.%d", k);
        if (!s && co) s = mtl_nn_linear_init(&net->coat[k], P, name, k, d, d, true);
    }
    if (!s) s = mtl__towers_init(net->towers, P, cfg, d);
    return s;
}

mtl_status mtl_amtl_create(const mtl_model_config *cfg, mtl_model *m) {
    (void)cfg; /* m->cfg is a copy of it; mtl__tab_resolve fills its defaults there */
    return create("amtl", false, m);
}

mtl_status mtl_coamtl_create(const mtl_model_config *cfg, mtl_model *m) {
    (void)cfg;
    return create("coamtl", true, m);
}
