/* Tabular data (include/mtl/tabular.h): the delimited-text reader, the fitted encoder
 * and its JSON form (description files: src/data/tabdesc.c).
 *
 * Speed matters here (the census training file is 104 MB of text): the file is
 * inflated in large chunks into one buffer and split in place, nominal values go
 * through one open-addressing hash table per column, and plain decimals are parsed
 * by an exact fast path (mantissa and power of ten both exact doubles, one correctly
 * rounded division), everything else by strtod. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "core/json.h"
#include "data/tabular_internal.h"

#define CHUNK ((size_t)4 << 20)
#define MAX_IDS MTL__TAB_MAX_IDS

/* ==== vocabularies: open addressing over the value strings ====================== */

typedef struct {
    uint32_t *slot; /* 0: empty, else entry index + 1 */
    uint32_t mask;
    uint32_t n, cap; /* entries */
    size_t *off;     /* entry i's text is pool[off[i] .. off[i] + len[i]) */
    uint32_t *len;
    uint64_t *hash;
    char *pool;
    size_t pool_len, pool_cap;
} vocab;

/* Loads of 8, 4 and 1 bytes; memcpy keeps them free of alignment and aliasing issues and
 * compiles to one load. */
static inline uint64_t load8(const char *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}
static inline uint32_t load4(const char *p) {
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

static inline uint64_t mix64(uint64_t h) {
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ull;
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ull;
    return h ^ (h >> 32);
}

/* Values are short (most under 16 bytes): overlapping loads of the first and last
 * bytes cover them without a loop over the length. */
static inline uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t a, b;
    if (n >= 8) {
        a = load8(s), b = load8(s + n - 8);
        for (size_t i = 8; i + 8 < n; i += 8) a = (a ^ load8(s + i)) * 0x9E3779B97F4A7C15ull, a ^= a >> 29;
    } else if (n >= 4) {
        a = load4(s), b = load4(s + n - 4);
    } else {
        a = n ? (uint64_t)(unsigned char)s[0] << 16 | (uint64_t)(unsigned char)s[n / 2] << 8 |
                    (unsigned char)s[n - 1]
              : 0;
        b = 0;
    }
    return mix64(a ^ (b * 0xC2B2AE3D27D4EB4Full) ^ ((uint64_t)n << 56));
}

/* memcmp(a, b, n) == 0, without a library call for the short values seen here */
static inline bool same_bytes(const char *a, const char *b, size_t n) {
    if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8)
            if (load8(a + i) != load8(b + i)) return false;
        return load8(a + n - 8) == load8(b + n - 8);
    }
    if (n >= 4) return load4(a) == load4(b) && load4(a + n - 4) == load4(b + n - 4);
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return false;
    return true;
}

static void vocab_free(vocab *v) {
    free(v->slot);
    free(v->off);
    free(v->len);
    free(v->hash);
    free(v->pool);
    memset(v, 0, sizeof *v);
}

/* the id (1..n) of s, or 0 when it is not in the vocabulary */
static uint32_t vocab_find(const vocab *v, const char *s, size_t n, uint64_t h) {
    if (!v->slot) return 0;
    for (uint32_t i = (uint32_t)h & v->mask;; i = (i + 1) & v->mask) {
        uint32_t e = v->slot[i];
        if (!e) return 0;
        e--;
        if (v->hash[e] == h && v->len[e] == n && same_bytes(v->pool + v->off[e], s, n)) return e + 1;
    }
}

static bool vocab_grow_table(vocab *v) {
    uint32_t ns = v->slot ? 2 * (v->mask + 1) : 64;
    if (ns == 0) return false;
    uint32_t *slot = calloc(ns, sizeof *slot);
    if (!slot) return false;
    for (uint32_t e = 0; e < v->n; e++) {
        uint32_t i = (uint32_t)v->hash[e] & (ns - 1);
        while (slot[i]) i = (i + 1) & (ns - 1);
        slot[i] = e + 1;
    }
    free(v->slot);
    v->slot = slot, v->mask = ns - 1;
    return true;
}

/* the id of s, added when new; 0 when out of memory */
static uint32_t vocab_add(vocab *v, const char *s, size_t n) {
    uint64_t h = hash_bytes(s, n);
    uint32_t id = vocab_find(v, s, n, h);
    if (id) return id;
    if (n > UINT32_MAX || v->n >= INT32_MAX - 1) return 0;
    if ((!v->slot || 2 * (v->n + 1) > v->mask + 1) && !vocab_grow_table(v)) return 0;
    if (v->n == v->cap) {
        uint32_t nc = v->cap ? 2 * v->cap : 16;
        size_t *off = realloc(v->off, nc * sizeof *off);
        if (off) v->off = off;
        uint32_t *len = realloc(v->len, nc * sizeof *len);
        if (len) v->len = len;
        uint64_t *hash = realloc(v->hash, nc * sizeof *hash);
        if (hash) v->hash = hash;
        if (!off || !len || !hash) return 0;
        v->cap = nc;
    }
    if (v->pool_cap - v->pool_len < n + 1) {
        size_t nc = v->pool_cap ? 2 * v->pool_cap : 1024;
        while (nc - v->pool_len < n + 1) nc *= 2;
        char *pool = realloc(v->pool, nc);
        if (!pool) return 0;
        v->pool = pool, v->pool_cap = nc;
    }
    memcpy(v->pool + v->pool_len, s, n);
    v->pool[v->pool_len + n] = '\0';
    uint32_t e = v->n++;
    v->off[e] = v->pool_len, v->len[e] = (uint32_t)n, v->hash[e] = h;
    v->pool_len += n + 1;
    uint32_t i = (uint32_t)h & v->mask;
    while (v->slot[i]) i = (i + 1) & v->mask;
    v->slot[i] = e + 1;
    return e + 1;
}

