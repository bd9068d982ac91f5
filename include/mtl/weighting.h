/* Task weighting and gradient combination: how the K per-task losses (or the K per-task
 * gradients) become the one gradient the optimizer steps along. One interface, one file
 * per strategy in src/weighting/, a registry by name. (../shared/specs/weighting.md)
 *
 * Every step the trainer
 *   1. asks weights(): lambda_k, the factor of task k's loss in the backward (loss-only
 *      strategies are done here: the backward is of sum_k lambda_k L_k);
 *   2. for a strategy with MTL_WEIGHTING_GRADS: runs one backward per task (on the same
 *      tape, no second forward) so that row k of G [K x D] is the gradient of lambda_k L_k
 *      with respect to the shared parameters (or, with rep_grad, the shared representation),
 *      while the task-specific parameters accumulate their own tasks' gradients untouched;
 *      combine() turns G into the one shared gradient d [D];
 *   3. steps the optimizer; a strategy with MTL_WEIGHTING_LOSSES_AFTER then gets the losses
 *      of the same batch after the step (after()).
 * The per-task scale that is logged (alpha) is lambda for loss-only strategies and, for
 * gradient strategies, the weights of the rows in d (d = sum_k alpha_k g_k) where the method
 * has them, else the least-squares scale d . g_k / ||g_k||^2. */
#ifndef MTL_WEIGHTING_H
#define MTL_WEIGHTING_H

#include "mtl/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { MTL_MGDA_NONE = 0, MTL_MGDA_L2, MTL_MGDA_LOSS, MTL_MGDA_LOSS_PLUS } mtl_mgda_norm;
typedef enum { MTL_IMTL_LG = 0, MTL_IMTL_G, MTL_IMTL_L } mtl_imtl_mode;

/* every strategy's hyper-parameters; mtl_weighting_defaults() gives the papers' values */
typedef struct {
    double temperature;     /* dwa: T (2) */
    double uw_init;         /* uw: initial log variance s_k (0; MTAN uses -0.5) */
    double lr;              /* uw, imtl (its loss scales), gradnorm: learning rate of the strategy's own
                               parameters, stepped with Adam (betas 0.9, 0.999) (1e-3; the trainer passes its
                               optimizer's) */
    double famo_beta;       /* famo: learning rate of the logits xi (0.025) */
    double famo_gamma;      /* famo: decay of the logits (0.001) */
    double gradnorm_alpha;  /* gradnorm: asymmetry alpha (1.5) */
    mtl_mgda_norm mgda_norm; /* mgda: gradient normalisation (none) */
    double cagrad_c;        /* cagrad: c in [0, 1) (0.5) */
    bool cagrad_rescale;    /* cagrad: divide d by 1 + c^2 (true) */
    double gradvac_beta;    /* gradvac: EMA rate of the cosine targets (0.5) */
    int nash_iters;         /* nash: convex sub-problems per step (20) */
    double nash_max_norm;   /* nash: clip ||d|| to this (1.0; 0: no clip) */
    mtl_imtl_mode imtl_mode; /* imtl: lg (loss scales + gradient weights, the full method), g or l (lg) */
    bool aligned_weighted;  /* aligned: d = sum of the rows of B G weighted by the loss weights
                               (lambda, 1 here) instead of their plain sum (false) */
    uint64_t seed;          /* random strategies (rlw, pcgrad's order, graddrop) */
} mtl_weighting_config;
mtl_weighting_config mtl_weighting_defaults(void);

/* what a strategy sees at a step */
typedef struct {
    int K;
    int epoch;              /* 0-based epoch */
    int64_t step;           /* steps taken before this one, over the whole run */
    const float *losses;    /* [K] this step's unweighted task losses (all > 0 for the cross-entropies
                               trained here; strategies that divide by them check) */
    const double *history;  /* [epoch][K]: the mean unweighted training loss of each earlier epoch */
    const float *lambda;    /* combine only: [K] the loss weights weights() gave this step */
    int64_t last_begin, last_end; /* combine only: the columns of G of the last shared layer (gradnorm) */
    mtl_rng *rng;           /* the strategy's own random stream */
} mtl_weighting_ctx;

