#include "core/json.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t n, i;
    const char *what;
    mtl_status status;
    int depth;
} parser;

static void *fail(parser *p, const char *msg) {
    if (p->status == MTL_OK)
        p->status = mtl_error(MTL_ERR_FORMAT, "%s: invalid JSON at byte %zu: %s", p->what, p->i, msg);
    return NULL;
}

static void skip_ws(parser *p) {
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')) p->i++;
}

static mtl_json *node(parser *p, mtl_json_type type) {
    mtl_json *v = calloc(1, sizeof *v);
    if (!v) {
        p->status = mtl_error(MTL_ERR_NOMEM, "%s: out of memory parsing JSON", p->what);
        return NULL;
    }
    v->type = type;
    return v;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static char *parse_string(parser *p) {
    if (p->i >= p->n || p->s[p->i] != '"') return fail(p, "expected a string");
    p->i++;
    char *out = malloc(p->n - p->i + 1);
    if (!out) return fail(p, "out of memory");
    size_t k = 0;
    while (p->i < p->n && p->s[p->i] != '"') {
        unsigned char c = (unsigned char)p->s[p->i++];
        if (c < 0x20) return free(out), fail(p, "control character in string");
        if (c != '\\') {
            out[k++] = (char)c;
            continue;
        }
        if (p->i >= p->n) break;
        char e = p->s[p->i++];
        switch (e) {
        case '"': out[k++] = '"'; break;
        case '\\': out[k++] = '\\'; break;
        case '/': out[k++] = '/'; break;
        case 'b': out[k++] = '\b'; break;
        case 'f': out[k++] = '\f'; break;
        case 'n': out[k++] = '\n'; break;
        case 'r': out[k++] = '\r'; break;
        case 't': out[k++] = '\t'; break;
        case 'u': {
            unsigned cp = 0;
            for (int j = 0; j < 4; j++) {
                int h = p->i < p->n ? hexval(p->s[p->i++]) : -1;
                if (h < 0) return free(out), fail(p, "bad \\u escape");
                cp = cp * 16 + (unsigned)h;
            }
            if (cp < 0x80) out[k++] = (char)cp; /* UTF-8 encode (surrogates kept as-is) */
            else if (cp < 0x800) out[k++] = (char)(0xC0 | (cp >> 6)), out[k++] = (char)(0x80 | (cp & 0x3F));
            else out[k++] = (char)(0xE0 | (cp >> 12)), out[k++] = (char)(0x80 | ((cp >> 6) & 0x3F)),
                 out[k++] = (char)(0x80 | (cp & 0x3F));
            break;
        }
        default: return free(out), fail(p, "bad escape");
        }
    }
    if (p->i >= p->n) return free(out), fail(p, "unterminated string");
    p->i++;
    out[k] = '\0';
    return out;
}

static mtl_json *parse_value(parser *p);

static mtl_json *parse_container(parser *p, bool object) {
    mtl_json *v = node(p, object ? MTL_JSON_OBJECT : MTL_JSON_ARRAY);
    if (!v) return NULL;
    p->i++; /* [ or { */
    mtl_json **tail = &v->child;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == (object ? '}' : ']')) {
        p->i++;
        return v;
    }
    for (;;) {
        skip_ws(p);
        char *key = NULL;
        if (object) {
            key = parse_string(p);
            if (!key) return mtl_json_free(v), NULL;
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':') return free(key), mtl_json_free(v), fail(p, "expected ':'");
            p->i++;
        }
        mtl_json *e = parse_value(p);
        if (!e) return free(key), mtl_json_free(v), NULL;
        e->key = key;
        *tail = e;
        tail = &e->next;
        v->count++;
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == (object ? '}' : ']')) {
            p->i++;
            return v;
        }
        mtl_json_free(v);
        return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static mtl_json *parse_value(parser *p) {
    skip_ws(p);
    if (p->i >= p->n) return fail(p, "unexpected end");
    if (++p->depth > 64) return fail(p, "nested too deeply");
    mtl_json *v = NULL;
    char c = p->s[p->i];
    if (c == '{' || c == '[') {
        v = parse_container(p, c == '{');
    } else if (c == '"') {
        char *s = parse_string(p);
        if (s && (v = node(p, MTL_JSON_STRING))) v->string = s;
        else free(s);
    } else if (p->n - p->i >= 4 && !memcmp(p->s + p->i, "true", 4)) {
        if ((v = node(p, MTL_JSON_BOOL))) v->number = 1, p->i += 4;
    } else if (p->n - p->i >= 5 && !memcmp(p->s + p->i, "false", 5)) {
        if ((v = node(p, MTL_JSON_BOOL))) p->i += 5;
    } else if (p->n - p->i >= 4 && !memcmp(p->s + p->i, "null", 4)) {
        if ((v = node(p, MTL_JSON_NULL))) p->i += 4;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        char buf[64];
        size_t k = 0;
        while (p->i < p->n && k < sizeof buf - 1 && strchr("+-0123456789.eE", p->s[p->i])) buf[k++] = p->s[p->i++];
        buf[k] = '\0';
        char *end;
        double d = strtod(buf, &end);
        if (*end != '\0' || k == 0) return fail(p, "bad number");
        if ((v = node(p, MTL_JSON_NUMBER))) v->number = d;
    } else {
        return fail(p, "unexpected character");
    }
    p->depth--;
    return v;
}

mtl_status mtl_json_parse(const char *text, size_t len, const char *what, mtl_json **out) {
    if (!text || !out) return mtl_error(MTL_ERR_ARG, "json_parse: null argument");
    parser p = {text, len, 0, what ? what : "JSON", MTL_OK, 0};
    mtl_json *v = parse_value(&p);
    if (v) {
        skip_ws(&p);
        if (p.i != p.n) {
            mtl_json_free(v);
            v = fail(&p, "trailing characters");
        }
    }
    *out = v;
    return v ? MTL_OK : p.status;
}

void mtl_json_free(mtl_json *v) {
    while (v) {
        mtl_json *next = v->next;
        mtl_json_free(v->child);
        free(v->string);
        free(v->key);
        free(v);
        v = next;
    }
}

const mtl_json *mtl_json_get(const mtl_json *obj, const char *key) {
    if (!obj || obj->type != MTL_JSON_OBJECT) return NULL;
    for (const mtl_json *e = obj->child; e; e = e->next)
        if (e->key && strcmp(e->key, key) == 0) return e;
    return NULL;
}
