/* Per-window transforms of a dataset: test-time noise at a given SNR, normalisation,
 * the FFT-magnitude domain (FFTW), and resampling of whole recordings (libsamplerate). */
#include <fftw3.h>
#include <limits.h>
#include <math.h>
#include <samplerate.h>
#include <stdlib.h>
#include <string.h>

#include "mtl/data.h"

/* ---- noise --------------------------------------------------------------------- */

#define NOISE_CHUNK 256 /* a multiple of 4: chunked draws continue one Philox stream exactly */

mtl_status mtl_dataset_add_noise(mtl_dataset *d, double snr_db, uint64_t seed) {
    if (!d || !d->x || d->n < 1) return mtl_error(MTL_ERR_ARG, "add_noise: the dataset is empty");
    if (!isfinite(snr_db)) return mtl_error(MTL_ERR_ARG, "add_noise: snr_db %g must be finite", snr_db);
    int n = d->n;
    size_t per = (size_t)d->channels * d->length;
    double *power = malloc((size_t)n * sizeof *power);
    if (!power) return mtl_error(MTL_ERR_NOMEM, "add_noise: out of memory for %d windows", n);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const float *x = d->x + (size_t)i * per;
        double acc = 0;
        for (size_t j = 0; j < per; j++) acc += (double)x[j] * x[j];
        power[i] = acc / (double)per;
    }
    for (int i = 0; i < n; i++)
        if (!isfinite(power[i])) {
            free(power);
            return mtl_error(MTL_ERR_NUMERIC, "add_noise: window %d holds NaN or infinity (expected finite values)", i);
        }
    double scale = pow(10.0, -snr_db / 10.0);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        /* the stream is the window index: the same noise whatever the thread count */
        mtl_rng g;
        mtl_rng_init(&g, seed, (uint64_t)i);
        float sigma = (float)sqrt(power[i] * scale), buf[NOISE_CHUNK];
        float *x = d->x + (size_t)i * per;
        for (size_t j0 = 0; j0 < per; j0 += NOISE_CHUNK) {
            size_t m = per - j0 < NOISE_CHUNK ? per - j0 : NOISE_CHUNK;
            mtl_rng_normal(&g, buf, (int64_t)m, 0.0f, sigma);
            for (size_t j = 0; j < m; j++) x[j0 + j] += buf[j];
        }
    }
    free(power);
    return MTL_OK;
}

/* ---- normalisation and FFT ------------------------------------------------------ */

static void normalise(float *x, int L, mtl_norm norm) {
    if (norm == MTL_NORM_ZSCORE) {
        double mean = 0, var = 0;
        for (int j = 0; j < L; j++) mean += x[j];
        mean /= L;
        for (int j = 0; j < L; j++) var += (x[j] - mean) * (x[j] - mean);
        double sd = sqrt(var / L);
        double inv = sd > 0 ? 1.0 / sd : 1.0; /* a constant window becomes centred zeros */
        for (int j = 0; j < L; j++) x[j] = (float)((x[j] - mean) * inv);
    } else if (norm == MTL_NORM_MINMAX || norm == MTL_NORM_PM1) {
        float lo = x[0], hi = x[0];
        for (int j = 1; j < L; j++) {
            if (x[j] < lo) lo = x[j];
            if (x[j] > hi) hi = x[j];
        }
        double span = (double)hi - lo;
        if (!(span > 0)) { /* a constant window: zeros, as z-score leaves it */
            memset(x, 0, (size_t)L * sizeof *x);
            return;
        }
        for (int j = 0; j < L; j++) {
            double u = ((double)x[j] - lo) / span;
            x[j] = (float)(norm == MTL_NORM_PM1 ? 2.0 * u - 1.0 : u);
        }
    }
}

