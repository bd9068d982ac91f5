/* The UCI census-income (KDD) presets (include/mtl/tabular.h): the 42 fields under the
 * short names of the data README, the MMoE task groups and where the files live. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "mtl/tabular.h"

#define BACHELORS_UP                                                                                                   \
    "Bachelors degree(BA AB BS)|Masters degree(MA MS MEng MEd MSW MBA)|Prof school degree (MD DDS DVM LLB JD)|"        \
    "Doctorate degree(PhD EdD)"
#define ASSOCIATES "Associates degree-occup /vocational|Associates degree-academic program"

/* the named education sets; the first is the default (the spec's) */
static const struct {
    const char *name, *values;
} education_sets[] = {
    {"some-college", "Some college but no degree|" BACHELORS_UP},
    {"any-college", "Some college but no degree|" ASSOCIATES "|" BACHELORS_UP},
    {"college-degree", ASSOCIATES "|" BACHELORS_UP},
    {"bachelors", BACHELORS_UP},
};
#define N_EDUCATION_SETS ((int)(sizeof education_sets / sizeof education_sets[0]))

const char *mtl_census_default_education(void) { return education_sets[0].values; }

const char *mtl_census_education_values(const char *set) {
    if (!set || !*set) return education_sets[0].values;
    for (int i = 0; i < N_EDUCATION_SETS; i++)
        if (!strcmp(set, education_sets[i].name)) return education_sets[i].values;
    return set;
}

#define N MTL_COL_NOMINAL
#define C MTL_COL_CONTINUOUS
#define I MTL_COL_IGNORE

/* The README's column table in field order. education, marital_stat and the label are
 * never inputs (they are the tasks' labels, the paper removes them); the instance weight
 * is a sampling weight the .names file says must not be used. */
static const struct {
    const char *name;
    mtl_col_kind kind;
    bool log1p;
} census_cols[42] = {
    {"age", C, false},               {"class_worker", N, false},     {"det_ind_code", N, false},
    {"det_occ_code", N, false},      {"education", I, false},        {"wage_per_hour", C, true},
    {"hs_college", N, false},        {"marital_stat", I, false},     {"major_ind_code", N, false},
    {"major_occ_code", N, false},    {"race", N, false},             {"hisp_origin", N, false},
    {"sex", N, false},               {"union_member", N, false},     {"unemp_reason", N, false},
    {"full_or_part_emp", N, false},  {"capital_gains", C, true},     {"capital_losses", C, true},
    {"stock_dividends", C, true},    {"tax_filer_stat", N, false},   {"region_prev_res", N, false},
    {"state_prev_res", N, false},    {"det_hh_fam_stat", N, false},  {"det_hh_summ", N, false},
    {"instance_weight", I, false},   {"mig_chg_msa", N, false},      {"mig_chg_reg", N, false},
    {"mig_move_reg", N, false},      {"mig_same", N, false},         {"mig_prev_sunbelt", N, false},
    {"num_emp", C, false},           {"fam_under_18", N, false},     {"country_father", N, false},
    {"country_mother", N, false},    {"country_self", N, false},     {"citizenship", N, false},
    {"own_or_self", N, false},       {"vet_question", N, false},     {"vet_benefits", N, false},
    {"weeks_worked", C, false},      {"year", N, false},             {"income_50k", I, false},
};

#undef N
#undef C
#undef I

static int census_column(const char *name) {
    for (int c = 0; c < 42; c++)
        if (!strcmp(census_cols[c].name, name)) return c;
    return -1;
}

/* a binary task: positive values separated by '|' */
static mtl_status add_task(mtl_tab_schema *s, const char *name, const char *column, const char *values) {
    mtl_tab_task *t = &s->tasks[s->n_tasks];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->column = census_column(column);
    for (const char *p = values;;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == 0)
            return mtl_error(MTL_ERR_ARG, "census %s set '%s': an empty value (expected values separated by '|')",
                             name, values);
        if (n >= MTL_TAB_VALUE_MAX)
            return mtl_error(MTL_ERR_ARG, "census %s set: value '%.*s' is too long (at most %d bytes)", name, (int)n,
                             p, MTL_TAB_VALUE_MAX - 1);
        if (t->n_positive == MTL_TAB_MAX_POSITIVE)
            return mtl_error(MTL_ERR_ARG, "census %s set '%s': more than %d values", name, values,
                             MTL_TAB_MAX_POSITIVE);
        memcpy(t->positive[t->n_positive], p, n);
        t->positive[t->n_positive++][n] = '\0';
        if (!bar) break;
        p = bar + 1;
    }
    s->n_tasks++;
    return MTL_OK;
}

mtl_status mtl_tab_schema_census(int group, const char *education_set, mtl_tab_schema *out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "tab_schema_census: output is NULL");
    memset(out, 0, sizeof *out);
    if (group != 1 && group != 2)
        return mtl_error(MTL_ERR_ARG, "tab_schema_census: group %d (expected 1: income + never_married, or 2: "
                         "education + never_married)", group);
    mtl_tab_schema *s = out;
    snprintf(s->name, sizeof s->name, "census-income group %d", group);
    strcpy(s->delimiter, ", ");
    strcpy(s->missing, "?");
    strcpy(s->strip, ".");
    s->header = false;
    s->n_cols = 42;
    for (int c = 0; c < 42; c++) {
        strcpy(s->cols[c].name, census_cols[c].name);
        s->cols[c].kind = census_cols[c].kind;
        s->cols[c].log1p = census_cols[c].log1p;
    }
    mtl_status st = group == 1 ? add_task(s, "income", "income_50k", "50000+")
                               : add_task(s, "education", "education", mtl_census_education_values(education_set));
    if (!st) st = add_task(s, "never_married", "marital_stat", "Never married");
    if (st) memset(out, 0, sizeof *out);
    return st;
}

static bool is_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* dir/base.gz, else dir/base */
static mtl_status find_file(const char *dir, const char *base, char *path, size_t size) {
    int n = snprintf(path, size, "%s/%s.gz", dir, base);
    if (n < 0 || (size_t)n >= size)
        return mtl_error(MTL_ERR_ARG, "census_files: the path %s/%s.gz does not fit in %zu bytes", dir, base, size);
    if (is_file(path)) return MTL_OK;
    snprintf(path, size, "%s/%s", dir, base);
    if (is_file(path)) return MTL_OK;
    path[0] = '\0';
    return mtl_error(MTL_ERR_IO, "census_files: %s/%s.gz (or %s) not found", dir, base, base);
}

mtl_status mtl_census_files(const char *dir, char *train_path, char *test_path, size_t size) {
    if (!dir || !*dir || !train_path || !test_path || size == 0)
        return mtl_error(MTL_ERR_ARG, "census_files: null argument");
    train_path[0] = test_path[0] = '\0';
    struct stat sb;
    if (stat(dir, &sb) != 0) return mtl_error(MTL_ERR_IO, "census_files: %s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return mtl_error(MTL_ERR_IO, "census_files: %s is not a directory", dir);
    mtl_status st = find_file(dir, "census-income.data", train_path, size);
    if (!st) st = find_file(dir, "census-income.test", test_path, size);
    if (st) train_path[0] = test_path[0] = '\0';
    return st;
}
