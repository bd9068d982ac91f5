/* Flag tables for the mtl subcommands: parsing (--name value or --name=value) and
 * help text that shows every flag with its default. */
#ifndef MTL_CLI_ARGS_H
#define MTL_CLI_ARGS_H
#include <stdbool.h>
#include <stdint.h>

typedef enum { ARG_INT, ARG_U64, ARG_FLOAT, ARG_STRING, ARG_BOOL } arg_type;

typedef struct {
    const char *name; /* without the dashes */
    arg_type type;
    void *value;      /* int*, uint64_t*, float*, const char**, bool*; holds the default */
    const char *help;
    double min, max;  /* numeric range (ignored when min == max) */
} arg_spec;

/* Parses argv[0..argc) against specs (n_specs entries). Returns 0 on success, 1 if
 * --help was given (help printed to stdout), 2 on a usage error (printed to stderr). */
int args_parse(const char *cmd, const char *summary, arg_spec *specs, int n_specs, int argc, char **argv);
/* a JSON string literal (quoted, escaped) on stdout */
void json_string(const char *s);
void args_help(const char *cmd, const char *summary, const arg_spec *specs, int n_specs);
#endif
