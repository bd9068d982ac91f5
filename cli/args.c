#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void default_str(const arg_spec *s, char *buf, size_t cap) {
    switch (s->type) {
    case ARG_INT: snprintf(buf, cap, "%d", *(int *)s->value); break;
    case ARG_U64: snprintf(buf, cap, "%llu", (unsigned long long)*(uint64_t *)s->value); break;
    case ARG_FLOAT: snprintf(buf, cap, "%g", (double)*(float *)s->value); break;
    case ARG_STRING: {
        const char *v = *(const char **)s->value;
        snprintf(buf, cap, "%s", v && *v ? v : "(none)");
        break;
    }
    case ARG_BOOL: snprintf(buf, cap, "%s", *(bool *)s->value ? "on" : "off"); break;
    }
}

static const char *type_word(arg_type t) {
    switch (t) {
    case ARG_INT: return "N";
    case ARG_U64: return "N";
    case ARG_FLOAT: return "X";
    case ARG_STRING: return "S";
    case ARG_BOOL: return "";
    }
    return "";
}

void args_help(const char *cmd, const char *summary, const arg_spec *specs, int n_specs) {
    printf("usage: mtl %s [flags]\n\n%s\n\nflags:\n", cmd, summary);
    for (int i = 0; i < n_specs; i++) {
        char def[128], left[64];
        default_str(&specs[i], def, sizeof def);
        snprintf(left, sizeof left, "--%s %s", specs[i].name, type_word(specs[i].type));
        printf("  %-24s %s (default: %s)\n", left, specs[i].help, def);
    }
    printf("  %-24s show this help\n", "--help");
}

static int set_value(const char *cmd, arg_spec *s, const char *text) {
    char *end;
    errno = 0;
    switch (s->type) {
    case ARG_INT: {
        long v = strtol(text, &end, 10);
        if (*text == '\0' || *end || errno || v < -2147483647L || v > 2147483647L) {
            fprintf(stderr, "mtl %s: --%s: '%s' is not an integer\n", cmd, s->name, text);
            return 2;
        }
        if (s->min != s->max && (v < s->min || v > s->max)) {
            fprintf(stderr, "mtl %s: --%s: %ld is outside %g..%g\n", cmd, s->name, v, s->min, s->max);
            return 2;
        }
        *(int *)s->value = (int)v;
        return 0;
    }
    case ARG_U64: {
        unsigned long long v = strtoull(text, &end, 10);
        if (*text == '\0' || *text == '-' || *end || errno) {
            fprintf(stderr, "mtl %s: --%s: '%s' is not a non-negative integer\n", cmd, s->name, text);
            return 2;
        }
        *(uint64_t *)s->value = (uint64_t)v;
        return 0;
    }
    case ARG_FLOAT: {
        double v = strtod(text, &end);
        if (*text == '\0' || *end || errno || !isfinite(v)) {
            fprintf(stderr, "mtl %s: --%s: '%s' is not a finite number\n", cmd, s->name, text);
            return 2;
        }
        if (s->min != s->max && (v < s->min || v > s->max)) {
            fprintf(stderr, "mtl %s: --%s: %g is outside %g..%g\n", cmd, s->name, v, s->min, s->max);
            return 2;
        }
        *(float *)s->value = (float)v;
        return 0;
    }
    case ARG_STRING: *(const char **)s->value = text; return 0;
    case ARG_BOOL:
        if (!strcmp(text, "1") || !strcmp(text, "on") || !strcmp(text, "true") || !strcmp(text, "yes")) *(bool *)s->value = true;
        else if (!strcmp(text, "0") || !strcmp(text, "off") || !strcmp(text, "false") || !strcmp(text, "no")) *(bool *)s->value = false;
        else {
            fprintf(stderr, "mtl %s: --%s: '%s' is not on/off\n", cmd, s->name, text);
            return 2;
        }
        return 0;
    }
    return 2;
}

int args_parse(const char *cmd, const char *summary, arg_spec *specs, int n_specs, int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            args_help(cmd, summary, specs, n_specs);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "mtl %s: unexpected argument '%s' (flags start with --; see mtl %s --help)\n", cmd, a, cmd);
            return 2;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        arg_spec *s = NULL;
        for (int j = 0; j < n_specs; j++)
            if (strlen(specs[j].name) == len && !strncmp(specs[j].name, name, len)) s = &specs[j];
        if (!s) {
            fprintf(stderr, "mtl %s: unknown flag '--%.*s' (see mtl %s --help)\n", cmd, (int)len, name, cmd);
            return 2;
        }
        const char *val = eq ? eq + 1 : NULL;
        if (!val && s->type == ARG_BOOL) val = "on";
        if (!val) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mtl %s: --%s needs a value\n", cmd, s->name);
                return 2;
            }
            val = argv[++i];
        }
        int r = set_value(cmd, s, val);
        if (r) return r;
    }
    return 0;
}

void json_string(const char *s) {
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}