static const char *vocab_value(const vocab *v, uint32_t id) { return v->pool + v->off[id - 1]; }

/* ==== the encoder ================================================================ */

enum { OP_SKIP, OP_ID, OP_CONT, OP_HASH };

struct mtl_tab_encoder {
    mtl_tab_schema s;
    int n_ids, n_cont;
    int id_col[MTL_TAB_MAX_COLUMNS], cont_col[MTL_TAB_MAX_COLUMNS];
    unsigned char op[MTL_TAB_MAX_COLUMNS];
    int slot[MTL_TAB_MAX_COLUMNS];       /* id or continuous index of the column */
    uint64_t hash_seed[MTL_TAB_MAX_COLUMNS]; /* FNV-1a state after "<index>:" */
    vocab *voc;                          /* [n_ids] (none when hashed) */
    double mean[MTL_TAB_MAX_COLUMNS], std[MTL_TAB_MAX_COLUMNS];
    vocab cls[MTL_MAX_TASKS];            /* multi-class tasks: the classes */
    size_t missing_len, pos_len[MTL_MAX_TASKS][MTL_TAB_MAX_POSITIVE]; /* strlen, once */
};

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv1a(uint64_t h, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * FNV_PRIME;
    return h;
}

void mtl_tab_encoder_free(mtl_tab_encoder *e) {
    if (!e) return;
    if (e->voc)
        for (int i = 0; i < e->n_ids; i++) vocab_free(&e->voc[i]);
    free(e->voc);
    for (int k = 0; k < MTL_MAX_TASKS; k++) vocab_free(&e->cls[k]);
    free(e);
}

/* an empty encoder for a checked schema: the input roles of the columns */
static mtl_status encoder_new(const mtl_tab_schema *s, mtl_tab_encoder **out) {
    mtl_tab_encoder *e = calloc(1, sizeof *e);
    if (!e) return mtl_error(MTL_ERR_NOMEM, "%s: out of memory for the encoder", s->name);
    e->s = *s;
    e->missing_len = strlen(s->missing);
    for (int k = 0; k < s->n_tasks; k++)
        for (int p = 0; p < s->tasks[k].n_positive; p++) e->pos_len[k][p] = strlen(s->tasks[k].positive[p]);
    bool task_col[MTL_TAB_MAX_COLUMNS] = {false};
    for (int k = 0; k < s->n_tasks; k++) task_col[s->tasks[k].column] = true;
    bool hashed = s->hash_buckets > 0;
    for (int c = 0; c < s->n_cols; c++) {
        mtl_col_kind kind = s->cols[c].kind;
        if (kind == MTL_COL_IGNORE || task_col[c]) {
            e->op[c] = OP_SKIP;
        } else if (hashed || kind == MTL_COL_NOMINAL) {
            e->op[c] = hashed ? OP_HASH : OP_ID;
            e->slot[c] = e->n_ids;
            e->id_col[e->n_ids++] = c;
            char pre[16];
            int n = snprintf(pre, sizeof pre, "%d:", c);
            e->hash_seed[c] = fnv1a(FNV_OFFSET, pre, (size_t)n);
        } else {
            e->op[c] = OP_CONT;
            e->slot[c] = e->n_cont;
            e->mean[e->n_cont] = 0, e->std[e->n_cont] = 1;
            e->cont_col[e->n_cont++] = c;
        }
    }
    if (!hashed && e->n_ids > 0 && !(e->voc = calloc((size_t)e->n_ids, sizeof *e->voc))) {
        free(e);
        return mtl_error(MTL_ERR_NOMEM, "%s: out of memory for the encoder", s->name);
    }
    *out = e;
    return MTL_OK;
}

const mtl_tab_schema *mtl_tab_encoder_schema(const mtl_tab_encoder *e) { return e ? &e->s : NULL; }
int mtl_tab_encoder_n_ids(const mtl_tab_encoder *e) { return e ? e->n_ids : 0; }
int mtl_tab_encoder_n_cont(const mtl_tab_encoder *e) { return e ? e->n_cont : 0; }

int mtl_tab_encoder_vocab(const mtl_tab_encoder *e, int i) {
    if (!e || i < 0 || i >= e->n_ids) return 0;
    return e->s.hash_buckets > 0 ? e->s.hash_buckets : (int)e->voc[i].n + 1;
}

int mtl_tab_encoder_id_column(const mtl_tab_encoder *e, int i) {
    return e && i >= 0 && i < e->n_ids ? e->id_col[i] : -1;
}

int mtl_tab_encoder_cont_column(const mtl_tab_encoder *e, int j) {
    return e && j >= 0 && j < e->n_cont ? e->cont_col[j] : -1;
}

void mtl_tab_encoder_cont_stats(const mtl_tab_encoder *e, int j, double *mean, double *std) {
    bool ok = e && j >= 0 && j < e->n_cont;
    if (mean) *mean = ok ? e->mean[j] : NAN;
    if (std) *std = ok ? e->std[j] : NAN;
}

/* ==== reading delimited text ====================================================== */

typedef struct {
    gzFile g;
    const char *path;
    char *buf;
    size_t cap, len, pos;
    long long consumed; /* bytes before buf[0], for messages */
    bool eof;
    long long lineno;
} reader;

static mtl_status reader_open(reader *r, const char *path) {
    memset(r, 0, sizeof *r);
    r->path = path;
    struct stat sb;
    if (stat(path, &sb) != 0) return mtl_error(MTL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return mtl_error(MTL_ERR_IO, "%s: is a directory, expected a data file", path);
    r->g = gzopen(path, "rb");
    if (!r->g) return mtl_error(MTL_ERR_IO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOMEM));
    gzbuffer(r->g, 1u << 18);
    r->cap = CHUNK + 1;
    if (!(r->buf = malloc(r->cap))) {
        gzclose(r->g);
        r->g = NULL;
        return mtl_error(MTL_ERR_NOMEM, "%s: out of memory for the read buffer", path);
    }
    return MTL_OK;
}

