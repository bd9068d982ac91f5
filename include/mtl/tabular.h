/* Tabular multi-task data (src/data/tabular.c, src/data/census.c).
 *
 * A description file names the columns of a delimited text file (plain or gzip'd),
 * their kinds and the tasks; an encoder fitted on the training file turns rows into
 * model input. Encoded rows live in an mtl_dataset with channels 1 and length
 * n_ids + n_cont: first the n_ids nominal ids (integers stored exactly as float), then
 * the n_cont standardised continuous values. Binary tasks have 2 classes ("no", "yes");
 * a multi-class task has the classes seen in the training file.
 *
 * Description file format (text, one statement per line, '#' starts a comment, values
 * with spaces or '#' in double quotes, \" and \\ escapes inside quotes):
 *
 *   delimiter ", "            the field separator (default ","; "\t" for tabs)
 *   header yes|no             whether the first line names the columns (default no;
 *                             when yes, the names must match the columns below)
 *   missing ?                 the missing-value marker (default: empty cell)
 *   strip "."                 a suffix removed from the LAST field of each line (default none)
 *   column NAME continuous [log1p]
 *   column NAME nominal
 *   column NAME ignore
 *   task NAME binary COLUMN VALUE [VALUE...]   positive when the cell is one of the values,
 *                             negative otherwise (the missing marker included)
 *   task NAME multiclass COLUMN               one class per value seen in training
 *   hash BUCKETS              Co-AMTL's input: every input column's text hashed
 *                             (64-bit FNV-1a of "<index>:<text>", index the 0-based column
 *                             of the description, text the raw cell after strip,
 *                             modulo BUCKETS) into one table of BUCKETS ids, continuous
 *                             columns included as text; no continuous inputs (default 0: off)
 *
 * The columns are listed in file order and must cover every field of a row. A column
 * that a task reads is never an input. Nominal inputs: a vocabulary per column from the
 * training file (in order of first appearance), id 0 kept for values not seen in
 * training, ids 1..V; the missing marker is a value like any other. Continuous inputs:
 * log1p first where asked, then z-score with the training mean and standard deviation
 * (population std; a constant column gets std 1); a missing continuous value becomes 0
 * (the training mean). */
#ifndef MTL_TABULAR_H
#define MTL_TABULAR_H

#include <stdio.h>

#include "mtl/data.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MTL_TAB_MAX_COLUMNS 256
#define MTL_TAB_NAME_MAX 48
#define MTL_TAB_MAX_POSITIVE 16
#define MTL_TAB_VALUE_MAX 64

typedef enum { MTL_COL_IGNORE, MTL_COL_CONTINUOUS, MTL_COL_NOMINAL } mtl_col_kind;

typedef struct {
    char name[MTL_TAB_NAME_MAX];
    mtl_col_kind kind;
    bool log1p; /* continuous: log1p before standardising */
} mtl_tab_column;

typedef struct {
    char name[MTL_TASK_NAME_MAX];
    int column;      /* index into cols */
    bool multiclass; /* false: binary */
    int n_positive;  /* binary: the values that count as positive */
    char positive[MTL_TAB_MAX_POSITIVE][MTL_TAB_VALUE_MAX];
} mtl_tab_task;

typedef struct {
    char name[MTL_PATH_MAX]; /* where it came from (file path or preset name), for messages */
    char delimiter[8];
    bool header;
    char missing[16];
    char strip[8];
    int n_cols;
    mtl_tab_column cols[MTL_TAB_MAX_COLUMNS];
    int n_tasks;
    mtl_tab_task tasks[MTL_MAX_TASKS];
    int hash_buckets; /* > 0: hashed input */
} mtl_tab_schema;

/* reads a description file; an error names the file, the line and what was expected
 * (unknown statement or kind, a task naming an unknown column, too many columns...) */
mtl_status mtl_tab_schema_read(const char *path, mtl_tab_schema *out);
/* the same from text; `name` is used in messages */
mtl_status mtl_tab_schema_parse(const char *text, const char *name, mtl_tab_schema *out);
/* writes s in the description format (so a preset can be saved and edited) */
mtl_status mtl_tab_schema_write(const mtl_tab_schema *s, FILE *f);

