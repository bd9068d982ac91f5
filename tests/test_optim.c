/* SGD (momentum, dampening, Nesterov, weight decay), Adam (L2, AMSGrad) and AdamW
 * against torch.optim over 5 steps from the same gradients; lr schedules. */
#include <string.h>

#include "harness.h"

typedef struct {
    const char *name;
    mtl_opt_config cfg;
} opt_case;

static void optimizers_match_torch(void) {
    mtl_st_file *f = th_fixture("optim.safetensors");
    if (!f) return;
    mtl_shape ps, gs;
    float *p0 = th_fixture_f32(f, "p0", &ps), *grads = th_fixture_f32(f, "grads", &gs);
    if (!p0 || !grads) return;
    int n = ps.d[0], steps = gs.d[0];
    opt_case cases[7];
    int nc = 0;
    mtl_opt_config c = mtl_opt_defaults(MTL_OPT_SGD);
    c.lr = 0.1f;
    cases[nc++] = (opt_case){"sgd", c};
    c.momentum = 0.9f, c.dampening = 0.1f, c.weight_decay = 0.01f;
    cases[nc++] = (opt_case){"sgd_momentum", c};
    c.dampening = 0, c.nesterov = true, c.weight_decay = 0.05f;
    cases[nc++] = (opt_case){"sgd_nesterov", c};
    c = mtl_opt_defaults(MTL_OPT_ADAM);
    c.lr = 0.01f;
    cases[nc++] = (opt_case){"adam", c};
    mtl_opt_config l2 = c;
    l2.beta1 = 0.8f, l2.beta2 = 0.99f, l2.eps = 1e-6f, l2.weight_decay = 0.1f;
    cases[nc++] = (opt_case){"adam_l2", l2};
    mtl_opt_config ams = c;
    ams.amsgrad = true;
    cases[nc++] = (opt_case){"adam_amsgrad", ams};
    c = mtl_opt_defaults(MTL_OPT_ADAMW);
    c.lr = 0.01f, c.weight_decay = 0.1f;
    cases[nc++] = (opt_case){"adamw", c};
    for (int i = 0; i < nc; i++) {
        mtl_params *P = NULL;
        CHECK_OK(mtl_params_create(&P));
        mtl_tensor *p = mtl_param_add(P, "p", MTL_OWNER_SHARED, MTL_SHAPE(n), MTL_INIT_Z);
        CHECK_OK(mtl_params_finalize(P, 0));
        memcpy(p->data, p0, (size_t)n * sizeof(float));
        mtl_optimizer *o = NULL;
        CHECK_OK(mtl_optimizer_create(&o, P, cases[i].cfg));
        for (int s = 0; s < steps && o; s++) {
            memcpy(mtl_params_grad(P), grads + (size_t)s * n, (size_t)n * sizeof(float));
            CHECK_OK(mtl_optimizer_step(o));
            char key[64];
            snprintf(key, sizeof key, "%s.step%d", cases[i].name, s + 1);
            float *want = th_fixture_f32(f, key, NULL);
            if (want) th_compare(key, p->data, want, n, 1e-6, 1e-5);
        }
        CHECK(mtl_optimizer_steps(o) == steps, "%s: %lld steps counted", cases[i].name, (long long)mtl_optimizer_steps(o));
        mtl_optimizer_free(o);
        mtl_params_free(P);
    }
}

static void schedules_match_torch(void) {
    mtl_st_file *f = th_fixture("optim.safetensors");
    if (!f) return;
    mtl_schedule step = {MTL_SCHED_STEP, 5, 0.3f}, expo = {MTL_SCHED_EXPONENTIAL, 0, 0.9f};
    float got_step[12], got_exp[12];
    for (int e = 0; e < 12; e++) {
        got_step[e] = mtl_schedule_lr(&step, 0.5f, e);
        got_exp[e] = mtl_schedule_lr(&expo, 0.5f, e);
    }
    th_compare("StepLR(5, 0.3)", got_step, th_fixture_f32(f, "lr.step", NULL), 12, 1e-7, 1e-6);
    th_compare("ExponentialLR(0.9)", got_exp, th_fixture_f32(f, "lr.exponential", NULL), 12, 1e-7, 1e-6);
    mtl_schedule constant = {MTL_SCHED_CONSTANT, 0, 0};
    CHECK(mtl_schedule_lr(&constant, 0.25f, 7) == 0.25f, "constant schedule changed the lr");
}

static void bad_configs_rejected(void) {
    mtl_params *P = NULL;
    CHECK_OK(mtl_params_create(&P));
    mtl_param_add(P, "p", MTL_OWNER_SHARED, MTL_SHAPE(3), MTL_INIT_Z);
    mtl_optimizer *o = NULL;
    CHECK(mtl_optimizer_create(&o, P, mtl_opt_defaults(MTL_OPT_ADAM)) == MTL_ERR_STATE, "optimizer before finalize");
    CHECK_OK(mtl_params_finalize(P, 0));
    mtl_opt_config c = mtl_opt_defaults(MTL_OPT_ADAM);
    c.beta1 = 1.0f;
    CHECK(mtl_optimizer_create(&o, P, c) == MTL_ERR_ARG && o == NULL, "beta1 = 1 accepted");
    c = mtl_opt_defaults(MTL_OPT_SGD);
    c.nesterov = true;
    CHECK(mtl_optimizer_create(&o, P, c) == MTL_ERR_ARG, "Nesterov without momentum accepted");
    CHECK(strstr(mtl_last_error(), "Nesterov") != NULL, "message: %s", mtl_last_error());
    c.nesterov = false, c.lr = -1;
    CHECK(mtl_optimizer_create(&o, P, c) == MTL_ERR_ARG, "negative lr accepted");
    CHECK(mtl_optimizer_step(NULL) == MTL_ERR_ARG, "step(NULL)");
    mtl_params_free(P);
}

int main(void) {
    RUN(optimizers_match_torch);
    RUN(schedules_match_torch);
    RUN(bad_configs_rejected);
    return th_summary();
}