static void reader_close(reader *r) {
    if (r->g) gzclose(r->g);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

/* the next line [*b, *e) without its newline: 1, or 0 at the end, or -1 (error set) */
static int reader_line(reader *r, char **b, char **e) {
    for (;;) {
        char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
        if (nl) {
            *b = r->buf + r->pos, *e = nl;
            r->pos = (size_t)(nl - r->buf) + 1;
            r->lineno++;
            return 1;
        }
        if (r->eof) {
            if (r->pos == r->len) return 0;
            *b = r->buf + r->pos, *e = r->buf + r->len; /* a last line without its newline */
            r->pos = r->len;
            r->lineno++;
            return 1;
        }
        size_t keep = r->len - r->pos;
        memmove(r->buf, r->buf + r->pos, keep);
        r->consumed += (long long)r->pos;
        r->len = keep, r->pos = 0;
        if (r->cap - r->len < CHUNK + 1) { /* a line longer than what the buffer holds */
            size_t nc = 2 * r->cap;
            char *nb = realloc(r->buf, nc);
            if (!nb) {
                mtl_error(MTL_ERR_NOMEM, "%s:%lld: out of memory for a line of over %zu bytes", r->path,
                          r->lineno + 1, keep);
                return -1;
            }
            r->buf = nb, r->cap = nc;
        }
        size_t want = r->cap - r->len - 1;
        if (want > (size_t)INT_MAX / 2) want = (size_t)INT_MAX / 2;
        int got = gzread(r->g, r->buf + r->len, (unsigned)want);
        int zerr = Z_OK;
        const char *zmsg = gzerror(r->g, &zerr);
        if (got < 0 || (zerr != Z_OK && zerr != Z_STREAM_END)) {
            if (!zmsg || !*zmsg) zmsg = "read error";
            size_t pl = strlen(r->path); /* zlib's message starts with the path */
            if (!strncmp(zmsg, r->path, pl) && !strncmp(zmsg + pl, ": ", 2)) zmsg += pl + 2;
            mtl_error(MTL_ERR_FORMAT, "%s: cannot read: %s (a cut or damaged gzip file?)", r->path, zmsg);
            return -1;
        }
        const char *nul = memchr(r->buf + r->len, '\0', (size_t)got);
        if (nul) {
            mtl_error(MTL_ERR_FORMAT, "%s: not a text file (a NUL byte at offset %lld)", r->path,
                      r->consumed + (long long)(nul - r->buf));
            return -1;
        }
        r->len += (size_t)got;
        if (got == 0) r->eof = true;
    }
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* index of the lowest set bit of t != 0 (a de Bruijn multiply: portable C, no builtins) */
static inline int lowest_bit(uint64_t t) {
    static const unsigned char pos[64] = {
        0,  1,  2,  53, 3,  7,  54, 27, 4,  38, 41, 8,  34, 55, 48, 28, 62, 5,  39, 46, 44, 42,
        22, 9,  24, 35, 59, 56, 49, 18, 29, 11, 63, 52, 6,  26, 37, 40, 33, 47, 61, 45, 43, 21,
        23, 58, 17, 10, 51, 25, 36, 32, 60, 20, 57, 16, 50, 31, 19, 15, 30, 14, 13, 12};
    return pos[((t & (~t + 1)) * 0x022FDD63CC95386Dull) >> 58];
}

static inline bool little_endian(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* whether the delimiter starts at q, given that its first byte does */
static inline bool is_delim(const char *q, const char *e, const char *delim, size_t dl) {
    return dl == 1 || ((size_t)(e - q) >= dl && same_bytes(q + 1, delim + 1, dl - 1));
}

/* Splits [b, e) at the delimiter into fb/fl (up to max fields); returns the field count.
 * Fields are short, so a memchr call per field costs more than it scans: the line is read
 * 8 bytes at a time instead, and word ^ (first delimiter byte * ONES) has a zero byte
 * where the word holds that byte. The flags above a true zero byte can be wrong (a borrow),
 * so every candidate is checked. */
static int split_fields(char *b, char *e, const char *delim, size_t dl, char **fb, size_t *fl, int max) {
    int n = 0;
    char d0 = delim[0], *p = b, *w = b;
    bool le = little_endian();
    uint64_t pat = (unsigned char)d0 * ONES;
    for (; le && e - w >= 8; w += 8) {
        uint64_t x = load8(w) ^ pat;
        for (uint64_t t = (x - ONES) & ~x & HIGHS; t; t &= t - 1) {
            char *q = w + (lowest_bit(t) >> 3);
            if (*q == d0 && q >= p && is_delim(q, e, delim, dl)) {
                if (n < max) fb[n] = p, fl[n] = (size_t)(q - p);
                n++;
                p = q + dl;
            }
        }
    }
    for (char *q = w; q < e; q++)
        if (*q == d0 && q >= p && is_delim(q, e, delim, dl)) {
            if (n < max) fb[n] = p, fl[n] = (size_t)(q - p);
            n++;
            p = q + dl;
        }
    if (n < max) fb[n] = p, fl[n] = (size_t)(e - p);
    return n + 1;
}

static const double pow10_tab[16] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
                                     1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/* a finite number filling [s, s+n) exactly (blanks around it allowed) */
static bool parse_number(const char *s, size_t n, double *out) {
    while (n > 0 && (*s == ' ' || *s == '\t')) s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n == 0) return false;
    /* fast path: [-+]digits[.digits] with at most 15 digits is exact as mantissa / 10^k */
    const char *p = s, *end = s + n;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+') p++;
    uint64_t m = 0;
    int digits = 0, frac = -1;
    for (; p < end; p++) {
        if (*p >= '0' && *p <= '9') {
            m = m * 10 + (uint64_t)(*p - '0');
            digits++;
            if (frac >= 0) frac++;
        } else if (*p == '.' && frac < 0) {
            frac = 0;
        } else {
            break;
        }
    }
    if (p == end && digits > 0 && digits <= 15) {
        double v = (double)m;
        if (frac > 0) v /= pow10_tab[frac];
        *out = neg ? -v : v;
        return true;
    }
    char tmp[128];
    if (n >= sizeof tmp) return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *stop;
    double v = strtod(tmp, &stop);
    if (*stop || !isfinite(v)) return false;
    *out = v;
    return true;
}

/* the encoded rows as they are read */
typedef struct {
    mtl_tab_encoder *e;
    bool fit, labels;
    int width;
    int64_t n, cap;
    float *x;   /* [cap, width] */
    double *raw; /* fit: [cap, n_cont] log1p'd values, NaN for missing */
    int32_t *y[MTL_MAX_TASKS];
} sink;

static void sink_free(sink *k) {
    free(k->x);
    free(k->raw);
    for (int t = 0; t < MTL_MAX_TASKS; t++) free(k->y[t]);
}

static bool sink_reserve(sink *k) {
    if (k->n < k->cap) return true;
    int64_t nc = k->cap ? 2 * k->cap : 8192;
    float *x = realloc(k->x, (size_t)nc * (size_t)k->width * sizeof *x);
    if (!x) return false;
    k->x = x;
    if (k->fit && k->e->n_cont > 0) {
        double *raw = realloc(k->raw, (size_t)nc * (size_t)k->e->n_cont * sizeof *raw);
        if (!raw) return false;
        k->raw = raw;
    }
    if (k->labels)
        for (int t = 0; t < k->e->s.n_tasks; t++) {
            int32_t *y = realloc(k->y[t], (size_t)nc * sizeof *y);
            if (!y) return false;
            k->y[t] = y;
        }
    k->cap = nc;
    return true;
}

static int clip_len(size_t n) { return n > 60 ? 60 : (int)n; }

static mtl_status check_header(const mtl_tab_schema *s, const reader *r, char **fb, size_t *fl, int nf) {
    if (nf != s->n_cols)
        return mtl_error(MTL_ERR_FORMAT, "%s:%lld: the header has %d names, the description %s %d columns", r->path,
                         r->lineno, nf, s->name, s->n_cols);
    for (int c = 0; c < nf; c++) {
        const char *b = fb[c];
        size_t n = fl[c];
        while (n > 0 && (*b == ' ' || *b == '\t')) b++, n--;
        while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\t')) n--;
        if (n >= 2 && b[0] == '"' && b[n - 1] == '"') b++, n -= 2;
        if (strlen(s->cols[c].name) != n || memcmp(b, s->cols[c].name, n))
            return mtl_error(MTL_ERR_FORMAT, "%s:%lld: header column %d is '%.*s', the description %s names it '%s'",
                             r->path, r->lineno, c + 1, clip_len(n), b, s->name, s->cols[c].name);
    }
    return MTL_OK;
}

static mtl_status encode_row(sink *k, const reader *r, char **fb, size_t *fl) {
    mtl_tab_encoder *e = k->e;
    const mtl_tab_schema *s = &e->s;
    if (!sink_reserve(k))
        return mtl_error(MTL_ERR_NOMEM, "%s: out of memory after %lld rows", r->path, (long long)k->n);
    float *row = k->x + (size_t)k->n * (size_t)k->width;
    float *cont = row + e->n_ids;
    double *raw = k->fit && k->raw ? k->raw + (size_t)k->n * (size_t)e->n_cont : NULL;
    size_t ml = e->missing_len;
    for (int c = 0; c < s->n_cols; c++) {
        int op = e->op[c], j = e->slot[c];
        if (op == OP_SKIP) continue;
        const char *b = fb[c];
        size_t n = fl[c];
        if (op == OP_ID) {
            uint32_t id = k->fit ? vocab_add(&e->voc[j], b, n) : vocab_find(&e->voc[j], b, n, hash_bytes(b, n));
            if (k->fit && !id) return mtl_error(MTL_ERR_NOMEM, "%s:%lld: out of memory for the vocabulary of '%s'",
                                                r->path, r->lineno, s->cols[c].name);
            if (id > MAX_IDS)
                return mtl_error(MTL_ERR_RANGE, "%s:%lld: column '%s' has more than %d distinct values (ids are "
                                 "stored as float)", r->path, r->lineno, s->cols[c].name, MAX_IDS);
            row[j] = (float)id;
        } else if (op == OP_HASH) {
            row[j] = (float)(fnv1a(e->hash_seed[c], b, n) % (uint64_t)s->hash_buckets);
        } else if (n == ml && same_bytes(b, s->missing, n)) {
            if (raw) raw[j] = NAN;
            cont[j] = 0.0f;
        } else {
            double v;
            if (!parse_number(b, n, &v))
                return mtl_error(MTL_ERR_FORMAT, "%s:%lld: column '%s' (field %d): '%.*s' is not a number", r->path,
                                 r->lineno, s->cols[c].name, c + 1, clip_len(n), b);
            if (s->cols[c].log1p) {
                if (v <= -1)
                    return mtl_error(MTL_ERR_FORMAT, "%s:%lld: column '%s' (field %d): %.*s is <= -1 (log1p needs "
                                     "values > -1)", r->path, r->lineno, s->cols[c].name, c + 1, clip_len(n), b);
                v = log1p(v);
            }
            if (raw) raw[j] = v;
            else cont[j] = (float)((v - e->mean[j]) / e->std[j]);
        }
    }
    if (k->labels)
        for (int t = 0; t < s->n_tasks; t++) {
            const mtl_tab_task *task = &s->tasks[t];
            const char *b = fb[task->column];
            size_t n = fl[task->column];
            int32_t y = 0;
            if (!task->multiclass) {
                for (int p = 0; p < task->n_positive && !y; p++)
                    y = e->pos_len[t][p] == n && same_bytes(task->positive[p], b, n);
            } else if (k->fit) {
                uint32_t id = vocab_add(&e->cls[t], b, n);
                if (!id) return mtl_error(MTL_ERR_NOMEM, "%s: out of memory for the classes of '%s'", r->path,
                                          task->name);
                y = (int32_t)id - 1;
            } else {
                uint32_t id = vocab_find(&e->cls[t], b, n, hash_bytes(b, n));
                if (!id)
                    return mtl_error(MTL_ERR_FORMAT, "%s:%lld: column '%s': class '%.*s' of task '%s' was not seen in "
                                     "training", r->path, r->lineno, s->cols[task->column].name, clip_len(n), b,
                                     task->name);
                y = (int32_t)id - 1;
            }
            k->y[t][k->n] = y;
        }
    k->n++;
    return MTL_OK;
}

/* reads every row of path into k */
static mtl_status read_rows(sink *k, const char *path) {
    const mtl_tab_schema *s = &k->e->s;
    reader r;
    mtl_status st = reader_open(&r, path);
    if (st) return st;
    size_t dl = strlen(s->delimiter), sl = strlen(s->strip);
    char *fb[MTL_TAB_MAX_COLUMNS];
    size_t fl[MTL_TAB_MAX_COLUMNS];
    bool need_header = s->header;
    char *b, *e;
    int got;
    while (!st && (got = reader_line(&r, &b, &e)) > 0) {
        if (e > b && e[-1] == '\r') e--;
        const char *q = b;
        while (q < e && (*q == ' ' || *q == '\t')) q++;
        if (q == e) continue;
        if (r.lineno == 1 && e - b >= 3 && !memcmp(b, "\xEF\xBB\xBF", 3)) b += 3; /* UTF-8 byte order mark */
        int nf = split_fields(b, e, s->delimiter, dl, fb, fl, MTL_TAB_MAX_COLUMNS);
        if (nf == s->n_cols && sl && fl[nf - 1] >= sl && !memcmp(fb[nf - 1] + fl[nf - 1] - sl, s->strip, sl))
            fl[nf - 1] -= sl;
        if (need_header) {
            need_header = false;
            st = check_header(s, &r, fb, fl, nf);
            continue;
        }
        if (nf != s->n_cols) {
            char d[32];
            snprintf(d, sizeof d, "%s", strcmp(s->delimiter, "\t") ? s->delimiter : "\\t");
            st = mtl_error(MTL_ERR_FORMAT, "%s:%lld: %d fields, expected %d (the columns of %s, split on \"%s\")",
                           path, r.lineno, nf, s->n_cols, s->name, d);
            break;
        }
        st = encode_row(k, &r, fb, fl);
    }
    if (!st && got < 0) st = mtl_last_status();
    if (!st && k->n == 0) st = mtl_error(MTL_ERR_FORMAT, "%s: empty file (no data rows)", path);
    reader_close(&r);
    return st;
}

/* moves the rows of k into out (which takes over the buffers) */
static mtl_status sink_to_dataset(sink *k, mtl_dataset *out) {
    const mtl_tab_encoder *e = k->e;
    const mtl_tab_schema *s = &e->s;
    if (k->n > INT_MAX) return mtl_error(MTL_ERR_RANGE, "tabular: %lld rows is too many", (long long)k->n);
    mtl_status st = mtl_dataset_alloc(out, (int)k->n, 1, k->width, s->n_tasks);
    if (st) return st;
    free(out->x);
    out->x = k->x, k->x = NULL;
    for (int t = 0; t < s->n_tasks; t++) {
        const mtl_tab_task *task = &s->tasks[t];
        snprintf(out->task_names[t], MTL_TASK_NAME_MAX, "%s", task->name);
        if (k->labels) {
            free(out->y[t]);
            out->y[t] = k->y[t], k->y[t] = NULL;
        }
        if (!task->multiclass) {
            out->n_classes[t] = 2;
            strcpy(out->class_names[t][0], "no");
            strcpy(out->class_names[t][1], "yes");
        } else {
            out->n_classes[t] = (int)e->cls[t].n;
            for (uint32_t c = 0; c < e->cls[t].n && c < MTL_MAX_NAMED_CLASSES; c++)
                snprintf(out->class_names[t][c], MTL_CLASS_NAME_MAX, "%s", vocab_value(&e->cls[t], c + 1));
        }
    }
    return MTL_OK;
}

mtl_status mtl_tab_fit(const mtl_tab_schema *s, const char *train_path, mtl_tab_encoder **enc, mtl_dataset *train) {
    if (train) memset(train, 0, sizeof *train);
    if (enc) *enc = NULL;
    if (!s || !enc) return mtl_error(MTL_ERR_ARG, "tab_fit: null argument");
    if (!train_path || !*train_path) return mtl_error(MTL_ERR_ARG, "tab_fit: null or empty training path");
    mtl_status st = mtl__tab_schema_check(s, s->name[0] ? s->name : "tab_fit");
    mtl_tab_encoder *e = NULL;
    if (!st) st = encoder_new(s, &e);
    if (st) return st;
    sink k = {.e = e, .fit = true, .labels = true, .width = e->n_ids + e->n_cont};
    st = read_rows(&k, train_path);
    for (int t = 0; t < s->n_tasks && !st; t++) {
        const mtl_tab_task *task = &s->tasks[t];
        if (task->multiclass && e->cls[t].n < 2)
            st = mtl_error(MTL_ERR_FORMAT, "%s: task '%s' has %u class in column '%s' (expected at least 2)",
                           train_path, task->name, (unsigned)e->cls[t].n, s->cols[task->column].name);
        if (task->multiclass || st) continue;
        int64_t pos = 0; /* a positive set that never (or always) matches is a typo, not a task */
        for (int64_t i = 0; i < k.n; i++) pos += k.y[t][i] == 1;
        if (pos == 0 || pos == k.n)
            st = mtl_error(MTL_ERR_FORMAT, "%s: task '%s': %s of the %lld rows has a positive value in column '%s' "
                           "(positive: '%s'%s; expected both classes)", train_path, task->name, pos ? "every one" : "none",
                           (long long)k.n, s->cols[task->column].name, task->positive[0],
                           task->n_positive > 1 ? " and others" : "");
    }
    /* training statistics over the non-missing values, then standardise in place */
    for (int j = 0; j < e->n_cont && !st; j++) {
        const double *raw = k.raw + j;
        size_t w = (size_t)e->n_cont;
        double sum = 0, ss = 0;
        int64_t cnt = 0;
        for (int64_t i = 0; i < k.n; i++)
            if (!isnan(raw[(size_t)i * w])) sum += raw[(size_t)i * w], cnt++;
        double mean = cnt ? sum / (double)cnt : 0;
        for (int64_t i = 0; i < k.n; i++) {
            double d = raw[(size_t)i * w] - mean;
            if (!isnan(d)) ss += d * d;
        }
        double sd = cnt ? sqrt(ss / (double)cnt) : 1;
        if (!isfinite(mean) || !isfinite(sd)) {
            st = mtl_error(MTL_ERR_NUMERIC, "%s: column '%s': values too large to standardise", train_path,
                           s->cols[e->cont_col[j]].name);
            break;
        }
        if (!(sd > 0)) sd = 1; /* a constant column */
        e->mean[j] = mean, e->std[j] = sd;
        for (int64_t i = 0; i < k.n; i++) {
            double v = raw[(size_t)i * w];
            k.x[(size_t)i * (size_t)k.width + (size_t)e->n_ids + (size_t)j] =
                isnan(v) ? 0.0f : (float)((v - mean) / sd);
        }
    }
    if (!st && train) st = sink_to_dataset(&k, train);
    sink_free(&k);
    if (st) {
        mtl_tab_encoder_free(e);
        return st;
    }
    *enc = e;
    return MTL_OK;
}

mtl_status mtl_tab_encode_file(const mtl_tab_encoder *e, const char *path, bool labels, mtl_dataset *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!e || !out) return mtl_error(MTL_ERR_ARG, "tab_encode_file: null argument");
    if (!path || !*path) return mtl_error(MTL_ERR_ARG, "tab_encode_file: null or empty path");
    /* encoding only reads the vocabularies: the cast is safe because fit is false */
    sink k = {.e = (mtl_tab_encoder *)e, .fit = false, .labels = labels, .width = e->n_ids + e->n_cont};
    mtl_status st = read_rows(&k, path);
    if (!st) st = sink_to_dataset(&k, out);
    sink_free(&k);
    return st;
}

/* ==== JSON ======================================================================== */

typedef struct {
    char *s;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->cap - b->n < n + 1) {
        size_t nc = b->cap ? 2 * b->cap : 4096;
        while (nc - b->n < n + 1) nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns, b->cap = nc;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void sb_cat(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) b->oom = true; /* only short numbers are printed */
    else sb_put(b, tmp, (size_t)n);
}

static void sb_str(sbuf *b, const char *s) {
    sb_cat(b, "\"");
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sb_put(b, esc, 2);
        } else if (c < 0x20) {
            sb_printf(b, "\\u%04x", c);
        } else {
            sb_put(b, p, 1);
        }
    }
    sb_cat(b, "\"");
}