/* ---- census-income presets (src/data/census.c) --------------------------------
 * The 42 UCI fields (../shared/specs/tabular.md, the data README), the 7 continuous
 * ones with log1p on the money fields (wage per hour, capital gains, capital losses,
 * dividends), instance weight, education and marital status never inputs.
 * group 1: tasks income (field 42 == "50000+", the "." stripped) and never_married
 * (field 8 == "Never married"); group 2: education (field 5 in the education set) and
 * never_married. education_set: NULL for the default (mtl_census_default_education), a
 * named set (mtl_census_education_values), or values separated by '|'. */
mtl_status mtl_tab_schema_census(int group, const char *education_set, mtl_tab_schema *out);
/* "Some college but no degree|Bachelors degree(BA AB BS)|Masters degree(MA MS MEng MEd MSW MBA)|
 *  Prof school degree (MD DDS DVM LLB JD)|Doctorate degree(PhD EdD)" (the named set some-college) */
const char *mtl_census_default_education(void);
/* the '|'-separated values of an education set: NULL or "" the default; the names
 * some-college (the default: some college but no degree, bachelors or higher), any-college
 * (also the two associate degrees), college-degree (associate degrees, bachelors or higher)
 * and bachelors (bachelors or higher); anything else is returned as it is (values) */
const char *mtl_census_education_values(const char *set);
/* the data files inside dir: dir/census-income.data.gz and dir/census-income.test.gz
 * (or the same without .gz); an error names the directory and the file not found */
mtl_status mtl_census_files(const char *dir, char *train_path, char *test_path, size_t size);

/* ---- the encoder ------------------------------------------------------------ */
typedef struct mtl_tab_encoder mtl_tab_encoder;

/* Reads the training file (plain or gzip'd: by content, through zlib), fits the
 * encoder and encodes the file into `train` (may be NULL). Errors name the file, the
 * line and the field: a row with the wrong number of fields, an unparsable number in
 * a continuous column, a log1p column with a value <= -1, a header that does not match
 * the description, an empty file (no data rows), a file that is not text. */
mtl_status mtl_tab_fit(const mtl_tab_schema *s, const char *train_path, mtl_tab_encoder **enc, mtl_dataset *train);
/* encodes another file with a fitted encoder. labels: false for rows to score (task
 * cells are not read; out has n_tasks set but y[k] all 0); true: as for training (a
 * multi-class value not seen in training is an error naming it). */
mtl_status mtl_tab_encode_file(const mtl_tab_encoder *e, const char *path, bool labels, mtl_dataset *out);
void mtl_tab_encoder_free(mtl_tab_encoder *e);

const mtl_tab_schema *mtl_tab_encoder_schema(const mtl_tab_encoder *e);
int mtl_tab_encoder_n_ids(const mtl_tab_encoder *e);
int mtl_tab_encoder_n_cont(const mtl_tab_encoder *e);
/* rows of input id column i's table: vocabulary size + 1 (hashed: the bucket count) */
int mtl_tab_encoder_vocab(const mtl_tab_encoder *e, int i);
/* the schema column of input id column i / continuous column j */
int mtl_tab_encoder_id_column(const mtl_tab_encoder *e, int i);
int mtl_tab_encoder_cont_column(const mtl_tab_encoder *e, int j);
/* training mean and std (after log1p) of continuous input j */
void mtl_tab_encoder_cont_stats(const mtl_tab_encoder *e, int j, double *mean, double *std);

/* Serialised as JSON (schema, vocabularies, statistics, classes), for checkpoint
 * metadata: a checkpoint can then score a new file without the training file.
 * to_json: *json is malloc'd. from_json: an error names what is missing. */
mtl_status mtl_tab_encoder_to_json(const mtl_tab_encoder *e, char **json);
mtl_status mtl_tab_encoder_from_json(const char *json, mtl_tab_encoder **out);

/* the rows idx[0..n) of src (deep copy, names and metadata kept) */
mtl_status mtl_dataset_subset(const mtl_dataset *src, const int32_t *idx, int n, mtl_dataset *out);
/* The 1:1 split of a file into validation and test (MMoE's protocol): a seeded
 * permutation (mtl_rng stream 0x7ab1e) of the rows, the first floor(n/2) to `a`, the rest to `b`. */
mtl_status mtl_dataset_split_half(const mtl_dataset *src, uint64_t seed, mtl_dataset *a, mtl_dataset *b);

#ifdef __cplusplus
}
#endif
#endif
