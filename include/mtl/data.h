/* In-memory multi-task classification data: signals [n, channels, length] with one
 * class label per task. Sources fill an mtl_dataset. */
#ifndef MTL_DATA_H
#define MTL_DATA_H

#include "mtl/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MTL_TASK_NAME_MAX 32
#define MTL_CLASS_NAME_MAX 16
#define MTL_MAX_NAMED_CLASSES 32 /* classes beyond this have no name (reports print the index) */

typedef struct {
    int n, channels, length;
    float *x; /* [n, channels, length] */
    int n_tasks;
    int n_classes[MTL_MAX_TASKS];
    char task_names[MTL_MAX_TASKS][MTL_TASK_NAME_MAX];
    int32_t *y[MTL_MAX_TASKS]; /* [n] labels per task */
    /* optional: class names per task ("" = unnamed: print the index) */
    char class_names[MTL_MAX_TASKS][MTL_MAX_NAMED_CLASSES][MTL_CLASS_NAME_MAX];
    double fs;                 /* sampling rate of the windows in Hz (0: unknown) */
    int32_t *record;           /* optional [n]: index of the record each window came from (NULL: none) */
    int64_t *offset;           /* optional [n]: first sample of each window in its record (NULL: none) */
} mtl_dataset;

mtl_status mtl_dataset_alloc(mtl_dataset *d, int n, int channels, int length, int n_tasks);
void mtl_dataset_free(mtl_dataset *d);
/* checks labels against n_classes and signals for NaN/Inf; names the bad sample */
mtl_status mtl_dataset_validate(const mtl_dataset *d, const char *what);

/* Generated two-task data (src/data/synthetic.c): noisy tones whose frequency gives
 * task 0 "frequency" (4 classes) and whose amplitude gives task 1 "amplitude"
 * (3 classes). Seeded; needs no files. */
mtl_status mtl_synth_tones(mtl_dataset *d, int n, int length, float noise, uint64_t seed);

/* ==== recordings (src/data/signal_io.c, mat.c) =====================================
 * A recording: `channels` rows of `length` samples at fs Hz. */
typedef struct {
    int channels;
    int64_t length;
    double fs;       /* 0: unknown */
    float *x;        /* [channels, length] */
} mtl_signal;
void mtl_signal_free(mtl_signal *s);

/* MATLAB .mat file (v4, v5 or v7.3 through libmatio): reads the real numeric vector
 * variable `var` (any numeric class, stored as double or single; N x 1 or 1 x N) as
 * float. var NULL or "": the CWRU convention, X<nnn>_<channel>_time with nnn the number
 * at the end of the file name (so 99.mat picks X099_DE_time, not its copy of X098_*).
 * channel: "DE" (drive end), "FE" (fan end) or "BA" (base); NULL means "DE".
 * Errors name the file and the problem: missing, not a .mat file, no such variable (and
 * which variables it has), not numeric, empty, complex, not a vector, NaN/Inf at sample i. */
mtl_status mtl_mat_read(const char *path, const char *var, const char *channel, mtl_signal *out);
/* the CWRU variable name for path and channel, e.g. ".../12k_Drive_End_IR007_0_105.mat",
 * "DE" -> "X105_DE_time"; MTL_ERR_FORMAT if the file name does not end in a number */
mtl_status mtl_cwru_variable(const char *path, const char *channel, char *var, size_t var_size);
/* CSV (optionally gzip'd, through zlib): one sample per row; `column` (0-based) picks
 * the column; a first row that is not numeric is a header and is skipped. */
mtl_status mtl_csv_read_signal(const char *path, int column, mtl_signal *out);
/* NumPy .npy (v1/v2/v3 header; float32/float64/int16/int32, little endian, C order), a
 * 1-D array or a 2-D [channels, length] one. */
mtl_status mtl_npy_read_signal(const char *path, mtl_signal *out);
/* by extension: .mat (var/channel as mtl_mat_read), .csv/.csv.gz/.txt (column 0), .npy */
mtl_status mtl_signal_read(const char *path, const char *var, const char *channel, mtl_signal *out);

/* ==== labelled record sets (src/data/cwru.c, manifest.c, simulator.c) ============== */
#define MTL_PATH_MAX 1024
typedef struct {
    char path[MTL_PATH_MAX]; /* the file it came from ("" for simulated records) */
    char var[64];            /* the variable read ("" for CSV/NPY/simulated) */
    char name[48];           /* a short name: "IR007_0_105", "normal_0_97", "sim_OR014" */
    int file_no;             /* CWRU file number (-1: none) */
    int load_hp;             /* motor load (-1: unknown) */
    int32_t label[MTL_MAX_TASKS];
    mtl_signal sig;          /* owned */
} mtl_record;

typedef struct {
    int n_records;
    mtl_record *rec;
    int n_tasks;
    int n_classes[MTL_MAX_TASKS];
    char task_names[MTL_MAX_TASKS][MTL_TASK_NAME_MAX];
    char class_names[MTL_MAX_TASKS][MTL_MAX_NAMED_CLASSES][MTL_CLASS_NAME_MAX];
} mtl_recordset;
void mtl_recordset_free(mtl_recordset *r);