static void sb_key(sbuf *b, const char *key) {
    sb_str(b, key);
    sb_cat(b, ": ");
}

static void sb_vocab(sbuf *b, const vocab *v) {
    sb_cat(b, "[");
    for (uint32_t id = 1; id <= v->n; id++) {
        if (id > 1) sb_cat(b, ", ");
        sb_str(b, vocab_value(v, id));
    }
    sb_cat(b, "]");
}

mtl_status mtl_tab_encoder_to_json(const mtl_tab_encoder *e, char **json) {
    if (json) *json = NULL;
    if (!e || !json) return mtl_error(MTL_ERR_ARG, "tab_encoder_to_json: null argument");
    const mtl_tab_schema *s = &e->s;
    sbuf b = {0};
    sb_cat(&b, "{\"format\": \"mtl-tabular-encoder\", \"version\": 1,\n \"schema\": {");
    sb_key(&b, "name"), sb_str(&b, s->name), sb_cat(&b, ", ");
    sb_key(&b, "delimiter"), sb_str(&b, s->delimiter), sb_cat(&b, ", ");
    sb_printf(&b, "\"header\": %s, ", s->header ? "true" : "false");
    sb_key(&b, "missing"), sb_str(&b, s->missing), sb_cat(&b, ", ");
    sb_key(&b, "strip"), sb_str(&b, s->strip), sb_cat(&b, ", ");
    sb_printf(&b, "\"hash_buckets\": %d,\n  \"columns\": [", s->hash_buckets);
    for (int c = 0; c < s->n_cols; c++) {
        sb_cat(&b, c ? ",\n   {" : "\n   {");
        sb_key(&b, "name"), sb_str(&b, s->cols[c].name);
        sb_printf(&b, ", \"kind\": \"%s\", \"log1p\": %s}", mtl__tab_kind_name(s->cols[c].kind),
                  s->cols[c].log1p ? "true" : "false");
    }
    sb_cat(&b, "],\n  \"tasks\": [");
    for (int k = 0; k < s->n_tasks; k++) {
        const mtl_tab_task *t = &s->tasks[k];
        sb_cat(&b, k ? ",\n   {" : "\n   {");
        sb_key(&b, "name"), sb_str(&b, t->name), sb_cat(&b, ", ");
        sb_key(&b, "column"), sb_str(&b, s->cols[t->column].name);
        sb_printf(&b, ", \"kind\": \"%s\"", t->multiclass ? "multiclass" : "binary");
        if (!t->multiclass) {
            sb_cat(&b, ", \"positive\": [");
            for (int p = 0; p < t->n_positive; p++) {
                if (p) sb_cat(&b, ", ");
                sb_str(&b, t->positive[p]);
            }
            sb_cat(&b, "]");
        }
        sb_cat(&b, "}");
    }
    sb_cat(&b, "]},\n \"vocab\": {");
    for (int i = 0; i < e->n_ids && e->voc; i++) {
        sb_cat(&b, i ? ",\n  " : "\n  ");
        sb_key(&b, s->cols[e->id_col[i]].name);
        sb_vocab(&b, &e->voc[i]);
    }
    sb_cat(&b, "},\n \"stats\": {");
    for (int j = 0; j < e->n_cont; j++) {
        sb_cat(&b, j ? ",\n  " : "\n  ");
        sb_key(&b, s->cols[e->cont_col[j]].name);
        sb_printf(&b, "{\"mean\": %.17g, \"std\": %.17g}", e->mean[j], e->std[j]);
    }
    sb_cat(&b, "},\n \"classes\": {");
    bool first = true;
    for (int k = 0; k < s->n_tasks; k++) {
        if (!s->tasks[k].multiclass) continue;
        sb_cat(&b, first ? "\n  " : ",\n  ");
        first = false;
        sb_key(&b, s->tasks[k].name);
        sb_vocab(&b, &e->cls[k]);
    }
    sb_cat(&b, "}}\n");
    if (b.oom) {
        free(b.s);
        return mtl_error(MTL_ERR_NOMEM, "tab_encoder_to_json: out of memory");
    }
    *json = b.s;
    return MTL_OK;
}

