/* The CWRU bearing data by directory: the 10 MTAGN conditions of one motor load,
 * recognised by file NAME anywhere below a folder (names as in ../shared/data/cwru:
 * normal_0_97.mat, 12k_Drive_End_IR007_0_105.mat, 12k_Drive_End_OR007@6_0_130.mat). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mtl/data.h"

#define N_COND 10
#define MAX_DEPTH 16

/* record order = label order; labels as in the MTAGN spec (ball = RF = 3) */
static const struct {
    const char *tag; /* the condition as it appears in the file name */
    int type, severity;
} conds[N_COND] = {{"normal", 0, 0}, {"IR007", 1, 1}, {"IR014", 1, 2}, {"IR021", 1, 3}, {"OR007", 2, 1},
                   {"OR014", 2, 2},  {"OR021", 2, 3}, {"B007", 3, 1},  {"B014", 3, 2},  {"B021", 3, 3}};

static const char *const type_names[4] = {"NC", "IF", "OF", "RF"};
static const char *const severity_names[4] = {"F0", "0.007", "0.014", "0.021"};

void mtl_recordset_free(mtl_recordset *r) {
    if (!r) return;
    for (int i = 0; r->rec && i < r->n_records; i++) mtl_signal_free(&r->rec[i].sig);
    free(r->rec);
    memset(r, 0, sizeof *r);
}

static bool eq_ci(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return false;
    return true;
}

static bool all_digits(const char *s, size_t n) {
    if (n == 0 || n > 6) return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return false;
    return true;
}

typedef struct {
    int cond, load, file_no;
    char token[16]; /* the condition as written, e.g. "OR007@6" */
} cwru_name;

/* parses "<prefix>_<condition>_<load>_<no>.mat"; false for any other name (including
 * outer-race faults at 3:00 or 12:00, and diameters MTAGN does not use) */
static bool parse_name(const char *base, cwru_name *out) {
    size_t n = strlen(base);
    if (n < 4 || !eq_ci(base + n - 4, ".mat", 4)) return false;
    n -= 4;
    const char *end = base + n, *us[3]; /* the last three '_' */
    int k = 0;
    for (const char *p = end; p > base && k < 3;)
        if (*--p == '_') us[k++] = p;
    if (k < 2) return false;
    const char *no = us[0] + 1, *ld = us[1] + 1, *tok = k == 3 ? us[2] + 1 : base;
    if (!all_digits(no, (size_t)(end - no)) || !all_digits(ld, (size_t)(us[0] - ld))) return false;
    size_t tl = (size_t)(us[1] - tok);
    if (tl == 0 || tl >= sizeof out->token) return false;
    out->cond = -1;
    for (int c = 0; c < N_COND; c++) {
        size_t cl = strlen(conds[c].tag);
        if (tl < cl || !eq_ci(tok, conds[c].tag, cl)) continue;
        /* outer race: only the load-zone position @6 (or no position given) */
        if (tl == cl || (c >= 4 && c <= 6 && tl == cl + 2 && tok[cl] == '@' && tok[cl + 1] == '6')) out->cond = c;
    }
    if (out->cond < 0) return false;
    out->load = atoi(ld);
    out->file_no = atoi(no);
    for (size_t i = 0; i < tl; i++) out->token[i] = out->cond ? (char)toupper((unsigned char)tok[i]) : tok[i];
    out->token[tl] = '\0';
    if (out->cond == 0) strcpy(out->token, "normal");
    return true;
}

typedef struct {
    int load;
    char *path[N_COND];
    cwru_name name[N_COND];
    char *dup[2]; /* the first ambiguity found */
} search;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static mtl_status walk(const char *dir, int depth, search *S) {
    DIR *d = opendir(dir);
    if (!d) {
        if (depth == 0) return mtl_error(MTL_ERR_IO, "cwru_open: %s: cannot open directory: %s", dir, strerror(errno));
        return MTL_OK; /* an unreadable subfolder cannot hold what we look for */
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    mtl_status s = MTL_OK;
    for (struct dirent *e; !s && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 32;
            char **nn = realloc(names, nc * sizeof *nn);
            if (!nn) {
                s = mtl_error(MTL_ERR_NOMEM, "cwru_open: out of memory listing %s", dir);
                break;
            }
            names = nn, cap = nc;
        }
        if (!(names[n] = malloc(strlen(e->d_name) + 1))) s = mtl_error(MTL_ERR_NOMEM, "cwru_open: out of memory");
        else strcpy(names[n++], e->d_name);
    }
    closedir(d);
    if (!s && n > 1) qsort(names, n, sizeof *names, cmp_str); /* readdir order is arbitrary: sort for determinism */
    char path[MTL_PATH_MAX];
    for (size_t i = 0; i < n && !s; i++) {
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path) continue;
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < MAX_DEPTH) s = walk(path, depth + 1, S);
            continue;
        }
        cwru_name nm;
        if (!S_ISREG(st.st_mode) || !parse_name(names[i], &nm) || nm.load != S->load) continue;
        char *copy = malloc(strlen(path) + 1);
        if (!copy) {
            s = mtl_error(MTL_ERR_NOMEM, "cwru_open: out of memory");
            break;
        }
        strcpy(copy, path);
        if (!S->path[nm.cond]) {
            S->path[nm.cond] = copy;
            S->name[nm.cond] = nm;
        } else if (!S->dup[0]) {
            S->dup[0] = copy;
            S->dup[1] = S->path[nm.cond];
        } else {
            free(copy);
        }
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return s;
}

