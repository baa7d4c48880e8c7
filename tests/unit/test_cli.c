/*
 * test_cli.c — the prism command-line tool ($PRISM_BIN), run as a child
 * process: exit codes (0 ok, 1 failure, 2 usage), messages, the files
 * `prism run --output-dir` writes, and `prism partition` with the placement
 * flags and PRISM_* environment variables.
 */
#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model_builder.h"
#include "unit_util.h"

static const char *prism_bin;
static char *dir;       /* temp folder with the models below */
static char *add_path;  /* Y = Relu(X + W), X [2,3] */
static char *huge_path; /* X declared [2^40, 2^40] */
static char *custom_path; /* ai.onnx Add + com.example Gizmo */
static char *sym_path;  /* X [N0,3] */
static char *cnn_path;  /* examples/tiny_cnn.onnx in the source tree */


typedef mb_result cli_result;

/* Run prism with args (NULL-terminated, without argv[0]) and, when env is
 * not NULL, the extra "NAME=VALUE" variables it lists (NULL-terminated). */
static cli_result run_cli_env(const char *const *env, const char *const *args) {
    return mb_run(prism_bin, dir, env, args);
}

static cli_result run_cli(const char *const *args) { return run_cli_env(NULL, args); }

static void free_result(cli_result *r) { mb_result_free(r); }

/* Run and check the exit status; print the output when it differs. */
#define CLI(expect_status, ...)                                                                             \
    cli_result r = run_cli((const char *const[]){__VA_ARGS__, NULL});                                       \
    if (r.status != (expect_status))                                                                        \
        fprintf(stderr, "\n%s:%d: exit %d, expected %d\nstdout: %s\nstderr: %s\n", __FILE__, __LINE__, r.status, \
                expect_status, r.out, r.err);                                                               \
    CU_ASSERT_EQUAL(r.status, expect_status)

/* The same with extra environment variables: CLI_ENV(0, ENV("A=1"), "run", ...). */
#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define CLI_ENV(expect_status, env, ...)                                                                    \
    cli_result r = run_cli_env(env, (const char *const[]){__VA_ARGS__, NULL});                              \
    if (r.status != (expect_status))                                                                        \
        fprintf(stderr, "\n%s:%d: exit %d, expected %d\nstdout: %s\nstderr: %s\n", __FILE__, __LINE__, r.status, \
                expect_status, r.out, r.err);                                                               \
    CU_ASSERT_EQUAL(r.status, expect_status)

/* Whether the example provider was built next to the others. */
static bool have_example_provider(void) {
    const char *path = getenv("PRISM_PROVIDER_PATH");
    char *copy = strdup(path ? path : "");
    bool found = false;
    for (char *save = NULL, *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *lib = mb_path(d, "libprism_provider_example.so");
        found = access(lib, R_OK) == 0;
        free(lib);
    }
    free(copy);
    return found;
}

#define NEED_EXAMPLE_PROVIDER()                                                                    \
    do {                                                                                           \
        if (!have_example_provider()) {                                                            \
            CU_PASS("libprism_provider_example.so is not in PRISM_PROVIDER_PATH: skipped");        \
            fprintf(stderr, "(libprism_provider_example.so not built: skipped) ");                 \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static int suite_init(void) {
    prism_bin = getenv("PRISM_BIN");
    if (!prism_bin || access(prism_bin, X_OK) != 0) {
        fprintf(stderr, "PRISM_BIN is not set to the prism executable\n");
        return 1;
    }
    /* The session variables of the caller's shell must not steer the tests. */
    const char *session_vars[] = {"PRISM_PROVIDERS",    "PRISM_POLICY",  "PRISM_AFFINITY",        "PRISM_MIN_SUBGRAPH",
                                  "PRISM_FALLBACK",     "PRISM_THREADS", "PRISM_PROVIDER_OPTIONS"};
    for (size_t i = 0; i < sizeof session_vars / sizeof *session_vars; i++) unsetenv(session_vars[i]);
    dir = mb_tempdir();
    add_path = mb_path(dir, "add.onnx");
    huge_path = mb_path(dir, "huge.onnx");
    custom_path = mb_path(dir, "custom.onnx");
    sym_path = mb_path(dir, "sym.onnx");
    const char *src = getenv("PRISM_SOURCE_DIR");
    cnn_path = src ? mb_path(src, "examples/tiny_cnn.onnx") : NULL;
    mb_model *m = mb_add_relu_model();
    bool ok = mb_save(m, add_path);
    mb_free(m);

    m = mb_new(17);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, (int64_t[]){(int64_t)1 << 40, (int64_t)1 << 40});
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 2, (int64_t[]){(int64_t)1 << 40, (int64_t)1 << 40});
    mb_node(m, "Relu", "relu0", "X", "Y");
    ok = ok && mb_save(m, huge_path);
    mb_free(m);

    m = mb_new(17);
    mb_opset(m, "com.example", 1);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, MB_D23);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 2, MB_D23);
    mb_node(m, "Add", "add0", "X,X", "S");
    mb_node(m, "Add", "add1", "S,X", "T");
    mb_node_domain(m, mb_node(m, "Gizmo", "gizmo0", "T", "Y"), "com.example");
    ok = ok && mb_save(m, custom_path);
    mb_free(m);

    m = mb_new(17);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, (int64_t[]){-1, 3});
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 2, (int64_t[]){-1, 3});
    mb_node(m, "Relu", "relu0", "X", "Y");
    ok = ok && mb_save(m, sym_path);
    mb_free(m);
    return ok ? 0 : 1;
}

