/* SGD, Adam and AdamW over the parameter block, with torch.optim's update formulas
 * (PyTorch 1.13, single-tensor "for-loop" implementations). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/blas.h"
#include "mtl/optim.h"

struct mtl_optimizer {
    mtl_params *P;
    mtl_opt_config cfg;
    int64_t steps;
    float *m, *v, *vmax; /* SGD: m is the momentum buffer; Adam: moments (+ max for amsgrad) */
};

mtl_opt_config mtl_opt_defaults(mtl_opt_kind kind) {
    mtl_opt_config c = {.kind = kind, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    if (kind == MTL_OPT_SGD) c.lr = 1e-2f;
    if (kind == MTL_OPT_ADAMW) c.weight_decay = 1e-2f;
    return c;
}

static mtl_status check_config(const mtl_opt_config *c) {
    if (!(c->lr >= 0) || !isfinite(c->lr)) return mtl_error(MTL_ERR_ARG, "optimizer: lr %g must be a finite number >= 0", (double)c->lr);
    if (!(c->weight_decay >= 0)) return mtl_error(MTL_ERR_ARG, "optimizer: weight decay %g must be >= 0", (double)c->weight_decay);
    if (c->kind == MTL_OPT_SGD) {
        if (!(c->momentum >= 0)) return mtl_error(MTL_ERR_ARG, "optimizer: momentum %g must be >= 0", (double)c->momentum);
        if (c->nesterov && (c->momentum <= 0 || c->dampening != 0))
            return mtl_error(MTL_ERR_ARG, "optimizer: Nesterov momentum requires a momentum > 0 and zero dampening");
    } else if (c->kind == MTL_OPT_ADAM || c->kind == MTL_OPT_ADAMW) {
        if (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1))
            return mtl_error(MTL_ERR_ARG, "optimizer: betas (%g, %g) must be in [0, 1)", (double)c->beta1, (double)c->beta2);
        if (!(c->eps >= 0)) return mtl_error(MTL_ERR_ARG, "optimizer: eps %g must be >= 0", (double)c->eps);
    } else {
        return mtl_error(MTL_ERR_ARG, "optimizer: unknown kind %d", (int)c->kind);
    }
    return MTL_OK;
}

mtl_status mtl_optimizer_create(mtl_optimizer **out, mtl_params *P, mtl_opt_config cfg) {
    if (!out || !P) return mtl_error(MTL_ERR_ARG, "optimizer_create: null argument");
    *out = NULL;
    if (!mtl_params_finalized(P)) return mtl_error(MTL_ERR_STATE, "optimizer_create: parameters not finalized");
    mtl_status s = check_config(&cfg);
    if (s) return s;
    mtl_optimizer *o = calloc(1, sizeof *o);
    if (!o) return mtl_error(MTL_ERR_NOMEM, "optimizer_create: out of memory");
    size_t n = (size_t)mtl_params_size(P) + 1;
    o->P = P;
    o->cfg = cfg;
    o->m = calloc(n, sizeof(float));
    if (cfg.kind != MTL_OPT_SGD) o->v = calloc(n, sizeof(float));
    if (cfg.amsgrad) o->vmax = calloc(n, sizeof(float));
    if (!o->m || (cfg.kind != MTL_OPT_SGD && !o->v) || (cfg.amsgrad && !o->vmax)) {
        mtl_optimizer_free(o);
        return mtl_error(MTL_ERR_NOMEM, "optimizer_create: out of memory for the optimizer state");
    }
    *out = o;
    return MTL_OK;
}

void mtl_optimizer_free(mtl_optimizer *o) {
    if (!o) return;
    free(o->m);
    free(o->v);
    free(o->vmax);
    free(o);
}

void mtl_optimizer_set_lr(mtl_optimizer *o, float lr) {
    if (o) o->cfg.lr = lr;
}
float mtl_optimizer_lr(const mtl_optimizer *o) { return o ? o->cfg.lr : 0.0f; }
int64_t mtl_optimizer_steps(const mtl_optimizer *o) { return o ? o->steps : 0; }

static void sgd_step(mtl_optimizer *o, float *p, const float *g, int64_t n) {
    const mtl_opt_config *c = &o->cfg;
    float *buf = o->m;
    bool first = o->steps == 1;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(8.0 * n))
    for (int64_t i = 0; i < n; i++) {
        float d = g[i];
        if (c->weight_decay != 0) d += c->weight_decay * p[i];
        if (c->momentum != 0) {
            buf[i] = first ? d : c->momentum * buf[i] + (1.0f - c->dampening) * d;
            d = c->nesterov ? d + c->momentum * buf[i] : buf[i];
        }
        p[i] -= c->lr * d;
    }
}

/* elements [i0, i1) of Adam's update; an AVX-512 clone is chosen when the library loads
 * (element-wise, so every clone gives the same bits) */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target_clones("avx512f", "default")))
#endif
static void adam_range(float *p, const float *g, float *m, float *v, float *vmax, int64_t i0, int64_t i1, float b1,
                       float b2, float lr, float wd, float eps, bool decoupled, float step_size, float bc2_sqrt) {
    for (int64_t i = i0; i < i1; i++) {
        float d = g[i];
        if (decoupled) p[i] *= 1.0f - lr * wd;
        else if (wd != 0) d += wd * p[i];
        m[i] = m[i] * b1 + (1.0f - b1) * d;
        v[i] = v[i] * b2 + (1.0f - b2) * d * d;
        float vv = v[i];
        if (vmax) vv = vmax[i] = vmax[i] > vv ? vmax[i] : vv;
        float denom = sqrtf(vv) / bc2_sqrt + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

static void adam_step(mtl_optimizer *o, float *p, const float *g, int64_t n) {
    const mtl_opt_config *c = &o->cfg;
    float b1 = c->beta1, b2 = c->beta2, lr = c->lr, wd = c->weight_decay, eps = c->eps;
    bool decoupled = c->kind == MTL_OPT_ADAMW;
    /* bias corrections in double, as torch computes them in Python */
    double bc1 = 1.0 - pow((double)b1, (double)o->steps);
    double bc2 = 1.0 - pow((double)b2, (double)o->steps);
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    int nt = mtl_threads_for(16.0 * n);
#pragma omp parallel num_threads(nt)
    {
        int th = omp_get_thread_num(), k = omp_get_num_threads();
        adam_range(p, g, o->m, o->v, o->vmax, n * th / k, n * (th + 1) / k, b1, b2, lr, wd, eps, decoupled, step_size,
                   bc2_sqrt);
    }
}

mtl_status mtl_optimizer_step(mtl_optimizer *o) {
    if (!o) return mtl_error(MTL_ERR_ARG, "optimizer_step: optimizer is NULL");
    int64_t n = mtl_params_size(o->P);
    o->steps++;
    if (o->cfg.kind == MTL_OPT_SGD) sgd_step(o, mtl_params_data(o->P), mtl_params_grad(o->P), n);
    else adam_step(o, mtl_params_data(o->P), mtl_params_grad(o->P), n);
    return MTL_OK;
}
