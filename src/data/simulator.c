/* A bearing-vibration simulator after McFadden and Smith (1984) and Randall and Antoni
 * (MSSP 2011): a localised defect gives one impact per rolling-element passage, each
 * ringing a structural resonance h(t) = exp(-zeta w_n t) sin(w_d t). Impacts repeat at
 * the defect frequency with 1-2 % random jitter of every interval (slip); inner-race and
 * ball impacts are amplitude modulated by the load zone (at f_r and FTF), outer-race
 * ones (fixed at 6:00, in the load zone) are not. On top: shaft harmonics and broadband
 * noise. Amplitudes are in g, near those of the CWRU drive-end records. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtl/data.h"

#define SIM_FS 12000.0
#define SIM_PI 3.14159265358979323846
#define SIM_MAX_SECONDS 3600.0

enum { SIM_NORMAL, SIM_INNER, SIM_OUTER, SIM_BALL };

/* record order and labels as mtl_cwru_open: fault_type NC/IF/OF/RF, severity F0/.007/.014/.021 */
static const struct {
    const char *name;
    int type, severity;
} sim_conditions[10] = {{"NC", SIM_NORMAL, 0},   {"IR007", SIM_INNER, 1}, {"IR014", SIM_INNER, 2},
                        {"IR021", SIM_INNER, 3}, {"OR007", SIM_OUTER, 1}, {"OR014", SIM_OUTER, 2},
                        {"OR021", SIM_OUTER, 3}, {"B007", SIM_BALL, 1},   {"B014", SIM_BALL, 2},
                        {"B021", SIM_BALL, 3}};

/* SKF 6205 multiples of the shaft rate */
#define SIM_BPFI 5.4152
#define SIM_BPFO 3.5848
#define SIM_BSF 4.7135
#define SIM_FTF 0.39828

static const double sim_rpm[4] = {1797, 1772, 1750, 1730};

/* per fault type (index = type): impact rate and load-zone modulation as multiples of
 * f_r, modulation depth, resonance of the path from that defect to the sensor, and
 * impact amplitude in g per severity 0.007 / 0.014 / 0.021 in */
static const struct {
    double rate, mod_rate, mod_depth, f_n;
    double amp[3];
} sim_fault[4] = {
    {0, 0, 0, 0, {0, 0, 0}},
    {SIM_BPFI, 1.0, 0.6, 3100.0, {1.5, 2.3, 3.4}},
    {SIM_BPFO, 0.0, 0.0, 2900.0, {2.0, 3.2, 4.8}},
    {2.0 * SIM_BSF, SIM_FTF, 0.6, 3400.0, {0.7, 1.0, 1.4}},
};

/* a wider defect makes a longer, lower-pitched impact: less damping, lower resonance */
static const double sim_zeta[3] = {0.13, 0.10, 0.07};
static const double sim_fn_scale[3] = {1.0, 0.85, 0.7};

#define SIM_NOISE_G 0.065  /* broadband sensor and machine noise */
#define SIM_SHAFT1_G 0.020 /* residual unbalance (1x) */
#define SIM_SHAFT2_G 0.008 /* misalignment (2x) */
#define SIM_JITTER 0.015   /* relative std of each impact interval */
#define SIM_AMP_SPREAD 0.15 /* relative std of each impact's amplitude */

static double gauss(mtl_rng *g) {
    float z;
    mtl_rng_normal(g, &z, 1, 0.0f, 1.0f);
    return z;
}

/* amp sin(2 pi f i / fs + phase) by rotation, restarted every 4096 samples so rounding cannot build up */
static void add_sine(float *x, int64_t n, double f, double amp, double phase) {
    const double w = 2 * SIM_PI * f / SIM_FS, c = cos(w), s = sin(w);
    for (int64_t i0 = 0; i0 < n; i0 += 4096) {
        double re = amp * cos(w * (double)i0 + phase), im = amp * sin(w * (double)i0 + phase);
        int64_t end = i0 + 4096 < n ? i0 + 4096 : n;
        for (int64_t i = i0; i < end; i++) {
            x[i] += (float)im;
            double nre = re * c - im * s;
            im = re * s + im * c;
            re = nre;
        }
    }
}