#define JW "encoder JSON"

static const mtl_json *jget(const mtl_json *o, const char *key, mtl_json_type type) {
    const mtl_json *v = mtl_json_get(o, key);
    return v && v->type == type ? v : NULL;
}

static mtl_status jstring(const mtl_json *o, const char *key, const char *where, char *dst, size_t cap) {
    const mtl_json *v = jget(o, key, MTL_JSON_STRING);
    if (!v) return mtl_error(MTL_ERR_FORMAT, JW ": %s.%s is missing or not a string", where, key);
    if (!mtl__tab_copy_str(dst, cap, v->string))
        return mtl_error(MTL_ERR_FORMAT, JW ": %s.%s '%s' is too long (at most %zu bytes)", where, key, v->string,
                         cap - 1);
    return MTL_OK;
}

static mtl_status json_schema(const mtl_json *js, mtl_tab_schema *s) {
    if (!js) return mtl_error(MTL_ERR_FORMAT, JW ": 'schema' is missing or not an object");
    memset(s, 0, sizeof *s);
    mtl_status st = jstring(js, "name", "schema", s->name, sizeof s->name);
    if (!st) st = jstring(js, "delimiter", "schema", s->delimiter, sizeof s->delimiter);
    if (!st) st = jstring(js, "missing", "schema", s->missing, sizeof s->missing);
    if (!st) st = jstring(js, "strip", "schema", s->strip, sizeof s->strip);
    if (st) return st;
    const mtl_json *hd = jget(js, "header", MTL_JSON_BOOL), *hb = jget(js, "hash_buckets", MTL_JSON_NUMBER);
    if (!hd) return mtl_error(MTL_ERR_FORMAT, JW ": schema.header is missing or not true/false");
    if (!hb || hb->number != floor(hb->number) || hb->number < 0 || hb->number > INT_MAX)
        return mtl_error(MTL_ERR_FORMAT, JW ": schema.hash_buckets is missing or not a count >= 0");
    s->header = hd->number != 0, s->hash_buckets = (int)hb->number;
    const mtl_json *cols = jget(js, "columns", MTL_JSON_ARRAY), *tasks = jget(js, "tasks", MTL_JSON_ARRAY);
    if (!cols || cols->count < 1 || cols->count > MTL_TAB_MAX_COLUMNS)
        return mtl_error(MTL_ERR_FORMAT, JW ": schema.columns is missing or not an array of 1..%d columns",
                         MTL_TAB_MAX_COLUMNS);
    if (!tasks || tasks->count > MTL_MAX_TASKS)
        return mtl_error(MTL_ERR_FORMAT, JW ": schema.tasks is missing or not an array of 0..%d tasks", MTL_MAX_TASKS);
    char where[64];
    for (const mtl_json *c = cols->child; c; c = c->next) {
        mtl_tab_column *col = &s->cols[s->n_cols];
        snprintf(where, sizeof where, "schema.columns[%d]", s->n_cols);
        char kind[16];
        const mtl_json *lp = jget(c, "log1p", MTL_JSON_BOOL);
        if ((st = jstring(c, "name", where, col->name, sizeof col->name)) ||
            (st = jstring(c, "kind", where, kind, sizeof kind)))
            return st;
        if (!mtl__tab_kind_parse(kind, &col->kind))
            return mtl_error(MTL_ERR_FORMAT, JW ": %s.kind '%s' (expected continuous, nominal or ignore)", where, kind);
        if (!lp) return mtl_error(MTL_ERR_FORMAT, JW ": %s.log1p is missing or not true/false", where);
        col->log1p = lp->number != 0 && col->kind == MTL_COL_CONTINUOUS;
        s->n_cols++;
    }
    for (const mtl_json *t = tasks->child; t; t = t->next) {
        mtl_tab_task *task = &s->tasks[s->n_tasks];
        snprintf(where, sizeof where, "schema.tasks[%d]", s->n_tasks);
        char col[MTL_TAB_NAME_MAX], kind[16];
        if ((st = jstring(t, "name", where, task->name, sizeof task->name)) ||
            (st = jstring(t, "column", where, col, sizeof col)) || (st = jstring(t, "kind", where, kind, sizeof kind)))
            return st;
        if ((task->column = mtl__tab_find_column(s, col)) < 0)
            return mtl_error(MTL_ERR_FORMAT, JW ": %s.column '%s' is not a column of the schema", where, col);
        task->multiclass = !strcmp(kind, "multiclass");
        if (!task->multiclass && strcmp(kind, "binary"))
            return mtl_error(MTL_ERR_FORMAT, JW ": %s.kind '%s' (expected binary or multiclass)", where, kind);
        if (!task->multiclass) {
            const mtl_json *pos = jget(t, "positive", MTL_JSON_ARRAY);
            if (!pos || pos->count < 1 || pos->count > MTL_TAB_MAX_POSITIVE)
                return mtl_error(MTL_ERR_FORMAT, JW ": %s.positive is missing or not an array of 1..%d values", where,
                                 MTL_TAB_MAX_POSITIVE);
            for (const mtl_json *p = pos->child; p; p = p->next) {
                if (p->type != MTL_JSON_STRING || !mtl__tab_copy_str(task->positive[task->n_positive], MTL_TAB_VALUE_MAX,
                                                            p->string))
                    return mtl_error(MTL_ERR_FORMAT, JW ": %s.positive[%d] is not a string of at most %d bytes", where,
                                     task->n_positive, MTL_TAB_VALUE_MAX - 1);
                task->n_positive++;
            }
        }
        s->n_tasks++;
    }
    return mtl__tab_schema_check(s, JW);
}