static int suite_clean(void) {
    mb_rmtree(dir);
    free(dir);
    free(add_path);
    free(huge_path);
    free(custom_path);
    free(sym_path);
    free(cnn_path);
    return 0;
}

/* ---- usage errors ---------------------------------------------------------- */

static void test_no_args(void) {
    cli_result r = run_cli((const char *const[]){NULL});
    CU_ASSERT_EQUAL(r.status, 2);
    MB_CONTAINS(r.err, "usage: prism");
    free_result(&r);
}

static void test_unknown_command(void) {
    CLI(2, "frobnicate");
    MB_CONTAINS(r.err, "unknown command 'frobnicate'");
    MB_CONTAINS(r.err, "usage: prism");
    free_result(&r);
}

static void test_unknown_option(void) {
    {
        CLI(2, "run", add_path, "--bogus-flag");
        MB_CONTAINS(r.err, "--bogus-flag");
        free_result(&r);
    }
    {
        CLI(2, "info", "--bogus-flag", add_path);
        MB_CONTAINS(r.err, "--bogus-flag");
        free_result(&r);
    }
    {
        CLI(2, "devices", "extra");
        MB_CONTAINS(r.err, "extra");
        free_result(&r);
    }
    {
        CLI(2, "run", add_path, "another.onnx");
        MB_CONTAINS(r.err, "another.onnx");
        free_result(&r);
    }
    {
        CLI(2, "run");
        MB_CONTAINS(r.err, "missing MODEL");
        free_result(&r);
    }
    {
        CLI(2, "info");
        MB_CONTAINS(r.err, "missing MODEL");
        free_result(&r);
    }
}

static void test_bad_numbers(void) {
    {
        CLI(2, "run", "--threads", "abc");
        MB_CONTAINS(r.err, "--threads");
        MB_CONTAINS(r.err, "'abc'");
        free_result(&r);
    }
    {
        CLI(2, "run", add_path, "--threads", "-1");
        MB_CONTAINS(r.err, "'-1'");
        free_result(&r);
    }
    {
        CLI(2, "run", add_path, "--repeat", "0");
        MB_CONTAINS(r.err, "--repeat");
        free_result(&r);
    }
    {
        CLI(2, "run", add_path, "--threads");
        MB_CONTAINS(r.err, "needs a value");
        free_result(&r);
    }
    {
        CLI(2, "run", sym_path, "--dim", "N0");
        MB_CONTAINS(r.err, "NAME=VALUE");
        free_result(&r);
    }
    {
        CLI(2, "run", sym_path, "--dim", "N0=lots");
        MB_CONTAINS(r.err, "'lots'");
        free_result(&r);
    }
}

static void test_help(void) {
    const char *cmds[] = {"run", "partition", "info", "devices"};
    for (int i = 0; i < 4; i++) {
        CLI(0, cmds[i], "--help");
        char want[64];
        snprintf(want, sizeof want, "usage: prism %s", cmds[i]);
        MB_CONTAINS(r.out, want);
        free_result(&r);
    }
    {
        CLI(0, "--help");
        MB_CONTAINS(r.out, "commands:");
        free_result(&r);
    }
    {
        CLI(0, "version");
        MB_CONTAINS(r.out, "prism 0.1.0");
        free_result(&r);
    }
}

/* ---- failures -------------------------------------------------------------- */

static void test_run_missing_file(void) {
    char *missing = mb_path(dir, "no_such_model.onnx");
    CLI(1, "run", missing);
    MB_CONTAINS(r.err, missing);
    MB_CONTAINS(r.err, "PRISM_ERR_IO");
    free_result(&r);
    free(missing);
}

static void test_run_unsupported_op(void) {
    CLI(1, "run", custom_path);
    MB_CONTAINS(r.err, "Gizmo");
    MB_CONTAINS(r.err, "gizmo0");
    MB_CONTAINS(r.err, "com.example");
    free_result(&r);
}

static void test_run_unknown_provider(void) {
    CLI(1, "run", add_path, "--providers", "nosuchprov");
    MB_CONTAINS(r.err, "nosuchprov");
    free_result(&r);
}