/* CWRU by directory: searches dir recursively for the 10 conditions of motor load
 * `load` (0..3), recognised by file NAME (normal_<load>_<no>.mat, *_IR007_<load>_<no>.mat,
 * *_B014_..., *_OR021@6_..., i.e. the names of ../shared/data/cwru) and reads each one's
 * `channel` (NULL: "DE") variable. Tasks: "fault_type" (NC, IF, OF, RF) and
 * "fault_severity" (F0, 0.007, 0.014, 0.021), labels as in the MTAGN spec. Records are in
 * label order (NC, IF007, IF014, IF021, OF007, ..., RF021). An error names the missing
 * condition(s) and the directory, or the file that could not be read. fs: 12000 for
 * the 12 kHz fault files, 48000 for the normal baseline. */
mtl_status mtl_cwru_open(const char *dir, int load, const char *channel, mtl_recordset *out);

/* A manifest CSV for users' own recordings: header row, then one row per recording:
 *   path,variable,fs,<task1>,<task2>,...
 * path relative to the manifest's folder (or absolute); variable may be empty (CSV/NPY,
 * or the CWRU naming for .mat); fs in Hz (may be empty: unknown); every further column
 * is a task, whose cells are class names (or integers); classes are numbered in order of
 * first appearance unless every cell of the column is an integer (then that integer).
 * An error names the manifest, the line and the column. */
mtl_status mtl_manifest_open(const char *csv_path, mtl_recordset *out);

/* The bearing-signal simulator of ../shared/specs/phm.md (src/data/simulator.c): one
 * record of `seconds` s at 12 kHz for each of the 10 CWRU conditions at motor load
 * `load` (0..3, sets the shaft speed 1797/1772/1750/1730 rpm), SKF 6205 geometry, same
 * tasks, classes and record order as mtl_cwru_open. Deterministic for a seed. */
mtl_status mtl_simulate_cwru(int load, double seconds, uint64_t seed, mtl_recordset *out);

/* ==== windows, splits, transforms (src/data/windows.c, transform.c) ================ */
typedef enum {
    MTL_SPLIT_MTAGN, /* the MTAGN preset: windows n = 0..199 at stride 512; the fixed
                        permutation (NumPy seed 2021): train = perm[0:t], val = perm[t:t+v],
                        test = perm[t+v : t+v+test] (t = train_per_class, ...), clipped to 200 */
    MTL_SPLIT_RANDOM, /* windows at `stride` over the record, shuffled with `seed`, then the
                        same train/val/test counts */
    MTL_SPLIT_TIME    /* leakage-free: each record cut in time into disjoint train | val | test
                        segments (fractions train_frac, val_frac, rest); windows at `stride`
                        inside each segment only, so no test window shares a sample with a
                        training or validation window; then up to the per-class counts are
                        taken in time order (train from its segment start) */
} mtl_split_kind;

typedef enum { MTL_NORM_NONE, MTL_NORM_ZSCORE, MTL_NORM_MINMAX, MTL_NORM_PM1 } mtl_norm; /* PM1: to [-1,1] */
typedef enum { MTL_DOMAIN_TIME, MTL_DOMAIN_FFT } mtl_domain; /* FFT: |X|/N, first half (L -> L/2) */

typedef struct {
    int length;           /* window length (2048) */
    int stride;           /* 512 */
    mtl_split_kind split;
    int train_per_record; /* windows per record in each part (10 / 20 / 160); 0 in test: all that remain */
    int val_per_record;
    int test_per_record;
    double train_frac, val_frac; /* MTL_SPLIT_TIME segment fractions (0.5, 0.1 by default) */
    double resample_fs;   /* > 0: resample every record to this rate first (libsamplerate) */
    uint64_t seed;        /* MTL_SPLIT_RANDOM shuffling */
} mtl_window_config;

/* the MTAGN defaults: 2048 / 512 / MTAGN preset / 10, 20, 160 / 0.5, 0.1 / no resampling */
mtl_window_config mtl_window_defaults(void);

/* Cuts every record into windows and splits them into train / val / test (any of the
 * three outputs may be NULL). Outputs carry the recordset's tasks, class names, fs and
 * per-window record index and offset. An error names the record that is too short for
 * the requested windows (and how many samples it would need). */
mtl_status mtl_windows_make(const mtl_recordset *r, const mtl_window_config *c, mtl_dataset *train,
                            mtl_dataset *val, mtl_dataset *test);
/* the 200-entry MTAGN permutation */
const int *mtl_mtagn_permutation(void);
/* all windows of one signal's channel 0 at stride (for prediction): n_tasks = 0 labels */
mtl_status mtl_signal_windows(const mtl_signal *s, int length, int stride, mtl_dataset *out);

/* White Gaussian noise at snr_db, computed PER WINDOW from that window's power, fresh
 * noise for every window (counter-based RNG stream = window index, so it does not
 * depend on threads). */
mtl_status mtl_dataset_add_noise(mtl_dataset *d, double snr_db, uint64_t seed);
/* per-window normalisation, then the input domain; FFT halves the length (d->x is
 * reallocated). Apply after the noise. */
mtl_status mtl_dataset_transform(mtl_dataset *d, mtl_norm norm, mtl_domain domain);
/* resample a signal in place to fs_out (libsamplerate, best-quality sinc) */
mtl_status mtl_signal_resample(mtl_signal *s, double fs_out);
/* deep copy (labels, names, metadata) */
mtl_status mtl_dataset_copy(const mtl_dataset *src, mtl_dataset *dst);
/* parse "none|zscore|minmax|pm1" and "time|fft" (MTL_ERR_ARG naming the value otherwise) */
mtl_status mtl_norm_parse(const char *s, mtl_norm *out);
mtl_status mtl_domain_parse(const char *s, mtl_domain *out);

#ifdef __cplusplus
}
#endif
#endif
