/*
 * prism-conformance — runs ONNX backend tests (model.onnx plus
 * test_data_set_N folders of input_K.pb and output_K.pb) through the public API.
 *
 * Each test runs in a child process, so a crash or a hang is reported as a
 * FAIL of that test and the runner goes on. A test is SKIP only when Prism
 * says it does not support something (PRISM_ERR_NOT_SUPPORTED: an op, an
 * opset, a dtype) or the test feeds non-tensor values; every other error
 * is a FAIL. With --expect, the run fails when a test recorded as PASS does
 * not pass. The last line is "N passed, N failed, N skipped".
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prism/prism.h"

typedef struct options {
    const char **filters;
    size_t n_filters;
    const char **provider_options; /* "PROVIDER:KEY=VALUE" */
    size_t n_provider_options;
    const char *expect, *update, *providers;
    unsigned timeout;
    bool verbose;
} options;

enum outcome { PASS, FAIL, SKIP };
static const char *const outcome_name[] = {"PASS", "FAIL", "SKIP"};

/* ---- comparison ----------------------------------------------------------- */

static float half_to_float(uint16_t h) {
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float)(m | 0x400), e - 25);
    return (h & 0x8000) ? -v : v;
}

static double as_double(const prism_tensor *t, int64_t i) {
    const void *d = prism_tensor_data_const(t);
    switch (prism_tensor_dtype(t)) {
    case PRISM_DTYPE_FLOAT: return ((const float *)d)[i];
    case PRISM_DTYPE_DOUBLE: return ((const double *)d)[i];
    case PRISM_DTYPE_FLOAT16: return half_to_float(((const uint16_t *)d)[i]);
    case PRISM_DTYPE_BFLOAT16: {
        uint32_t bits = (uint32_t)((const uint16_t *)d)[i] << 16;
        float f;
        memcpy(&f, &bits, 4);
        return f;
    }
    case PRISM_DTYPE_COMPLEX64: return ((const float *)d)[i];
    case PRISM_DTYPE_COMPLEX128: return ((const double *)d)[i];
    default: return 0;
    }
}

static bool is_float_type(prism_dtype t) {
    return t == PRISM_DTYPE_FLOAT || t == PRISM_DTYPE_DOUBLE || t == PRISM_DTYPE_FLOAT16 ||
           t == PRISM_DTYPE_BFLOAT16;
}