static void test_run_huge_dims(void) {
    CLI(1, "run", huge_path);
    MB_CONTAINS(r.err, "'X'");
    MB_CONTAINS(r.err, "1099511627776");
    free_result(&r);
}

static void test_run_missing_input_file(void) {
    char *missing = mb_path(dir, "nothere.pb");
    char arg[4200];
    snprintf(arg, sizeof arg, "X=%s", missing);
    {
        CLI(1, "run", add_path, "--input", arg);
        MB_CONTAINS(r.err, missing);
        free_result(&r);
    }
    {
        CLI(1, "run", add_path, "--input-dir", dir); /* no input_0.pb there */
        MB_CONTAINS(r.err, "input_0.pb");
        free_result(&r);
    }
    free(missing);
}

static void test_run_bad_input_file(void) {
    char *case_dir = mb_path(dir, "int_case"), *pb = mb_path(case_dir, "input_0.pb");
    CU_ASSERT_FATAL(mkdir(case_dir, 0700) == 0);
    prism_tensor *t;
    UNIT_OK(prism_tensor_create(PRISM_DTYPE_INT64, MB_D23, 2, &t));
    UNIT_OK(prism_tensor_save_pb(t, "X", pb));
    prism_tensor_destroy(t);
    {
        CLI(1, "run", add_path, "--input-dir", case_dir);
        MB_CONTAINS(r.err, "'X'");
        MB_CONTAINS(r.err, "int64");
        free_result(&r);
    }
    /* Garbage in the file. */
    CU_ASSERT_FATAL(mb_write_file(pb, "\xff\xff\xff\xff\x0f\x12", 6));
    {
        CLI(1, "run", add_path, "--input-dir", case_dir);
        MB_CONTAINS(r.err, "input_0.pb");
        free_result(&r);
    }
    /* An output folder that is a file. */
    {
        CLI(1, "run", add_path, "--output-dir", add_path);
        MB_CONTAINS(r.err, "output_0.pb");
        free_result(&r);
    }
    free(pb);
    free(case_dir);
}

/* ---- working runs ------------------------------------------------------------ */

static void test_run_generated(void) {
    CLI(0, "run", add_path, "--show-placement", "--threads", "1");
    MB_CONTAINS(r.out, "output 0 'Y': float [2,3]");
    MB_CONTAINS(r.out, "cpu");
    MB_CONTAINS(r.out, "relu0");
    free_result(&r);
}

/* run prints the report's summary line, and the whole report on request. */
static void test_run_placement(void) {
    {
        CLI(0, "run", add_path);
        MB_CONTAINS(r.out, "placement: 2 nodes in 1 subgraph, 0 copies");
        CU_ASSERT_PTR_NULL(strstr(r.out, "relu0"));
        free_result(&r);
    }
    NEED_EXAMPLE_PROVIDER();
    CU_ASSERT_PTR_NOT_NULL_FATAL(cnn_path);
    CLI(0, "run", cnn_path, "--providers", "example", "--show-placement");
    MB_CONTAINS(r.out, "copy 'image' host:0 -> example:0");
    MB_CONTAINS(r.out, "fallback: 'pool1' (MaxPool): fallback to cpu");
    MB_CONTAINS(r.out, "output 0 'probabilities': float [1,10]");
    free_result(&r);
}

static void test_run_dims(void) {
    CLI(0, "run", sym_path, "--dim", "N0=4");
    MB_CONTAINS(r.out, "output 0 'Y': float [4,3]");
    free_result(&r);
}

static void check_output_file(const char *path) {
    prism_tensor *t = NULL;
    const char *name = NULL;
    UNIT_OK(prism_tensor_load_pb(path, &t, &name));
    CU_ASSERT_STRING_EQUAL(name, "Y");
    CU_ASSERT_EQUAL(prism_tensor_dtype(t), PRISM_DTYPE_FLOAT);
    CU_ASSERT_EQUAL_FATAL(prism_tensor_element_count(t), 6);
    CU_ASSERT_EQUAL(prism_tensor_rank(t), 2);
    CU_ASSERT_EQUAL(memcmp(prism_tensor_data(t), MB_Y_VALUES, sizeof MB_Y_VALUES), 0);
    prism_tensor_destroy(t);
}

