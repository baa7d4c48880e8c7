/*
 * prism-provider-check — the provider conformance kit: runs every case of
 * its table on a provider and on a reference provider and compares them.
 * See docs/provider-check.md. Exit status: 0 when no case failed, 1 when one
 * did or a provider cannot be loaded, 2 for usage errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"

#define PROG "prism-provider-check"
#define USAGE_ERROR 2

static void usage(FILE *out) {
    fprintf(out,
            "usage: " PROG " --provider NAME_OR_PATH [--reference NAME_OR_PATH] [--filter OP[,OP...]]\n"
            "                            [--provider-option P:K=V ...] [--seed N] [-v] [--list]\n"
            "\n"
            "Runs each single-node case of the kit on the provider under test and on the reference\n"
            "provider (default cpu) with the same seeded inputs, and compares the outputs\n"
            "(float: abs %g + rel %g; integers and bools: exactly).\n"
            "\n"
            "  --provider P     provider under test: a name (found like any provider) or a library path\n"
            "  --reference P    provider whose outputs are taken as right (default cpu)\n"
            "  --filter OPS     only the cases of these op types (comma-separated)\n"
            "  --provider-option P:K=V  an option for provider P in every session (repeatable),\n"
            "                   e.g. xrt:csim=1 or opencl:device=1\n"
            "  --seed N         seed of the generated inputs (default 1)\n"
            "  -v, --verbose    say why each case was skipped; log warnings to stderr\n"
            "  --list           list the cases (with --filter: those selected) and exit\n"
            "  -h, --help       this text\n"
            "\n"
            "Output: one line per case, 'PASS|FAIL|SKIP  OP DESCRIPTION' (a FAIL is followed by its\n"
            "reason), then 'N passed, N failed, N skipped'. Exit status: 0 when nothing failed, 1 when\n"
            "a case failed or a provider cannot be loaded, 2 for usage errors.\n",
            PC_ATOL, PC_RTOL);
}

static void log_to_stderr(void *user, prism_log_level level, const char *message) {
    (void)user;
    static const char *const names[] = {"debug", "info", "warning", "error"};
    fprintf(stderr, PROG " [%s] %s\n", level <= PRISM_LOG_ERROR ? names[level] : "?", message);
}

#define MAX_OPTIONS 32

typedef struct args {
    const char *provider, *reference, *filter;
    const char *options[MAX_OPTIONS];
    size_t n_options;
    unsigned long long seed;
    bool verbose, list, corrupt;
} args;

/* Returns 0, or USAGE_ERROR after printing why. */
static int parse_args(int argc, char **argv, args *a) {
    *a = (args){.reference = "cpu", .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char **slot = !strcmp(arg, "--provider")    ? &a->provider
                            : !strcmp(arg, "--reference") ? &a->reference
                            : !strcmp(arg, "--filter")    ? &a->filter
                                                          : NULL;
        if (slot || !strcmp(arg, "--seed")) {
            if (i + 1 >= argc || !*argv[i + 1]) {
                fprintf(stderr, PROG ": %s needs a value\n", arg);
                return USAGE_ERROR;
            }
            const char *value = argv[++i];
            if (slot) {
                *slot = value;
                continue;
            }
            char *end;
            errno = 0;
            a->seed = strtoull(value, &end, 10);
            if (*end || errno || value[0] == '-') {
                fprintf(stderr, PROG ": --seed expects a non-negative integer, got '%s'\n", value);
                return USAGE_ERROR;
            }
        } else if (!strcmp(arg, "--provider-option")) {
            if (i + 1 >= argc || !strchr(argv[i + 1], ':') || !strchr(argv[i + 1], '=')) {
                fprintf(stderr, PROG ": --provider-option needs PROVIDER:KEY=VALUE\n");
                return USAGE_ERROR;
            }
            if (a->n_options == MAX_OPTIONS) {
                fprintf(stderr, PROG ": at most %d --provider-option\n", MAX_OPTIONS);
                return USAGE_ERROR;
            }
            a->options[a->n_options++] = argv[++i];
        } else if (!strcmp(arg, "-v") || !strcmp(arg, "--verbose")) {
            a->verbose = true;
        } else if (!strcmp(arg, "--list")) {
            a->list = true;
        } else if (!strcmp(arg, "--self-test-corrupt")) {
            a->corrupt = true; /* undocumented in --help: proves in the tests that a mismatch is caught */
        } else if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, PROG ": unknown argument '%s' (see --help)\n", arg);
            return USAGE_ERROR;
        }
    }
    if (!a->provider && !a->list) {
        fprintf(stderr, PROG ": --provider is required (see --help)\n");
        return USAGE_ERROR;
    }
    return 0;
}

