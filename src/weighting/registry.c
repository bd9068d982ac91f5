/* Weighting registry: create a strategy by name; the checks every strategy shares (its
 * settings, finite weights and gradients). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "weighting/strategies.h"

static const mtl_weighting_kind *const kinds[] = {
    &mtl_weighting_ew,     &mtl_weighting_dwa,    &mtl_weighting_uw,       &mtl_weighting_rlw,
    &mtl_weighting_gls,    &mtl_weighting_famo,   &mtl_weighting_gradnorm, &mtl_weighting_mgda,
    &mtl_weighting_pcgrad, &mtl_weighting_graddrop, &mtl_weighting_cagrad, &mtl_weighting_imtl,
    &mtl_weighting_gradvac, &mtl_weighting_nash,  &mtl_weighting_aligned};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static mtl_weighting_kind table[N_KINDS + 1];

const mtl_weighting_kind *mtl_weighting_kinds(void) {
    for (size_t i = 0; i < N_KINDS; i++) table[i] = *kinds[i];
    return table;
}

const mtl_weighting_kind *mtl_weighting_kind_find(const char *name) {
    for (size_t i = 0; name && i < N_KINDS; i++)
        if (strcmp(kinds[i]->name, name) == 0) return kinds[i];
    char list[512] = "";
    for (size_t i = 0; i < N_KINDS; i++) {
        strncat(list, kinds[i]->name, sizeof list - strlen(list) - 3);
        if (i + 1 < N_KINDS) strcat(list, ", ");
    }
    mtl_error(MTL_ERR_ARG, "unknown weighting '%s' (expected one of: %s)", name ? name : "(null)", list);
    return NULL;
}

struct mtl_weighting {
    const mtl_weighting_kind *kind;
    mtl_weighting_config cfg;
    int K, epoch;
    int64_t step;
    const double *history;
    float losses[MTL_MAX_TASKS], lambda[MTL_MAX_TASKS];
    mtl_rng rng;
    void *state;
};

mtl_weighting_config mtl_weighting_defaults(void) {
    return (mtl_weighting_config){.temperature = 2.0,
                                  .uw_init = 0.0,
                                  .lr = 1e-3,
                                  .famo_beta = 0.025,
                                  .famo_gamma = 0.001,
                                  .gradnorm_alpha = 1.5,
                                  .mgda_norm = MTL_MGDA_NONE,
                                  .cagrad_c = 0.5,
                                  .cagrad_rescale = true,
                                  .gradvac_beta = 0.5,
                                  .nash_iters = 20,
                                  .nash_max_norm = 1.0,
                                  .imtl_mode = MTL_IMTL_LG,
                                  .aligned_weighted = false,
                                  .seed = 1};
}

static mtl_status check_config(const char *name, const mtl_weighting_config *c) {
#define POS(f) \
    if (!(c->f > 0) || !isfinite(c->f)) return mtl_error(MTL_ERR_ARG, "weighting %s: " #f " %g must be positive", name, (double)c->f)
#define NONNEG(f) \
    if (!(c->f >= 0) || !isfinite(c->f)) return mtl_error(MTL_ERR_ARG, "weighting %s: " #f " %g must be >= 0", name, (double)c->f)
    POS(temperature);
    POS(lr);
    POS(famo_beta);
    NONNEG(famo_gamma);
    NONNEG(gradnorm_alpha);
    NONNEG(gradvac_beta);
    NONNEG(nash_max_norm);
#undef POS
#undef NONNEG
    if (!isfinite(c->uw_init)) return mtl_error(MTL_ERR_ARG, "weighting %s: uw_init %g must be finite", name, c->uw_init);
    if (!(c->cagrad_c >= 0 && c->cagrad_c < 1))
        return mtl_error(MTL_ERR_ARG, "weighting %s: cagrad_c %g must be in [0, 1)", name, c->cagrad_c);
    if (c->gradvac_beta > 1) return mtl_error(MTL_ERR_ARG, "weighting %s: gradvac_beta %g must be in [0, 1]", name, c->gradvac_beta);
    if (c->nash_iters < 1 || c->nash_iters > 1000)
        return mtl_error(MTL_ERR_ARG, "weighting %s: nash_iters %d must be in 1..1000", name, c->nash_iters);
    if ((unsigned)c->mgda_norm > MTL_MGDA_LOSS_PLUS)
        return mtl_error(MTL_ERR_ARG, "weighting %s: unknown mgda normalisation %d", name, (int)c->mgda_norm);
    if ((unsigned)c->imtl_mode > MTL_IMTL_L) return mtl_error(MTL_ERR_ARG, "weighting %s: unknown imtl mode %d", name, (int)c->imtl_mode);
    return MTL_OK;
}

mtl_status mtl_weighting_create(const char *name, int n_tasks, const mtl_weighting_config *c, mtl_weighting **out) {
    if (!name || !out) return mtl_error(MTL_ERR_ARG, "weighting_create: null argument");
    *out = NULL;
    const mtl_weighting_kind *k = mtl_weighting_kind_find(name);
    if (!k) return MTL_ERR_ARG;
    if (n_tasks < 1 || n_tasks > MTL_MAX_TASKS)
        return mtl_error(MTL_ERR_ARG, "weighting %s: %d tasks (expected 1..%d)", name, n_tasks, MTL_MAX_TASKS);
    mtl_weighting_config cfg = c ? *c : mtl_weighting_defaults();
    mtl_status s = check_config(name, &cfg);
    if (s) return s;
    mtl_weighting *w = calloc(1, sizeof *w);
    if (!w || (k->state_size && !(w->state = calloc(1, k->state_size)))) {
        free(w);
        return mtl_error(MTL_ERR_NOMEM, "weighting %s: out of memory", name);
    }
    w->kind = k, w->cfg = cfg, w->K = n_tasks;
    mtl_rng_init(&w->rng, cfg.seed, 0x3e1947u);
    if (k->init && (s = k->init(w->state, &w->cfg, n_tasks))) {
        free(w->state);
        free(w);
        return s;
    }
    *out = w;
    return MTL_OK;
}

void mtl_weighting_free(mtl_weighting *w) {
    if (!w) return;
    if (w->kind->destroy) w->kind->destroy(w->state);
    free(w->state);
    free(w);
}

const char *mtl_weighting_name(const mtl_weighting *w) { return w ? w->kind->name : ""; }
unsigned mtl_weighting_flags(const mtl_weighting *w) { return w ? w->kind->flags : 0; }

static mtl_status check_finite(const mtl_weighting *w, const float *v, int n, const char *what) {
    for (int k = 0; k < n; k++)
        if (!isfinite(v[k]))
            return mtl_error(MTL_ERR_NUMERIC, "weighting %s: %s %d became %g", w->kind->name, what, k, (double)v[k]);
    return MTL_OK;
}

static mtl_weighting_ctx context(mtl_weighting *w) {
    return (mtl_weighting_ctx){.K = w->K,
                               .epoch = w->epoch,
                               .step = w->step,
                               .losses = w->losses,
                               .history = w->history,
                               .lambda = w->lambda,
                               .rng = &w->rng};
}

mtl_status mtl_weighting_weights(mtl_weighting *w, int epoch, const double *history, const float *losses,
                                 float *lambda) {
    if (!w || !losses || !lambda || epoch < 0 || (epoch > 0 && !history))
        return mtl_error(MTL_ERR_ARG, "weighting_weights: null argument or negative epoch");
    for (int i = 0; i < epoch * w->K; i++)
        if (!isfinite(history[i]))
            return mtl_error(MTL_ERR_NUMERIC, "weighting %s: loss history entry %d is %g", w->kind->name, i, history[i]);
    mtl_status s = check_finite(w, losses, w->K, "the loss of task");
    if (s) return s;
    if (w->step > 0 && epoch < w->epoch)
        return mtl_error(MTL_ERR_ARG, "weighting %s: epoch went back from %d to %d", w->kind->name, w->epoch, epoch);
    w->epoch = epoch, w->history = history;
    memcpy(w->losses, losses, (size_t)w->K * sizeof(float));
    mtl_weighting_ctx x = context(w);
    if ((s = w->kind->weights(w->state, &w->cfg, &x, lambda)) || (s = check_finite(w, lambda, w->K, "the weight of task")))
        return s;
    memcpy(w->lambda, lambda, (size_t)w->K * sizeof(float));
    w->step++;
    return MTL_OK;
}

mtl_status mtl_weighting_combine(mtl_weighting *w, float *G, int64_t D, int64_t last_begin, int64_t last_end,
                                 float *d, float *alpha) {
    if (!w || !G || !d || !alpha || D < 1) return mtl_error(MTL_ERR_ARG, "weighting_combine: null argument or D < 1");
    if (!(w->kind->flags & MTL_WEIGHTING_GRADS) || !w->kind->combine)
        return mtl_error(MTL_ERR_STATE, "weighting %s does not combine gradients", w->kind->name);
    if (w->step == 0) return mtl_error(MTL_ERR_STATE, "weighting %s: combine before weights", w->kind->name);
    if (last_begin == 0 && last_end == 0) last_end = D;
    if (last_begin < 0 || last_end > D || last_begin >= last_end)
        return mtl_error(MTL_ERR_ARG, "weighting %s: last-layer columns [%lld, %lld) outside [0, %lld)", w->kind->name,
                         (long long)last_begin, (long long)last_end, (long long)D);
    for (int64_t i = 0; i < (int64_t)w->K * D; i++)
        if (!isfinite(G[i]))
            return mtl_error(MTL_ERR_NUMERIC, "weighting %s: task %lld's gradient has a non-finite value (%g)",
                             w->kind->name, (long long)(i / D), (double)G[i]);
    mtl_weighting_ctx x = context(w);
    x.step = w->step - 1;
    x.last_begin = last_begin, x.last_end = last_end;
    mtl_status s = w->kind->combine(w->state, &w->cfg, &x, G, D, d, alpha);
    if (!s) s = check_finite(w, alpha, w->K, "the scale of task");
    for (int64_t i = 0; i < D && !s; i++)
        if (!isfinite(d[i]))
            s = mtl_error(MTL_ERR_NUMERIC, "weighting %s: the combined gradient has a non-finite value at %lld",
                          w->kind->name, (long long)i);
    return s;
}

mtl_status mtl_weighting_after(mtl_weighting *w, const float *losses_after) {
    if (!w || !losses_after) return mtl_error(MTL_ERR_ARG, "weighting_after: null argument");
    if (!(w->kind->flags & MTL_WEIGHTING_LOSSES_AFTER) || !w->kind->after) return MTL_OK;
    mtl_status s = check_finite(w, losses_after, w->K, "the loss after the step of task");
    if (s) return s;
    mtl_weighting_ctx x = context(w);
    x.step = w->step - 1;
    return w->kind->after(w->state, &w->cfg, &x, losses_after);
}