static void test_run_input_output_dirs(void) {
    char *in_dir = mb_path(dir, "case"), *out_dir = mb_path(dir, "out"), *in_pb = mb_path(in_dir, "input_0.pb");
    char *out_pb = mb_path(out_dir, "output_0.pb");
    CU_ASSERT_FATAL(mkdir(in_dir, 0700) == 0);
    prism_tensor *x = mb_float_tensor(2, MB_D23, MB_X_VALUES);
    UNIT_OK(prism_tensor_save_pb(x, "X", in_pb));
    prism_tensor_destroy(x);
    {
        CLI(0, "run", add_path, "--input-dir", in_dir, "--output-dir", out_dir);
        MB_CONTAINS(r.out, "output 0 'Y'");
        free_result(&r);
    }
    check_output_file(out_pb);
    unlink(out_pb);
    /* The same through --input NAME=FILE, several repeats. */
    char arg[4200];
    snprintf(arg, sizeof arg, "X=%s", in_pb);
    {
        CLI(0, "run", add_path, "--input", arg, "--output-dir", out_dir, "--repeat", "3");
        MB_CONTAINS(r.out, "3 runs");
        free_result(&r);
    }
    check_output_file(out_pb);
    free(in_dir);
    free(out_dir);
    free(in_pb);
    free(out_pb);
}

/* The example model shipped in the repository: a softmax classifier. */
static void test_example_model(void) {
    const char *src = getenv("PRISM_SOURCE_DIR");
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    char *model = mb_path(src, "examples/tiny_cnn.onnx"), *out_dir = mb_path(dir, "cnn_out");
    char *out_pb = mb_path(out_dir, "output_0.pb");
    {
        CLI(0, "info", model);
        MB_CONTAINS(r.out, "image: float [N,3,32,32]");
        MB_CONTAINS(r.out, "probabilities: float [N,10]");
        MB_CONTAINS(r.out, "Conv");
        MB_CONTAINS(r.out, "Softmax");
        free_result(&r);
    }
    {
        CLI(0, "run", model, "--dim", "N=3", "--output-dir", out_dir);
        MB_CONTAINS(r.out, "output 0 'probabilities': float [3,10]");
        free_result(&r);
    }
    prism_tensor *t = NULL;
    UNIT_OK(prism_tensor_load_pb(out_pb, &t, NULL));
    CU_ASSERT_EQUAL_FATAL(prism_tensor_element_count(t), 30);
    const float *p = prism_tensor_data(t);
    for (int row = 0; row < 3; row++) {
        double sum = 0;
        for (int k = 0; k < 10; k++) {
            CU_ASSERT(p[row * 10 + k] > 0 && p[row * 10 + k] < 1);
            sum += p[row * 10 + k];
        }
        CU_ASSERT_DOUBLE_EQUAL(sum, 1.0, 1e-5);
    }
    prism_tensor_destroy(t);
    free(out_pb);
    free(out_dir);
    free(model);
}

/* ONNX backend node tests from Debian's libonnx-testdata, when installed:
 * `prism run --input-dir --output-dir` reproduces the expected output. */
static void test_onnx_node_cases(void) {
    const char *cases[] = {"test_relu", "test_conv_with_strides_padding", "test_gemm_default_single_elem_vector_bias"};
    const char *root = "/usr/share/libonnx-testdata/data/node";
    if (access(root, R_OK) != 0) {
        fprintf(stderr, "(libonnx-testdata not installed: skipped) ");
        return;
    }
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char model[512], in_dir[512], want_pb[600];
        snprintf(model, sizeof model, "%s/%s/model.onnx", root, cases[c]);
        snprintf(in_dir, sizeof in_dir, "%s/%s/test_data_set_0", root, cases[c]);
        snprintf(want_pb, sizeof want_pb, "%s/output_0.pb", in_dir);
        char *out_dir = mb_path(dir, cases[c]), *got_pb = mb_path(out_dir, "output_0.pb");
        {
            CLI(0, "run", model, "--input-dir", in_dir, "--output-dir", out_dir);
            free_result(&r);
        }
        prism_tensor *want = NULL, *got = NULL;
        UNIT_OK(prism_tensor_load_pb(want_pb, &want, NULL));
        UNIT_OK(prism_tensor_load_pb(got_pb, &got, NULL));
        CU_ASSERT_EQUAL_FATAL(prism_tensor_dtype(got), PRISM_DTYPE_FLOAT);
        CU_ASSERT_EQUAL_FATAL(prism_tensor_element_count(got), prism_tensor_element_count(want));
        CU_ASSERT_EQUAL(prism_tensor_rank(got), prism_tensor_rank(want));
        const float *g = prism_tensor_data(got), *w = prism_tensor_data(want);
        int bad = 0;
        for (int64_t i = 0; i < prism_tensor_element_count(want); i++)
            if (fabsf(g[i] - w[i]) > 1e-5f + 1e-3f * fabsf(w[i])) bad++;
        if (bad) fprintf(stderr, "\n  %s: %d elements differ\n", cases[c], bad);
        CU_ASSERT_EQUAL(bad, 0);
        prism_tensor_destroy(want);
        prism_tensor_destroy(got);
        free(got_pb);
        free(out_dir);
    }
}

/* ---- partition and the placement flags ------------------------------------ */

/* A small JSON syntax check (RFC 8259 grammar, no semantic checks): enough
 * to catch an unbalanced bracket, a missing comma or a bad escape. */