/* |X_k| / N for k = 0..N/2-1 of every row; rows are (window, channel) pairs */
static mtl_status fft_rows(const float *x, float *out, int64_t rows, int N) {
    int H = N / 2;
    float *pin = fftwf_malloc((size_t)N * sizeof(float));
    fftwf_complex *pout = fftwf_malloc((size_t)(H + 1) * sizeof(fftwf_complex));
    fftwf_plan plan = NULL;
    if (pin && pout) {
        /* FFTW's planner is not thread-safe: serialise it against other callers */
#pragma omp critical(mtl_fftw_planner)
        plan = fftwf_plan_dft_r2c_1d(N, pin, pout, FFTW_ESTIMATE);
    }
    if (!plan) {
        fftwf_free(pin), fftwf_free(pout);
        return mtl_error(MTL_ERR_NOMEM, "dataset_transform: could not plan an FFT of length %d", N);
    }
    int failed = 0;
#pragma omp parallel
    {
        /* fftwf_malloc gives every thread buffers aligned like the planning ones */
        float *in = fftwf_malloc((size_t)N * sizeof(float));
        fftwf_complex *X = fftwf_malloc((size_t)(H + 1) * sizeof(fftwf_complex));
        if (!in || !X) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            if (!in || !X) continue;
            memcpy(in, x + (size_t)r * N, (size_t)N * sizeof(float));
            fftwf_execute_dft_r2c(plan, in, X);
            float *o = out + (size_t)r * H;
            for (int k = 0; k < H; k++) o[k] = (float)(hypot(X[k][0], X[k][1]) / N);
        }
        fftwf_free(in);
        fftwf_free(X);
    }
#pragma omp critical(mtl_fftw_planner)
    fftwf_destroy_plan(plan);
    fftwf_free(pin), fftwf_free(pout);
    if (failed) return mtl_error(MTL_ERR_NOMEM, "dataset_transform: out of memory for FFT buffers of length %d", N);
    return MTL_OK;
}

mtl_status mtl_dataset_transform(mtl_dataset *d, mtl_norm norm, mtl_domain domain) {
    if (!d || !d->x || d->n < 1) return mtl_error(MTL_ERR_ARG, "dataset_transform: the dataset is empty");
    if ((int)norm < (int)MTL_NORM_NONE || (int)norm > (int)MTL_NORM_PM1)
        return mtl_error(MTL_ERR_ARG, "dataset_transform: unknown normalisation %d", (int)norm);
    if (domain != MTL_DOMAIN_TIME && domain != MTL_DOMAIN_FFT)
        return mtl_error(MTL_ERR_ARG, "dataset_transform: unknown domain %d", (int)domain);
    int L = d->length, C = d->channels;
    if (domain == MTL_DOMAIN_FFT && L < 2)
        return mtl_error(MTL_ERR_ARG, "dataset_transform: an FFT needs windows of at least 2 samples (length %d)", L);
    int64_t rows = (int64_t)d->n * C;
    for (int64_t r = 0; r < rows; r++) {
        const float *x = d->x + (size_t)r * L;
        for (int j = 0; j < L; j++)
            if (!isfinite(x[j]))
                return mtl_error(MTL_ERR_NUMERIC,
                                 "dataset_transform: window %lld channel %lld has a %s at sample %d (expected finite "
                                 "values)",
                                 (long long)(r / C), (long long)(r % C), isnan(x[j]) ? "NaN" : "infinity", j);
    }
    if (norm != MTL_NORM_NONE) {
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < rows; r++) normalise(d->x + (size_t)r * L, L, norm);
    }
    if (domain == MTL_DOMAIN_TIME) return MTL_OK;
    int H = L / 2;
    float *out = malloc((size_t)rows * H * sizeof(float));
    if (!out) return mtl_error(MTL_ERR_NOMEM, "dataset_transform: out of memory for %lld spectra", (long long)rows);
    mtl_status s = fft_rows(d->x, out, rows, L);
    if (s) {
        free(out);
        return s;
    }
    free(d->x);
    d->x = out;
    d->length = H;
    return MTL_OK;
}

/* ---- resampling ----------------------------------------------------------------- */