/* Whether op is in the comma-separated filter (NULL: everything). */
static bool selected(const char *filter, const char *op) {
    if (!filter) return true;
    size_t len = strlen(op);
    for (const char *p = filter;;) {
        size_t n = strcspn(p, ",");
        if (n == len && !strncasecmp(p, op, n)) return true;
        if (!p[n]) return false;
        p += n + 1;
    }
}

/* Every entry of the filter must name an op of the table. */
static int check_filter(const char *filter) {
    for (const char *p = filter;;) {
        size_t n = strcspn(p, ",");
        bool known = false;
        for (size_t c = 0; c < pc_case_count && !known; c++)
            known = strlen(pc_cases[c].op) == n && !strncasecmp(p, pc_cases[c].op, n);
        if (!known) {
            fprintf(stderr, PROG ": --filter: no case for op '%.*s' (see --list)\n", (int)n, p);
            return USAGE_ERROR;
        }
        if (!p[n]) return 0;
        p += n + 1;
    }
}

/* Load one provider into a fresh env; returns its name (owned by the env)
 * or NULL after printing why. */
static const char *load(prism_env *env, const char *what, const char *name_or_path) {
    prism_status st = prism_env_load_provider(env, name_or_path);
    if (st) {
        fprintf(stderr, PROG ": cannot load the %s provider '%s': %s: %s\n", what, name_or_path, prism_status_name(st),
                prism_last_error_message());
        return NULL;
    }
    size_t index = prism_env_provider_count(env) - 1; /* the env is fresh: the one just loaded */
    const char *name = prism_env_provider_name(env, index);
    if (!prism_env_device_count(env, index)) {
        const char *why = prism_env_provider_reason(env, index);
        fprintf(stderr, PROG ": the %s provider '%s' has no device%s%s\n", what, name, why && *why ? ": " : "",
                why ? why : "");
        return NULL;
    }
    return name;
}

/* Print a reason under its case line, indented, one line per line. */
static void print_reason(const char *reason) {
    for (const char *p = reason; *p;) {
        size_t n = strcspn(p, "\n");
        printf("      %.*s\n", (int)n, p);
        p += n;
        if (*p) p++;
    }
}

static int run_all(const args *a, pc_target *t) {
    size_t passed = 0, failed = 0, skipped = 0;
    char *reason = malloc(PC_MSG * 4);
    if (!reason) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    if (a->verbose) {
        printf("# provider under test: %s (%s), reference: %s (%s), seed %llu\n", t->provider,
               prism_env_provider_path(t->env, prism_env_provider_count(t->env) - 1), t->reference,
               prism_env_provider_path(t->ref_env, prism_env_provider_count(t->ref_env) - 1), a->seed);
    }
    for (size_t c = 0; c < pc_case_count; c++) {
        const pc_case *pc = &pc_cases[c];
        if (!selected(a->filter, pc->op)) continue;
        reason[0] = '\0';
        pc_verdict v = pc_run_case(t, pc, reason, PC_MSG * 4);
        printf("%s  %s %s\n", v == PC_PASS ? "PASS" : v == PC_FAIL ? "FAIL" : "SKIP", pc->op, pc->desc);
        if (v == PC_FAIL || (v == PC_SKIP && a->verbose)) print_reason(reason);
        fflush(stdout);
        *(v == PC_PASS ? &passed : v == PC_FAIL ? &failed : &skipped) += 1;
    }
    printf("%zu passed, %zu failed, %zu skipped\n", passed, failed, skipped);
    free(reason);
    return failed ? 1 : 0;
}

int main(int argc, char **argv) {
    args a;
    int rc = parse_args(argc, argv, &a);
    if (!rc && a.filter) rc = check_filter(a.filter);
    if (rc) return rc;
    if (a.list) {
        for (size_t c = 0; c < pc_case_count; c++)
            if (selected(a.filter, pc_cases[c].op)) printf("%s %s\n", pc_cases[c].op, pc_cases[c].desc);
        return 0;
    }
    prism_env *env = NULL, *ref_env = NULL;
    prism_status st = prism_env_create(&env);
    if (!st) st = prism_env_create(&ref_env);
    if (st) {
        fprintf(stderr, PROG ": cannot create an environment: %s\n", prism_last_error_message());
        prism_env_destroy(env);
        return 1;
    }
    if (a.verbose) {
        prism_env_set_logger(env, log_to_stderr, NULL, PRISM_LOG_WARNING);
        prism_env_set_logger(ref_env, log_to_stderr, NULL, PRISM_LOG_WARNING);
    }
    pc_target t = {.env = env,
                   .ref_env = ref_env,
                   .seed = a.seed,
                   .corrupt = a.corrupt,
                   .options = a.options,
                   .n_options = a.n_options};
    t.provider = load(env, "tested", a.provider);
    t.reference = t.provider ? load(ref_env, "reference", a.reference) : NULL;
    rc = t.provider && t.reference ? run_all(&a, &t) : 1;
    prism_env_destroy(env);
    prism_env_destroy(ref_env);
    return rc;
}