static void json_ws(const char **p) {
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r') (*p)++;
}

static bool json_value(const char **p, int depth);

static bool json_string(const char **p) {
    if (**p != '"') return false;
    for ((*p)++; **p != '"'; (*p)++) {
        if ((unsigned char)**p < 0x20) return false;
        if (**p == '\\') {
            (*p)++;
            if (**p == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (!isxdigit((unsigned char)(*p)[k])) return false;
                *p += 4;
            } else if (!**p || !strchr("\"\\/bfnrt", **p)) return false;
        }
    }
    (*p)++;
    return true;
}

static bool json_number(const char **p) {
    const char *s = *p;
    if (**p == '-') (*p)++;
    if (!isdigit((unsigned char)**p)) return false;
    while (isdigit((unsigned char)**p)) (*p)++;
    if (**p == '.') {
        (*p)++;
        if (!isdigit((unsigned char)**p)) return false;
        while (isdigit((unsigned char)**p)) (*p)++;
    }
    if (**p == 'e' || **p == 'E') {
        (*p)++;
        if (**p == '+' || **p == '-') (*p)++;
        if (!isdigit((unsigned char)**p)) return false;
        while (isdigit((unsigned char)**p)) (*p)++;
    }
    return *p > s;
}

static bool json_members(const char **p, int depth, bool object) {
    char close = object ? '}' : ']';
    (*p)++;
    json_ws(p);
    if (**p == close) return (*p)++, true;
    for (;;) {
        if (object) {
            if (!json_string(p)) return false;
            json_ws(p);
            if (**p != ':') return false;
            (*p)++;
        }
        if (!json_value(p, depth + 1)) return false;
        json_ws(p);
        if (**p == close) return (*p)++, true;
        if (**p != ',') return false;
        (*p)++;
        json_ws(p);
    }
}

static bool json_value(const char **p, int depth) {
    json_ws(p);
    if (depth > 64) return false;
    switch (**p) {
    case '{': return json_members(p, depth, true);
    case '[': return json_members(p, depth, false);
    case '"': return json_string(p);
    case 't': return !strncmp(*p, "true", 4) ? (*p += 4, true) : false;
    case 'f': return !strncmp(*p, "false", 5) ? (*p += 5, true) : false;
    case 'n': return !strncmp(*p, "null", 4) ? (*p += 4, true) : false;
    default: return json_number(p);
    }
}

static bool json_valid(const char *text) {
    const char *p = text;
    if (!json_value(&p, 0)) return false;
    json_ws(&p);
    return *p == '\0';
}

static void test_json_checker(void) { /* the checker itself must be able to fail */
    CU_ASSERT(json_valid("{\"a\":[1,-2.5e3,true,null,\"x\\n\\u00e9\"],\"b\":{}}\n"));
    CU_ASSERT(!json_valid("{\"a\":[1,2}"));
    CU_ASSERT(!json_valid("{\"a\":1,}"));
    CU_ASSERT(!json_valid("{\"a\" 1}"));
    CU_ASSERT(!json_valid("[\"\\x\"]"));
    CU_ASSERT(!json_valid("{} {}"));
}

static void test_partition_formats(void) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(cnn_path);
    char *text = NULL;
    {
        CLI(0, "partition", cnn_path);
        MB_CONTAINS(r.out, "conv1");
        MB_CONTAINS(r.out, "MaxPool");
        MB_CONTAINS(r.out, "cpu");
        CU_ASSERT_STRING_EQUAL(r.err, "");
        text = strdup(r.out);
        free_result(&r);
    }
    {
        CLI(0, "partition", cnn_path, "--format", "json");
        CU_ASSERT(json_valid(r.out));
        MB_CONTAINS(r.out, "\"nodes\":");
        MB_CONTAINS(r.out, "\"subgraphs\":");
        MB_CONTAINS(r.out, "\"copies\":");
        MB_CONTAINS(r.out, "\"conv1\"");
        free_result(&r);
    }
    {
        CLI(0, "partition", cnn_path, "--format", "dot");
        CU_ASSERT(!strncmp(r.out, "digraph", 7));
        MB_CONTAINS(r.out, "conv1");
        CU_ASSERT(strrchr(r.out, '}') != NULL);
        free_result(&r);
    }
    /* -o writes the same report to a file and nothing to stdout. */
    char *file = mb_path(dir, "report.txt");
    {
        CLI(0, "partition", cnn_path, "-o", file);
        CU_ASSERT_STRING_EQUAL(r.out, "");
        free_result(&r);
    }
    char *written = mb_slurp(file);
    CU_ASSERT_STRING_EQUAL(written, text ? text : "");
    free(written);
    {
        CLI(1, "partition", cnn_path, "-o", dir); /* a folder */
        MB_CONTAINS(r.err, dir);
        free_result(&r);
    }
    free(file);
    free(text);
}