static void add_impacts(float *x, int64_t n, double fr, int type, int severity, mtl_rng *g) {
    const double rate = sim_fault[type].rate * fr, period = 1.0 / rate;
    const double fm = sim_fault[type].mod_rate * fr, depth = sim_fault[type].mod_depth;
    const double zeta = sim_zeta[severity - 1], wn = 2 * SIM_PI * sim_fault[type].f_n * sim_fn_scale[severity - 1];
    const double wd = wn * sqrt(1 - zeta * zeta), decay = zeta * wn;
    const double amp = sim_fault[type].amp[severity - 1];
    const int64_t ring = (int64_t)ceil(log(1e4) / decay * SIM_FS); /* until exp(-decay t) < 1e-4 */
    const double step_re = exp(-decay / SIM_FS) * cos(wd / SIM_FS), step_im = exp(-decay / SIM_FS) * sin(wd / SIM_FS);
    const double mod_phase = 2 * SIM_PI * mtl_rng_float(g);
    double t = period * mtl_rng_float(g);
    while (t * SIM_FS < (double)n) {
        double a = amp * (1 + SIM_AMP_SPREAD * gauss(g));
        if (a < 0.2 * amp) a = 0.2 * amp;
        if (depth > 0) /* load zone: strongest once per turn (inner) / cage turn (ball) */
            a *= 1 - depth + depth * 0.5 * (1 + cos(2 * SIM_PI * fm * t + mod_phase));
        int64_t first = (int64_t)ceil(t * SIM_FS);
        int64_t last = first + ring < n ? first + ring : n;
        /* h at the first sample after the (sub-sample) impact time, then one complex
         * factor exp((-decay + i wd) / fs) per sample: no exp or sin in the loop */
        double tau = (double)first / SIM_FS - t, env = a * exp(-decay * tau);
        double re = env * cos(wd * tau), im = env * sin(wd * tau);
        for (int64_t i = first; i < last; i++) {
            x[i] += (float)im;
            double nre = re * step_re - im * step_im;
            im = re * step_im + im * step_re;
            re = nre;
        }
        double jitter = SIM_JITTER * gauss(g);
        if (jitter > 3 * SIM_JITTER) jitter = 3 * SIM_JITTER;
        if (jitter < -3 * SIM_JITTER) jitter = -3 * SIM_JITTER;
        t += period * (1 + jitter);
    }
}

static void free_records(mtl_recordset *out) {
    for (int i = 0; i < out->n_records; i++) free(out->rec[i].sig.x);
    free(out->rec);
    memset(out, 0, sizeof *out);
}

mtl_status mtl_simulate_cwru(int load, double seconds, uint64_t seed, mtl_recordset *out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "simulate_cwru: output recordset is NULL");
    memset(out, 0, sizeof *out);
    if (load < 0 || load > 3) return mtl_error(MTL_ERR_ARG, "simulate_cwru: load %d hp (expected 0..3)", load);
    if (!(seconds > 0) || !(seconds <= SIM_MAX_SECONDS))
        return mtl_error(MTL_ERR_ARG, "simulate_cwru: %g seconds (expected > 0 and <= %g)", seconds, SIM_MAX_SECONDS);
    int64_t n = (int64_t)llround(seconds * SIM_FS);
    if (n < 1) return mtl_error(MTL_ERR_ARG, "simulate_cwru: %g seconds is less than one sample at 12 kHz", seconds);
    out->rec = calloc(10, sizeof *out->rec);
    if (!out->rec) return mtl_error(MTL_ERR_NOMEM, "simulate_cwru: out of memory");
    out->n_tasks = 2;
    out->n_classes[0] = 4, out->n_classes[1] = 4;
    strcpy(out->task_names[0], "fault_type");
    strcpy(out->task_names[1], "fault_severity");
    static const char *const type_names[4] = {"NC", "IF", "OF", "RF"};
    static const char *const severity_names[4] = {"F0", "0.007", "0.014", "0.021"};
    for (int k = 0; k < 4; k++) {
        strcpy(out->class_names[0][k], type_names[k]);
        strcpy(out->class_names[1][k], severity_names[k]);
    }
    const double fr = sim_rpm[load] / 60.0;
    for (int c = 0; c < 10; c++) {
        mtl_record *rec = &out->rec[c];
        rec->sig.x = malloc((size_t)n * sizeof(float));
        if (!rec->sig.x) {
            free_records(out);
            return mtl_error(MTL_ERR_NOMEM, "simulate_cwru: out of memory for %lld samples", (long long)n);
        }
        out->n_records = c + 1;
        snprintf(rec->name, sizeof rec->name, "sim_%s", sim_conditions[c].name);
        rec->file_no = -1;
        rec->load_hp = load;
        rec->label[0] = sim_conditions[c].type;
        rec->label[1] = sim_conditions[c].severity;
        rec->sig.channels = 1;
        rec->sig.length = n;
        rec->sig.fs = SIM_FS;
        /* two streams per (load, condition): the noise, and every other draw */
        mtl_rng noise, g;
        mtl_rng_init(&noise, seed, ((uint64_t)load << 8) | ((uint64_t)c << 1));
        mtl_rng_init(&g, seed, ((uint64_t)load << 8) | ((uint64_t)c << 1) | 1u);
        float *x = rec->sig.x;
        mtl_rng_normal(&noise, x, n, 0.0f, (float)SIM_NOISE_G);
        double p1 = 2 * SIM_PI * mtl_rng_float(&g), p2 = 2 * SIM_PI * mtl_rng_float(&g);
        add_sine(x, n, fr, SIM_SHAFT1_G, p1);
        add_sine(x, n, 2 * fr, SIM_SHAFT2_G, p2);
        if (sim_conditions[c].type != SIM_NORMAL)
            add_impacts(x, n, fr, sim_conditions[c].type, sim_conditions[c].severity, &g);
    }
    return MTL_OK;
}