/* Writes a reason into why and returns false on mismatch. */
static bool compare(const prism_tensor *got, const prism_tensor *want, char *why, size_t why_size) {
    if (prism_tensor_dtype(got) != prism_tensor_dtype(want)) {
        snprintf(why, why_size, "dtype %s, expected %s", prism_dtype_name(prism_tensor_dtype(got)),
                 prism_dtype_name(prism_tensor_dtype(want)));
        return false;
    }
    size_t rank = prism_tensor_rank(got);
    bool same_shape = rank == prism_tensor_rank(want);
    for (size_t i = 0; same_shape && i < rank; i++) same_shape = prism_tensor_dims(got)[i] == prism_tensor_dims(want)[i];
    if (!same_shape) {
        char a[256] = "[", b[256] = "[";
        for (size_t i = 0; i < rank; i++)
            snprintf(a + strlen(a), sizeof a - strlen(a), "%s%lld", i ? "," : "", (long long)prism_tensor_dims(got)[i]);
        for (size_t i = 0; i < prism_tensor_rank(want); i++)
            snprintf(b + strlen(b), sizeof b - strlen(b), "%s%lld", i ? "," : "", (long long)prism_tensor_dims(want)[i]);
        snprintf(why, why_size, "shape %s], expected %s]", a, b);
        return false;
    }
    prism_dtype dt = prism_tensor_dtype(got);
    int64_t n = prism_tensor_element_count(got);
    if (dt == PRISM_DTYPE_STRING) {
        char *const *g = prism_tensor_data_const(got), *const *w = prism_tensor_data_const(want);
        for (int64_t i = 0; i < n; i++)
            if (strcmp(g[i] ? g[i] : "", w[i] ? w[i] : "")) {
                snprintf(why, why_size, "string %lld is '%.40s', expected '%.40s'", (long long)i, g[i] ? g[i] : "",
                         w[i] ? w[i] : "");
                return false;
            }
        return true;
    }
    if (is_float_type(dt) || dt == PRISM_DTYPE_COMPLEX64 || dt == PRISM_DTYPE_COMPLEX128) {
        int64_t m = dt == PRISM_DTYPE_COMPLEX64 || dt == PRISM_DTYPE_COMPLEX128 ? 2 * n : n;
        for (int64_t i = 0; i < m; i++) {
            double g = as_double(got, i), w = as_double(want, i);
            if (isnan(w) && isnan(g)) continue;
            if (isinf(w) && g == w) continue;
            if (!(fabs(g - w) <= 1e-5 + 1e-3 * fabs(w))) {
                snprintf(why, why_size, "element %lld is %.9g, expected %.9g", (long long)i, g, w);
                return false;
            }
        }
        return true;
    }
    if (memcmp(prism_tensor_data_const(got), prism_tensor_data_const(want), prism_tensor_byte_size(got)) != 0) {
        size_t es = prism_dtype_size(dt);
        const unsigned char *g = prism_tensor_data_const(got), *w = prism_tensor_data_const(want);
        int64_t i = 0;
        while (i < n && !memcmp(g + i * es, w + i * es, es)) i++;
        snprintf(why, why_size, "element %lld differs (exact comparison for %s)", (long long)i, prism_dtype_name(dt));
        return false;
    }
    return true;
}

/* ---- one test (in the child) --------------------------------------------- */

static bool is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool file_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names of entries of dir starting with prefix (directories only when
 * dirs_only). */
static char **list_dir(const char *dir, const char *prefix, bool dirs_only, size_t *count) {
    DIR *d = opendir(dir);
    *count = 0;
    if (!d) return NULL;
    size_t cap = 64;
    char **names = malloc(cap * sizeof *names);
    struct dirent *e;
    while (names && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix))) continue;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[8300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (dirs_only && !is_dir(path)) continue;
        if (*count == cap) {
            char **n2 = realloc(names, (cap *= 2) * sizeof *names);
            if (!n2) break;
            names = n2;
        }
        names[(*count)++] = strdup(e->d_name);
    }
    closedir(d);
    if (names) qsort(names, *count, sizeof *names, cmp_str);
    return names;
}

