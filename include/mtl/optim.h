/* Optimizers over a parameter block, with PyTorch's exact update formulas, and
 * learning-rate schedules. */
#ifndef MTL_OPTIM_H
#define MTL_OPTIM_H

#include "mtl/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { MTL_OPT_SGD, MTL_OPT_ADAM, MTL_OPT_ADAMW } mtl_opt_kind;

typedef struct {
    mtl_opt_kind kind;
    float lr;
    float weight_decay; /* SGD/Adam: L2 added to the gradient; AdamW: decoupled */
    /* SGD */
    float momentum, dampening;
    bool nesterov;
    /* Adam / AdamW */
    float beta1, beta2, eps;
    bool amsgrad;
} mtl_opt_config;

/* PyTorch's defaults: SGD(lr) momentum 0; Adam lr 1e-3, betas (0.9, 0.999), eps 1e-8, wd 0;
 * AdamW the same with weight decay 1e-2. */
mtl_opt_config mtl_opt_defaults(mtl_opt_kind kind);

typedef struct mtl_optimizer mtl_optimizer;
mtl_status mtl_optimizer_create(mtl_optimizer **out, mtl_params *P, mtl_opt_config cfg);
void mtl_optimizer_free(mtl_optimizer *o);
/* one update of every trainable parameter from the gradient block */
mtl_status mtl_optimizer_step(mtl_optimizer *o);
void mtl_optimizer_set_lr(mtl_optimizer *o, float lr);
float mtl_optimizer_lr(const mtl_optimizer *o);
int64_t mtl_optimizer_steps(const mtl_optimizer *o);

/* learning rate for epoch e (0-based) */
typedef enum { MTL_SCHED_CONSTANT, MTL_SCHED_STEP, MTL_SCHED_EXPONENTIAL } mtl_sched_kind;
typedef struct {
    mtl_sched_kind kind;
    int step_size; /* STEP: decay every step_size epochs */
    float gamma;   /* STEP and EXPONENTIAL */
} mtl_schedule;
float mtl_schedule_lr(const mtl_schedule *s, float base_lr, int epoch);

#ifdef __cplusplus
}
#endif
#endif