static void test_partition_usage_errors(void) {
    {
        CLI(2, "partition", add_path, "--policy", "bogus");
        MB_CONTAINS(r.err, "--policy");
        MB_CONTAINS(r.err, "'bogus'");
        MB_CONTAINS(r.err, "provider_order");
        MB_CONTAINS(r.err, "latency");
        free_result(&r);
    }
    {
        CLI(2, "partition", add_path, "--min-subgraph", "x");
        MB_CONTAINS(r.err, "--min-subgraph");
        free_result(&r);
    }
    {
        CLI(2, "run", add_path, "--min-subgraph", "0");
        MB_CONTAINS(r.err, "--min-subgraph");
        free_result(&r);
    }
    {
        CLI(2, "partition", add_path, "--affinity", "Conv");
        MB_CONTAINS(r.err, "--affinity");
        MB_CONTAINS(r.err, "'Conv'");
        free_result(&r);
    }
    {
        CLI(2, "partition", add_path, "--affinity", "Add=cpu,=cpu");
        MB_CONTAINS(r.err, "--affinity");
        free_result(&r);
    }
    {
        CLI(2, "partition", add_path, "--provider-option", "cpu:threads");
        MB_CONTAINS(r.err, "--provider-option");
        free_result(&r);
    }
    {
        CLI(2, "partition", add_path, "--format", "xml");
        MB_CONTAINS(r.err, "--format");
        free_result(&r);
    }
    {
        CLI(2, "partition", add_path, "--threads", "many");
        MB_CONTAINS(r.err, "--threads");
        free_result(&r);
    }
    {
        CLI(2, "partition", add_path, "--providers", "cpu,,example");
        MB_CONTAINS(r.err, "--providers");
        MB_CONTAINS(r.err, "empty entry");
        free_result(&r);
    }
    {
        CLI(2, "partition", add_path, "--policy");
        MB_CONTAINS(r.err, "needs a value");
        free_result(&r);
    }
    { /* run-only flags are not partition flags, and the other way round */
        CLI(2, "partition", add_path, "--repeat", "2");
        MB_CONTAINS(r.err, "--repeat");
        free_result(&r);
    }
    {
        CLI(2, "run", add_path, "--format", "json");
        MB_CONTAINS(r.err, "--format");
        free_result(&r);
    }
    {
        CLI(2, "partition");
        MB_CONTAINS(r.err, "missing MODEL");
        free_result(&r);
    }
}

static void test_partition_help(void) {
    const char *cmds[] = {"partition", "run"};
    for (int c = 0; c < 2; c++) {
        CLI(0, cmds[c], "--help");
        const char *want[] = {"--providers", "--policy", "--affinity", "--provider-option", "--min-subgraph",
                              "--no-fallback", "--threads", "prefer_gpu", "prefer_accelerator", "latency",
                              "PRISM_PROVIDERS", "PRISM_POLICY", "PRISM_AFFINITY", "PRISM_MIN_SUBGRAPH",
                              "PRISM_FALLBACK", "PRISM_THREADS", "PRISM_PROVIDER_OPTIONS"};
        for (size_t i = 0; i < sizeof want / sizeof *want; i++) MB_CONTAINS(r.out, want[i]);
        if (c == 0) {
            MB_CONTAINS(r.out, "--format text|json|dot");
            MB_CONTAINS(r.out, "-o, --output FILE");
        }
        free_result(&r);
    }
    {
        CLI(0, "--help");
        MB_CONTAINS(r.out, "partition MODEL");
        free_result(&r);
    }
}

static void test_partition_failures(void) {
    {
        CLI(1, "partition", add_path, "--providers", "nonexistent");
        MB_CONTAINS(r.err, "nonexistent");
        MB_CONTAINS(r.err, "not found");
        free_result(&r);
    }
    {
        char *missing = mb_path(dir, "absent.onnx");
        CLI(1, "partition", missing);
        MB_CONTAINS(r.err, missing);
        free_result(&r);
        free(missing);
    }
    {
        CLI(1, "partition", custom_path);
        MB_CONTAINS(r.err, "gizmo0");
        MB_CONTAINS(r.err, "Gizmo");
        free_result(&r);
    }
    {
        CLI(1, "partition", add_path, "--provider-option", "cpu:no_such_key=1");
        MB_CONTAINS(r.err, "no_such_key");
        free_result(&r);
    }
}

static void test_partition_options_accepted(void) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(cnn_path);
    const char *policies[] = {"provider_order", "latency", "prefer_cpu", "prefer-cpu"};
    for (size_t i = 0; i < sizeof policies / sizeof *policies; i++) {
        CLI(0, "partition", cnn_path, "--policy", policies[i], "--format", "json");
        CU_ASSERT(json_valid(r.out));
        free_result(&r);
    }
    {
        CLI(0, "partition", cnn_path, "--providers", "cpu", "--affinity", "Conv=cpu", "--affinity", "fc=cpu,Relu=cpu",
            "--min-subgraph", "3", "--threads", "1", "--provider-option", "cpu:threads=1", "--no-fallback");
        MB_CONTAINS(r.out, "softmax");
        free_result(&r);
    }
}