mtl_status mtl_signal_resample(mtl_signal *s, double fs_out) {
    if (!s || !s->x || s->channels < 1 || s->length < 1)
        return mtl_error(MTL_ERR_ARG, "signal_resample: the signal has no samples");
    if (!(fs_out > 0) || !isfinite(fs_out))
        return mtl_error(MTL_ERR_ARG, "signal_resample: target rate %g Hz must be finite and > 0", fs_out);
    if (!(s->fs > 0) || !isfinite(s->fs))
        return mtl_error(MTL_ERR_ARG, "signal_resample: the signal's sampling rate is unknown (fs %g); cannot resample "
                         "to %g Hz", s->fs, fs_out);
    if (s->fs == fs_out) return MTL_OK;
    double ratio = fs_out / s->fs;
    if (!src_is_valid_ratio(ratio))
        return mtl_error(MTL_ERR_ARG,
                         "signal_resample: %g Hz -> %g Hz is a ratio of %g (libsamplerate allows 1/256..256)",
                         s->fs, fs_out, ratio);
    if (s->length > LONG_MAX / 256)
        return mtl_error(MTL_ERR_RANGE, "signal_resample: %lld samples are too many", (long long)s->length);
    int64_t cap = (int64_t)ceil((double)s->length * ratio) + 16;
    int C = s->channels;
    float *y = malloc((size_t)C * (size_t)cap * sizeof(float));
    if (!y) return mtl_error(MTL_ERR_NOMEM, "signal_resample: out of memory for %lld samples", (long long)cap);
    int64_t out_len = cap;
    for (int ch = 0; ch < C; ch++) {
        /* one channel at a time: the rows are planar, libsamplerate wants interleaved frames */
        SRC_DATA sd;
        memset(&sd, 0, sizeof sd);
        sd.data_in = s->x + (size_t)ch * s->length;
        sd.data_out = y + (size_t)ch * cap;
        sd.input_frames = (long)s->length;
        sd.output_frames = (long)cap;
        sd.src_ratio = ratio;
        sd.end_of_input = 1;
        int err = src_simple(&sd, SRC_SINC_BEST_QUALITY, 1);
        if (err) {
            free(y);
            return mtl_error(MTL_ERR_NUMERIC, "signal_resample: libsamplerate failed (%g Hz -> %g Hz): %s", s->fs,
                             fs_out, src_strerror(err));
        }
        if (sd.output_frames_gen < out_len) out_len = sd.output_frames_gen;
    }
    if (out_len < 1) {
        free(y);
        return mtl_error(MTL_ERR_RANGE, "signal_resample: %lld samples at %g Hz give no samples at %g Hz",
                         (long long)s->length, s->fs, fs_out);
    }
    for (int ch = 1; ch < C; ch++) /* close the gaps between rows */
        memmove(y + (size_t)ch * out_len, y + (size_t)ch * cap, (size_t)out_len * sizeof(float));
    float *shrunk = realloc(y, (size_t)C * out_len * sizeof(float));
    free(s->x);
    s->x = shrunk ? shrunk : y;
    s->length = out_len;
    s->fs = fs_out;
    return MTL_OK;
}

/* ---- names ---------------------------------------------------------------------- */

mtl_status mtl_norm_parse(const char *s, mtl_norm *out) {
    static const char *const names[] = {"none", "zscore", "minmax", "pm1"};
    if (!out) return mtl_error(MTL_ERR_ARG, "norm_parse: output is NULL");
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (mtl_norm)i;
            return MTL_OK;
        }
    return mtl_error(MTL_ERR_ARG, "normalisation '%s' is not one of none, zscore, minmax, pm1", s ? s : "(null)");
}

mtl_status mtl_domain_parse(const char *s, mtl_domain *out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "domain_parse: output is NULL");
    if (s && strcmp(s, "time") == 0) {
        *out = MTL_DOMAIN_TIME;
        return MTL_OK;
    }
    if (s && strcmp(s, "fft") == 0) {
        *out = MTL_DOMAIN_FFT;
        return MTL_OK;
    }
    return mtl_error(MTL_ERR_ARG, "input domain '%s' is not one of time, fft", s ? s : "(null)");
}