#define MTL_WEIGHTING_GRADS 1u        /* needs the K x D per-task gradients (combine) */
#define MTL_WEIGHTING_LOSSES_AFTER 2u /* wants the batch's losses after the step (after) */
#define MTL_WEIGHTING_REP 4u          /* supports the gradient of the shared representation (rep_grad) */

typedef struct {
    const char *name;
    const char *description;
    size_t state_size; /* zeroed state given to every hook */
    unsigned flags;    /* MTL_WEIGHTING_* */
    /* optional: set up the state (called once, after the state is zeroed) */
    mtl_status (*init)(void *state, const mtl_weighting_config *c, int K);
    /* optional: free what init allocated inside the state */
    void (*destroy)(void *state);
    /* lambda [K] for this step (required) */
    mtl_status (*weights)(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *lambda);
    /* MTL_WEIGHTING_GRADS: G [K x D] row-major (may be overwritten as scratch) -> d [D] and the per-task
       scale alpha [K] (see the top of this file) */
    mtl_status (*combine)(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *G, int64_t D,
                          float *d, float *alpha);
    /* MTL_WEIGHTING_LOSSES_AFTER: this step's batch's losses [K] after the optimizer step */
    mtl_status (*after)(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, const float *losses_after);
} mtl_weighting_kind;

/* the registered strategies, terminated by an entry with name NULL */
const mtl_weighting_kind *mtl_weighting_kinds(void);
/* the kind called name, or NULL with an error listing the known names */
const mtl_weighting_kind *mtl_weighting_kind_find(const char *name);

typedef struct mtl_weighting mtl_weighting;
/* checks c's values (an error names the bad field) and n_tasks (1..MTL_MAX_TASKS) */
mtl_status mtl_weighting_create(const char *name, int n_tasks, const mtl_weighting_config *c, mtl_weighting **out);
void mtl_weighting_free(mtl_weighting *w);
const char *mtl_weighting_name(const mtl_weighting *w);
unsigned mtl_weighting_flags(const mtl_weighting *w);

/* lambda [K] for a step of `epoch` with these losses [K] and the loss history [epoch][K] */
mtl_status mtl_weighting_weights(mtl_weighting *w, int epoch, const double *history, const float *losses,
                                 float *lambda);
/* gradient strategies: G [K x D] (rows of lambda_k L_k; overwritten) -> d [D], alpha [K]; the
   columns [last_begin, last_end) are the last shared layer (0, 0: all of them) */
mtl_status mtl_weighting_combine(mtl_weighting *w, float *G, int64_t D, int64_t last_begin, int64_t last_end,
                                 float *d, float *alpha);
/* MTL_WEIGHTING_LOSSES_AFTER strategies: the same batch's losses after the step */
mtl_status mtl_weighting_after(mtl_weighting *w, const float *losses_after);

/* ---- small solvers the strategies share (src/weighting/solvers.c) ---------------------
 * M is a K x K symmetric matrix, row-major, in double; K <= MTL_MAX_TASKS is small. */
/* min over the simplex of x^T M x (M = G G^T: the min-norm point of the rows' convex hull):
   closed form for K = 2, else Frank-Wolfe with exact line search from the best pair; x [K] */
void mtl_solve_min_norm(const double *M, int K, double *x);
/* eigen-decomposition M = V diag(e) V^T (cyclic Jacobi): e [K] ascending, V [K x K] with
   eigenvector i in column i */
void mtl_solve_sym_eigen(const double *M, int K, double *e, double *V);
/* solves A x = b (K x K, partial pivoting); MTL_ERR_NUMERIC if singular */
mtl_status mtl_solve_linear(const double *A, const double *b, int K, double *x);

#ifdef __cplusplus
}
#endif
#endif