/* A model with MaxPool on a provider that cannot pool. */
static void test_partition_no_fallback(void) {
    NEED_EXAMPLE_PROVIDER();
    CU_ASSERT_PTR_NOT_NULL_FATAL(cnn_path);
    {
        CLI(1, "partition", cnn_path, "--no-fallback", "--providers", "example");
        MB_CONTAINS(r.err, "pool1");
        MB_CONTAINS(r.err, "MaxPool");
        free_result(&r);
    }
    { /* allowed: the pooling runs on the CPU, logged and reported */
        CLI(0, "partition", cnn_path, "--providers", "example");
        MB_CONTAINS(r.out, "fallback: 'pool1' (MaxPool): fallback to cpu");
        MB_CONTAINS(r.err, "warning");
        MB_CONTAINS(r.err, "'pool1' (MaxPool)");
        free_result(&r);
    }
    {
        CLI(0, "partition", cnn_path, "--providers", "example", "--format", "json");
        CU_ASSERT(json_valid(r.out));
        const char *fallbacks = strstr(r.out, "\"fallbacks\":[");
        CU_ASSERT(fallbacks && strstr(fallbacks, "\"pool1\""));
        free_result(&r);
    }
    { /* "all" lists the CPU too, so nothing is a fallback */
        CLI(0, "partition", cnn_path, "--providers", "all");
        MB_CONTAINS(r.out, "0 fallbacks");
        MB_CONTAINS(r.out, "-> example");
        MB_CONTAINS(r.out, "-> cpu");
        free_result(&r);
    }
    { /* PRISM_FALLBACK=0 forbids it too */
        CLI_ENV(1, ENV("PRISM_FALLBACK=0"), "partition", cnn_path, "--providers", "example");
        MB_CONTAINS(r.err, "MaxPool");
        free_result(&r);
    }
}

/* Affinity entries from several --affinity flags accumulate; a node name
 * and an op type both work. */
static void test_partition_affinity(void) {
    NEED_EXAMPLE_PROVIDER();
    CU_ASSERT_PTR_NOT_NULL_FATAL(cnn_path);
    CLI(0, "partition", cnn_path, "--providers", "example,cpu", "--affinity", "conv1=cpu", "--affinity", "Gemm=cpu",
        "--format", "json");
    CU_ASSERT(json_valid(r.out));
    MB_CONTAINS(r.out, "{\"name\":\"conv1\",\"op\":\"Conv\",\"domain\":\"\",\"provider\":\"cpu\"");
    MB_CONTAINS(r.out, "{\"name\":\"fc\",\"op\":\"Gemm\",\"domain\":\"\",\"provider\":\"cpu\"");
    MB_CONTAINS(r.out, "{\"name\":\"dwconv\",\"op\":\"Conv\",\"domain\":\"\",\"provider\":\"example\"");
    MB_CONTAINS(r.out, "affinity conv1=cpu");
    MB_CONTAINS(r.out, "affinity Gemm=cpu");
    free_result(&r);
    { /* a node name wins over an op type */
        CLI(0, "partition", cnn_path, "--affinity", "Conv=example,dwconv=cpu", "--format", "json");
        MB_CONTAINS(r.out, "{\"name\":\"conv1\",\"op\":\"Conv\",\"domain\":\"\",\"provider\":\"example\"");
        MB_CONTAINS(r.out, "{\"name\":\"dwconv\",\"op\":\"Conv\",\"domain\":\"\",\"provider\":\"cpu\"");
        free_result(&r);
    }
    { /* an affinity the provider cannot honour is a fallback */
        CLI(0, "partition", cnn_path, "--affinity", "MaxPool=example");
        MB_CONTAINS(r.out, "fallback: 'pool1' (MaxPool): fallback to cpu");
        MB_CONTAINS(r.out, "MaxPool=example");
        free_result(&r);
    }
    {
        CLI(1, "partition", cnn_path, "--affinity", "MaxPool=example", "--no-fallback");
        MB_CONTAINS(r.err, "'pool1' (MaxPool)");
        free_result(&r);
    }
}