static void search_free(search *S) {
    for (int c = 0; c < N_COND; c++) free(S->path[c]);
    if (S->dup[0]) free(S->dup[0]);
}

/* one message listing every missing condition */
static mtl_status missing_error(const search *S, const char *dir) {
    int n_missing = 0;
    for (int c = 0; c < N_COND; c++) n_missing += !S->path[c];
    int L = S->load;
    if (n_missing == N_COND)
        return mtl_error(MTL_ERR_IO, "cwru_open: no CWRU files for load %d under %s (expected names like "
                         "normal_%d_<no>.mat and 12k_Drive_End_IR007_%d_<no>.mat)", L, dir, L, L);
    if (n_missing == 1 && !S->path[0])
        return mtl_error(MTL_ERR_IO, "cwru_open: no normal record for load %d (normal_%d_*.mat) under %s", L, L, dir);
    char list[300];
    size_t len = 0;
    for (int c = 0; c < N_COND && len < sizeof list; c++)
        if (!S->path[c])
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s%s_%d_*.mat", len ? ", " : "",
                                    c ? "*_" : "", conds[c].tag, L);
    return mtl_error(MTL_ERR_IO, "cwru_open: %d of the 10 conditions missing for load %d under %s: %s", n_missing, L,
                     dir, list);
}

static void fill_tasks(mtl_recordset *r) {
    r->n_tasks = 2;
    r->n_classes[0] = 4, r->n_classes[1] = 4;
    strcpy(r->task_names[0], "fault_type");
    strcpy(r->task_names[1], "fault_severity");
    for (int c = 0; c < 4; c++) {
        strcpy(r->class_names[0][c], type_names[c]);
        strcpy(r->class_names[1][c], severity_names[c]);
    }
}

static bool has_48k(const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    for (; b[0] && b[1] && b[2]; b++)
        if (b[0] == '4' && b[1] == '8' && (b[2] == 'k' || b[2] == 'K')) return true;
    return false;
}

mtl_status mtl_cwru_open(const char *dir, int load, const char *channel, mtl_recordset *out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "cwru_open: output is NULL");
    memset(out, 0, sizeof *out);
    if (!dir || !*dir) return mtl_error(MTL_ERR_ARG, "cwru_open: null or empty directory");
    if (load < 0 || load > 3) return mtl_error(MTL_ERR_ARG, "cwru_open: load %d hp (expected 0, 1, 2 or 3)", load);
    if (!channel) channel = "DE";
    char var[64];
    if (mtl_cwru_variable("x_1.mat", channel, var, sizeof var))
        return mtl_error(MTL_ERR_ARG, "cwru_open: channel '%s' (expected DE, FE or BA)", channel);

    char root[MTL_PATH_MAX];
    if (snprintf(root, sizeof root, "%s", dir) >= (int)sizeof root)
        return mtl_error(MTL_ERR_ARG, "cwru_open: directory name too long");
    for (size_t n = strlen(root); n > 1 && root[n - 1] == '/';) root[--n] = '\0'; /* "dir/" -> "dir" */
    dir = root;
    search S;
    memset(&S, 0, sizeof S);
    S.load = load;
    mtl_status s = walk(dir, 0, &S);
    if (!s && S.dup[0])
        s = mtl_error(MTL_ERR_FORMAT, "cwru_open: two files for the same condition at load %d: %s and %s (point to "
                      "a folder holding one of them)", load, S.dup[1], S.dup[0]);
    bool complete = true;
    for (int c = 0; c < N_COND; c++) complete = complete && S.path[c];
    if (!s && !complete) s = missing_error(&S, dir);
    if (!s && !(out->rec = calloc(N_COND, sizeof *out->rec)))
        s = mtl_error(MTL_ERR_NOMEM, "cwru_open: out of memory");
    if (s) {
        search_free(&S);
        return s;
    }
    fill_tasks(out);
    for (int c = 0; c < N_COND && !s; c++) {
        mtl_record *R = &out->rec[c];
        const cwru_name *nm = &S.name[c];
        out->n_records = c + 1;
        snprintf(R->path, sizeof R->path, "%s", S.path[c]);
        snprintf(R->name, sizeof R->name, "%s_%d_%d", nm->token, nm->load, nm->file_no);
        R->file_no = nm->file_no;
        R->load_hp = nm->load;
        R->label[0] = conds[c].type;
        R->label[1] = conds[c].severity;
        s = mtl_cwru_variable(R->path, channel, R->var, sizeof R->var);
        if (!s) s = mtl_mat_read(R->path, R->var, NULL, &R->sig);
        if (s && c == 0 && (channel[0] == 'b' || channel[0] == 'B')) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", mtl_last_error());
            s = mtl_error(s, "%s (the CWRU normal baselines have no BA channel)", msg);
        }
        if (!s) R->sig.fs = c == 0 || has_48k(R->path) ? 48000.0 : 12000.0;
    }
    search_free(&S);
    if (s) mtl_recordset_free(out);
    return s;
}
