/* Learning-rate schedules (per epoch), as torch.optim.lr_scheduler StepLR and ExponentialLR. */
#include <math.h>

#include "mtl/optim.h"

float mtl_schedule_lr(const mtl_schedule *s, float base_lr, int epoch) {
    if (!s || epoch < 0) return base_lr;
    switch (s->kind) {
    case MTL_SCHED_STEP: return s->step_size > 0 ? base_lr * powf(s->gamma, (float)(epoch / s->step_size)) : base_lr;
    case MTL_SCHED_EXPONENTIAL: return base_lr * powf(s->gamma, (float)epoch);
    case MTL_SCHED_CONSTANT: break;
    }
    return base_lr;
}