static void test_partition_environment(void) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(cnn_path);
    {
        CLI_ENV(1, ENV("PRISM_POLICY=bogus"), "partition", cnn_path);
        MB_CONTAINS(r.err, "PRISM_POLICY");
        free_result(&r);
    }
    {
        CLI_ENV(1, ENV("PRISM_MIN_SUBGRAPH=-3"), "partition", cnn_path);
        MB_CONTAINS(r.err, "PRISM_MIN_SUBGRAPH");
        free_result(&r);
    }
    { /* a set variable replaces the flag */
        CLI_ENV(0, ENV("PRISM_PROVIDERS=cpu"), "partition", cnn_path, "--providers", "nonexistent");
        MB_CONTAINS(r.out, "conv1");
        MB_CONTAINS(r.out, "cpu");
        free_result(&r);
    }
    {
        CLI_ENV(1, ENV("PRISM_PROVIDERS=nosuchprov"), "partition", cnn_path);
        MB_CONTAINS(r.err, "nosuchprov");
        free_result(&r);
    }
    { /* run reads them as well */
        CLI_ENV(1, ENV("PRISM_PROVIDER_OPTIONS=cpu:no_such_key=1"), "run", add_path);
        MB_CONTAINS(r.err, "no_such_key");
        free_result(&r);
    }
}

/* ---- info and devices -------------------------------------------------------- */

static void test_info(void) {
    {
        CLI(0, "info", add_path);
        MB_CONTAINS(r.out, "ir_version: 8");
        MB_CONTAINS(r.out, "producer: prism-unit 1.0");
        MB_CONTAINS(r.out, "ai.onnx=17");
        MB_CONTAINS(r.out, "X: float [2,3]");
        MB_CONTAINS(r.out, "Y: float [2,3]");
        MB_CONTAINS(r.out, "initializers: 1");
        MB_CONTAINS(r.out, "nodes: 2");
        MB_CONTAINS(r.out, "Add");
        MB_CONTAINS(r.out, "Relu");
        free_result(&r);
    }
    {
        CLI(0, "info", custom_path);
        MB_CONTAINS(r.out, "com.example=1");
        MB_CONTAINS(r.out, "com.example:Gizmo");
        /* ops are listed by count: Add (2) before Gizmo (1) */
        const char *add = strstr(r.out, "  Add"), *giz = strstr(r.out, "com.example:Gizmo");
        CU_ASSERT(add && giz && add < giz);
        free_result(&r);
    }
    {
        CLI(0, "info", sym_path);
        MB_CONTAINS(r.out, "X: float [N0,3]");
        free_result(&r);
    }
    {
        char *missing = mb_path(dir, "gone.onnx");
        CLI(1, "info", missing);
        MB_CONTAINS(r.err, missing);
        free_result(&r);
        free(missing);
    }
    {
        CLI(2, "info", add_path, sym_path);
        MB_CONTAINS(r.err, "one MODEL");
        free_result(&r);
    }
}

static void test_devices(void) {
    CLI(0, "devices");
    MB_CONTAINS(r.out, "provider cpu");
    MB_CONTAINS(r.out, "device 0: CPU");
    free_result(&r);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("cli", suite_init, suite_clean);
    CU_add_test(s, "no arguments", test_no_args);
    CU_add_test(s, "unknown command", test_unknown_command);
    CU_add_test(s, "unknown options and arguments", test_unknown_option);
    CU_add_test(s, "bad numbers", test_bad_numbers);
    CU_add_test(s, "--help of every command", test_help);
    CU_add_test(s, "run: missing model file", test_run_missing_file);
    CU_add_test(s, "run: unsupported op", test_run_unsupported_op);
    CU_add_test(s, "run: unknown provider", test_run_unknown_provider);
    CU_add_test(s, "run: input dims too large to generate", test_run_huge_dims);
    CU_add_test(s, "run: missing input file", test_run_missing_input_file);
    CU_add_test(s, "run: bad input and output files", test_run_bad_input_file);
    CU_add_test(s, "run: generated inputs", test_run_generated);
    CU_add_test(s, "run: placement summary and --show-placement", test_run_placement);
    CU_add_test(s, "run: --dim", test_run_dims);
    CU_add_test(s, "run: --input-dir and --output-dir", test_run_input_output_dirs);
    CU_add_test(s, "the example model", test_example_model);
    CU_add_test(s, "ONNX node test cases", test_onnx_node_cases);
    CU_add_test(s, "JSON checker", test_json_checker);
    CU_add_test(s, "partition: text, json, dot, -o", test_partition_formats);
    CU_add_test(s, "partition: usage errors", test_partition_usage_errors);
    CU_add_test(s, "partition: --help", test_partition_help);
    CU_add_test(s, "partition: failures", test_partition_failures);
    CU_add_test(s, "partition: policies and options accepted", test_partition_options_accepted);
    CU_add_test(s, "partition: --no-fallback", test_partition_no_fallback);
    CU_add_test(s, "partition: --affinity accumulates", test_partition_affinity);
    CU_add_test(s, "partition: PRISM_* variables", test_partition_environment);
    CU_add_test(s, "info", test_info);
    CU_add_test(s, "devices", test_devices);
    return unit_run_all();
}