static void free_list(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

static enum outcome unsupported_or_fail(prism_status st, char *why, size_t size, const char *what) {
    snprintf(why, size, "%s: %s: %s", what, prism_status_name(st), prism_last_error_message());
    return st == PRISM_ERR_NOT_SUPPORTED ? SKIP : FAIL;
}

static enum outcome run_data_set(prism_session *s, const char *set_dir, char *why, size_t why_size) {
    size_t n_in = prism_session_input_count(s), n_out = prism_session_output_count(s);
    prism_tensor **ins = calloc(n_in + 1, sizeof *ins), **outs = calloc(n_out + 1, sizeof *outs);
    const char **names = calloc(n_in + 1, sizeof *names);
    enum outcome res = PASS;
    size_t fed = 0;
    for (size_t k = 0;; k++) {
        char path[8300];
        snprintf(path, sizeof path, "%s/input_%zu.pb", set_dir, k);
        if (!file_exists(path)) break;
        const char *pb_name = NULL;
        prism_tensor *t;
        prism_status st = prism_tensor_load_pb(path, &t, &pb_name);
        if (st) {
            snprintf(why, why_size, "input_%zu.pb is not a tensor Prism reads (sequence/optional/new dtype?): %s", k,
                     prism_last_error_message());
            res = SKIP;
            goto done;
        }
        /* By name when the file names a graph input, else by position. */
        size_t slot = k;
        for (size_t i = 0; pb_name && *pb_name && i < n_in; i++) {
            prism_value_info info = {.struct_size = sizeof info};
            prism_session_input(s, i, &info);
            if (!strcmp(info.name, pb_name)) slot = i;
        }
        if (slot >= n_in || ins[slot]) {
            prism_tensor_destroy(t);
            snprintf(why, why_size, "input_%zu.pb has no matching graph input (%zu inputs)", k, n_in);
            res = FAIL;
            goto done;
        }
        prism_value_info info = {.struct_size = sizeof info};
        prism_session_input(s, slot, &info);
        ins[slot] = t;
        names[fed++] = info.name;
    }
    /* Compact the fed inputs (an optional graph input may be left out). */
    prism_tensor **fed_t = calloc(n_in + 1, sizeof *fed_t);
    size_t nf = 0;
    for (size_t i = 0; fed_t && i < n_in; i++)
        if (ins[i]) {
            prism_value_info info = {.struct_size = sizeof info};
            prism_session_input(s, i, &info);
            names[nf] = info.name;
            fed_t[nf++] = ins[i];
        }
    prism_status st = prism_session_run(s, names, (const prism_tensor *const *)fed_t, nf, NULL, n_out, outs);
    free(fed_t);
    if (st) {
        res = unsupported_or_fail(st, why, why_size, "run");
        goto done;
    }
    for (size_t k = 0; k < n_out; k++) {
        char path[8300];
        snprintf(path, sizeof path, "%s/output_%zu.pb", set_dir, k);
        if (!file_exists(path)) continue;
        prism_tensor *want;
        st = prism_tensor_load_pb(path, &want, NULL);
        if (st) {
            snprintf(why, why_size, "output_%zu.pb is not a tensor Prism reads: %s", k, prism_last_error_message());
            res = SKIP;
            goto done;
        }
        char detail[512];
        bool ok = compare(outs[k], want, detail, sizeof detail);
        prism_tensor_destroy(want);
        if (!ok) {
            snprintf(why, why_size, "output %zu: %s", k, detail);
            res = FAIL;
            goto done;
        }
    }
done:
    for (size_t i = 0; i < n_in; i++) prism_tensor_destroy(ins[i]);
    for (size_t i = 0; i < n_out; i++) prism_tensor_destroy(outs[i]);
    free(ins);
    free(outs);
    free(names);
    return res;
}

static enum outcome run_test(const options *o, const char *dir, char *why, size_t why_size) {
    char model[8300];
    snprintf(model, sizeof model, "%s/model.onnx", dir);
    prism_env *env;
    prism_session_options *so;
    if (prism_env_create(&env) || prism_session_options_create(&so)) {
        snprintf(why, why_size, "cannot create env");
        return FAIL;
    }
    prism_session_options_set_threads(so, 1);
    if (o->providers) prism_session_options_set_providers(so, o->providers);
    prism_status st = PRISM_OK;
    for (size_t k = 0; k < o->n_provider_options && !st; k++)
        st = prism_session_options_add_provider_option_string(so, o->provider_options[k]);
    prism_session *s = NULL;
    if (!st) st = prism_session_create(env, model, so, &s);
    enum outcome res = PASS;
    if (st) {
        res = unsupported_or_fail(st, why, why_size, "session");
    } else {
        size_t n_sets;
        char **sets = list_dir(dir, "test_data_set_", true, &n_sets);
        if (!n_sets) {
            snprintf(why, why_size, "no test_data_set_* folder");
            res = FAIL;
        }
        for (size_t i = 0; i < n_sets && res == PASS; i++) {
            char set_dir[8300];
            snprintf(set_dir, sizeof set_dir, "%s/%s", dir, sets[i]);
            res = run_data_set(s, set_dir, why, why_size);
        }
        free_list(sets, n_sets);
    }
    prism_session_destroy(s);
    prism_session_options_destroy(so);
    prism_env_destroy(env);
    return res;
}

/* Fork, run, read "OUTCOME reason" from a pipe; signals and timeouts FAIL. */
static enum outcome run_isolated(const options *o, const char *dir, char *why, size_t why_size) {
    int fd[2];
    if (pipe(fd) != 0) {
        snprintf(why, why_size, "pipe: %s", strerror(errno));
        return FAIL;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, why_size, "fork: %s", strerror(errno));
        return FAIL;
    }
    if (pid == 0) {
        close(fd[0]);
        alarm(o->timeout);
        char msg[2048] = "";
        enum outcome r = run_test(o, dir, msg, sizeof msg);
        dprintf(fd[1], "%d %s", (int)r, msg);
        close(fd[1]);
        _exit(0);
    }
    close(fd[1]);
    char buf[2100] = "";
    size_t len = 0;
    ssize_t k;
    while (len < sizeof buf - 1 && (k = read(fd[0], buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)k;
    buf[len] = '\0';
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        snprintf(why, why_size, sig == SIGALRM ? "timed out after %u s" : "crashed with signal %d (%s)",
                 sig == SIGALRM ? o->timeout : (unsigned)sig, strsignal(sig));
        if (sig != SIGALRM) snprintf(why, why_size, "crashed with signal %d (%s)", sig, strsignal(sig));
        return FAIL;
    }
    int r = -1, off = 0;
    if (sscanf(buf, "%d %n", &r, &off) < 1 || r < PASS || r > SKIP) {
        snprintf(why, why_size, "the test process exited without a result (status %d)", WEXITSTATUS(status));
        return FAIL;
    }
    snprintf(why, why_size, "%s", buf + off);
    return (enum outcome)r;
}

/* ---- expectations ----------------------------------------------------------- */

typedef struct expectation {
    char *name;
    enum outcome outcome;
} expectation;

static expectation *load_expect(const char *path, size_t *count) {
    *count = 0;
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t cap = 256;
    expectation *e = malloc(cap * sizeof *e);
    char line[1024];
    while (e && fgets(line, sizeof line, f)) {
        char name[900], res[16];
        if (line[0] == '#' || sscanf(line, "%899s %15s", name, res) != 2) continue;
        if (*count == cap) {
            expectation *e2 = realloc(e, (cap *= 2) * sizeof *e);
            if (!e2) break;
            e = e2;
        }
        e[*count].name = strdup(name);
        e[*count].outcome = !strcmp(res, "PASS") ? PASS : !strcmp(res, "SKIP") ? SKIP : FAIL;
        (*count)++;
    }
    fclose(f);
    return e;
}

static int usage(void) {
    printf("usage: prism-conformance [options] DIR...\n"
           "Run ONNX backend tests. Each DIR is a test folder (with model.onnx) or a suite folder whose\n"
           "subfolders are tests.\n\n"
           "  --filter TEXT      only tests whose name contains TEXT (repeatable: any matches)\n"
           "  --providers LIST   provider list for sessions (default cpu)\n"
           "  --provider-option P:K=V  a provider option for sessions (repeatable)\n"
           "  --expect FILE      expected outcomes ('name PASS|FAIL|SKIP' lines); exit 1 when a test\n"
           "                     expected to PASS does not\n"
           "  --update FILE      write this run's outcomes to FILE\n"
           "  --timeout SECONDS  per test (default 120)\n"
           "  -v, --verbose      print every test, not only failures and skips\n"
           "The last line is 'N passed, N failed, N skipped'.\n");
    return 0;
}

int main(int argc, char **argv) {
    options o = {.timeout = 120};
    const char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
    o.filters = calloc((size_t)argc + 1, sizeof *o.filters);
    o.provider_options = calloc((size_t)argc + 1, sizeof *o.provider_options);
    size_t n_dirs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage();
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) o.verbose = true;
        else if (v && !strcmp(a, "--filter")) o.filters[o.n_filters++] = v, i++;
        else if (v && !strcmp(a, "--expect")) o.expect = v, i++;
        else if (v && !strcmp(a, "--update")) o.update = v, i++;
        else if (v && !strcmp(a, "--providers")) o.providers = v, i++;
        else if (v && !strcmp(a, "--provider-option")) o.provider_options[o.n_provider_options++] = v, i++;
        else if (v && !strcmp(a, "--timeout")) o.timeout = (unsigned)atoi(v), i++;
        else if (a[0] == '-') {
            fprintf(stderr, "prism-conformance: unknown or incomplete option '%s'\n", a);
            return 2;
        } else dirs[n_dirs++] = a;
    }
    if (!n_dirs) {
        usage();
        return 2;
    }
    size_t n_exp = 0;
    expectation *exp = o.expect ? load_expect(o.expect, &n_exp) : NULL;
    if (o.expect && !exp) {
        fprintf(stderr, "prism-conformance: cannot read expectations '%s'\n", o.expect);
        return 2;
    }
    FILE *upd = o.update ? fopen(o.update, "w") : NULL;
    if (o.update && !upd) {
        fprintf(stderr, "prism-conformance: cannot write '%s'\n", o.update);
        return 2;
    }
    size_t counts[3] = {0}, regressions = 0, improvements = 0;
    for (size_t d = 0; d < n_dirs; d++) {
        char model[8300];
        snprintf(model, sizeof model, "%s/model.onnx", dirs[d]);
        size_t n_tests = 1;
        char **tests = NULL;
        bool single = file_exists(model);
        if (!single) {
            tests = list_dir(dirs[d], "", true, &n_tests); /* every folder holding a model.onnx */
            if (!tests) {
                fprintf(stderr, "prism-conformance: cannot read '%s'\n", dirs[d]);
                return 2;
            }
        }
        for (size_t t = 0; t < n_tests; t++) {
            char dir[8300];
            const char *name;
            if (single) {
                snprintf(dir, sizeof dir, "%s", dirs[d]);
                name = strrchr(dirs[d], '/') ? strrchr(dirs[d], '/') + 1 : dirs[d];
            } else {
                snprintf(dir, sizeof dir, "%s/%s", dirs[d], tests[t]);
                name = tests[t];
            }
            if (!single) {
                char m[8300];
                snprintf(m, sizeof m, "%s/model.onnx", dir);
                if (!file_exists(m)) continue;
            }
            bool keep = o.n_filters == 0;
            for (size_t f = 0; f < o.n_filters; f++) keep |= strstr(name, o.filters[f]) != NULL;
            if (!keep) continue;
            char why[2100] = "";
            enum outcome r = run_isolated(&o, dir, why, sizeof why);
            counts[r]++;
            const expectation *e = NULL;
            for (size_t k = 0; k < n_exp; k++)
                if (!strcmp(exp[k].name, name)) e = &exp[k];
            bool regressed = e && e->outcome == PASS && r != PASS;
            regressions += regressed;
            improvements += e && e->outcome != PASS && r == PASS;
            if (o.verbose || r != PASS || regressed)
                printf("%s %s%s%s%s\n", outcome_name[r], name, *why ? ": " : "", why,
                       regressed ? "  [REGRESSION: expected PASS]" : "");
            if (upd) fprintf(upd, "%s %s\n", name, outcome_name[r]);
        }
        free_list(tests, single ? 0 : n_tests);
    }
    if (upd) fclose(upd);
    if (o.expect) {
        printf("expectations %s: %zu regression%s, %zu newly passing%s\n", o.expect, regressions,
               regressions == 1 ? "" : "s", improvements, improvements ? " (record them with --update)" : "");
    }
    printf("%zu passed, %zu failed, %zu skipped\n", counts[PASS], counts[FAIL], counts[SKIP]);
    for (size_t k = 0; k < n_exp; k++) free(exp[k].name);
    free(exp);
    free(dirs);
    free(o.filters);
    free(o.provider_options);
    return regressions ? 1 : 0;
}