/* a vocabulary from an array of distinct strings */
static mtl_status json_vocab(const mtl_json *arr, vocab *v, const char *what, const char *name) {
    if (!arr || arr->type != MTL_JSON_ARRAY)
        return mtl_error(MTL_ERR_FORMAT, JW ": %s '%s' is missing or not an array", what, name);
    int i = 0;
    for (const mtl_json *x = arr->child; x; x = x->next, i++) {
        if (x->type != MTL_JSON_STRING)
            return mtl_error(MTL_ERR_FORMAT, JW ": %s '%s' entry %d is not a string", what, name, i);
        size_t n = strlen(x->string);
        uint32_t before = v->n, id = vocab_add(v, x->string, n);
        if (!id) return mtl_error(MTL_ERR_NOMEM, JW ": out of memory");
        if (v->n == before)
            return mtl_error(MTL_ERR_FORMAT, JW ": %s '%s' lists '%s' twice", what, name, x->string);
    }
    return MTL_OK;
}

mtl_status mtl_tab_encoder_from_json(const char *json, mtl_tab_encoder **out) {
    if (out) *out = NULL;
    if (!json || !out) return mtl_error(MTL_ERR_ARG, "tab_encoder_from_json: null argument");
    mtl_json *root = NULL;
    mtl_status st = mtl_json_parse(json, strlen(json), JW, &root);
    if (st) return st;
    mtl_tab_schema *s = malloc(sizeof *s);
    mtl_tab_encoder *e = NULL;
    const mtl_json *fmt = jget(root, "format", MTL_JSON_STRING);
    if (!s) st = mtl_error(MTL_ERR_NOMEM, JW ": out of memory");
    else if (!fmt || strcmp(fmt->string, "mtl-tabular-encoder"))
        st = mtl_error(MTL_ERR_FORMAT, JW ": 'format' is missing or not \"mtl-tabular-encoder\"");
    if (!st) st = json_schema(jget(root, "schema", MTL_JSON_OBJECT), s);
    if (!st) st = encoder_new(s, &e);
    const mtl_json *voc = jget(root, "vocab", MTL_JSON_OBJECT), *stats = jget(root, "stats", MTL_JSON_OBJECT),
                   *cls = jget(root, "classes", MTL_JSON_OBJECT);
    if (!st && (!voc || !stats || !cls))
        st = mtl_error(MTL_ERR_FORMAT, JW ": '%s' is missing or not an object",
                       !voc ? "vocab" : !stats ? "stats" : "classes");
    for (int i = 0; !st && e->voc && i < e->n_ids; i++) {
        const char *name = s->cols[e->id_col[i]].name;
        st = json_vocab(mtl_json_get(voc, name), &e->voc[i], "vocabulary of column", name);
    }
    for (int j = 0; !st && j < e->n_cont; j++) {
        const char *name = s->cols[e->cont_col[j]].name;
        const mtl_json *o = jget(stats, name, MTL_JSON_OBJECT);
        const mtl_json *m = jget(o, "mean", MTL_JSON_NUMBER), *sd = jget(o, "std", MTL_JSON_NUMBER);
        if (!m || !sd || !isfinite(m->number) || !(sd->number > 0) || !isfinite(sd->number))
            st = mtl_error(MTL_ERR_FORMAT, JW ": stats of column '%s' missing or not {\"mean\": finite, \"std\": > 0}",
                           name);
        else
            e->mean[j] = m->number, e->std[j] = sd->number;
    }
    for (int k = 0; !st && k < s->n_tasks; k++) {
        if (!s->tasks[k].multiclass) continue;
        st = json_vocab(mtl_json_get(cls, s->tasks[k].name), &e->cls[k], "classes of task", s->tasks[k].name);
        if (!st && e->cls[k].n < 2)
            st = mtl_error(MTL_ERR_FORMAT, JW ": task '%s' has fewer than 2 classes", s->tasks[k].name);
    }
    mtl_json_free(root);
    free(s);
    if (st) {
        mtl_tab_encoder_free(e);
        return st;
    }
    *out = e;
    return MTL_OK;
}

