/*
 * prism — command-line front end: run a model, show how a session
 * partitions it across providers, list devices, inspect a model. Every
 * error is printed with its status and context and gives a non-zero exit
 * status (1 for failures, 2 for usage errors). Session settings are only
 * passed on to the library: the PRISM_* environment variables are applied
 * by session creation itself, so the CLI and any other program behave the
 * same.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli_common.h"

#define USAGE_ERROR 2

static void log_to_stderr(void *user, prism_log_level level, const char *message) {
    (void)user;
    static const char *const names[] = {"debug", "info", "warning", "error"};
    fprintf(stderr, "prism [%s] %s\n", level <= PRISM_LOG_ERROR ? names[level] : "?", message);
}

/* ---- shared option parsing for commands that create sessions ------------ */

typedef struct kv {
    char *name;
    char *value;
} kv;

/* Which command is parsing: the session flags are shared, the rest differ. */
typedef enum cli_cmd { CMD_RUN, CMD_PARTITION } cli_cmd;

typedef struct run_args {
    const char *model;
    const char *input_dir, *output_dir;
    const char *format, *out_file; /* partition */
    kv *inputs, *dims;
    size_t n_inputs, n_dims;
    long long repeat;
    bool show_placement, verbose;
    prism_session_options *opts; /* every other session flag lands here directly */
} run_args;

static bool split_kv(const char *flag, const char *arg, char sep, kv *out) {
    const char *eq = arg ? strchr(arg, sep) : NULL;
    if (!eq || eq == arg || !eq[1]) {
        fprintf(stderr, "prism: %s expects NAME%cVALUE, got '%s'\n", flag, sep, arg ? arg : "");
        return false;
    }
    out->name = strndup(arg, (size_t)(eq - arg));
    out->value = strdup(eq + 1);
    return out->name && out->value;
}

static bool push_kv(kv **arr, size_t *n, kv item) {
    kv *a = realloc(*arr, (*n + 1) * sizeof *a);
    if (!a) return false;
    a[(*n)++] = item;
    *arr = a;
    return true;
}

static void free_run_args(run_args *a) {
    for (size_t i = 0; i < a->n_inputs; i++) free(a->inputs[i].name), free(a->inputs[i].value);
    for (size_t i = 0; i < a->n_dims; i++) free(a->dims[i].name), free(a->dims[i].value);
    free(a->inputs);
    free(a->dims);
    prism_session_options_destroy(a->opts);
}

/* Help shared by every command that creates a session. */
static void print_session_help(void) {
    printf("session options:\n"
           "  --providers LIST         ordered, comma-separated providers: names (cpu, opencl, ...) or\n"
           "                           paths to libprism_provider_*.so (default cpu; 'all' = every\n"
           "                           provider with a device, accelerators first, CPU last)\n"
           "  --policy NAME            how nodes are placed (default provider_order), one of:");
    int col = 90; /* the names come from the library, wrapped at 90 columns */
    for (int p = 0; prism_policy_name((prism_policy)p); p++) {
        const char *name = prism_policy_name((prism_policy)p);
        if (p) col += printf(",");
        if (col + 1 + (int)strlen(name) > 90) col = printf("\n%27s", "") - 1;
        else col += printf(" ");
        col += printf("%s", name);
    }
    printf("\n"
           "  --affinity KEY=P[,...]   run the node named KEY, or every node of op type KEY, on\n"
           "                           provider P (repeatable; a node name wins over an op type)\n"
           "  --provider-option P:K=V  option K=V for provider P, e.g. cpu:threads=2, opencl:device=1\n"
           "                           (repeatable)\n"
           "  --min-subgraph N         a subgraph of fewer than N nodes goes to the next provider that\n"
           "                           can run it (default 1)\n"
           "  --no-fallback            fail, naming the nodes, instead of running a node outside these\n"
           "                           preferences (default: allowed, logged and reported)\n"
           "  --threads N              intra-op threads (default 0: one per core)\n"
           "  --dim NAME=VALUE         fix the symbolic input dim NAME (repeatable): static shapes for\n"
           "                           the providers and sizes for every copy; prism run also uses it\n"
           "                           for generated inputs (default 1)\n"
           "  -v, --verbose            log at info level (fallbacks are logged as warnings)\n"
           "\n"
           "environment (a variable that is set replaces the flag's value):\n"
           "  PRISM_PROVIDERS=LIST     as --providers\n"
           "  PRISM_POLICY=NAME        as --policy\n"
           "  PRISM_AFFINITY=KEY=P,... as --affinity\n"
           "  PRISM_MIN_SUBGRAPH=N     as --min-subgraph\n"
           "  PRISM_FALLBACK=0|1       0 as --no-fallback, 1 allows fallback\n"
           "  PRISM_THREADS=N          as --threads\n"
           "  PRISM_PROVIDER_OPTIONS=P:K=V;P:K=V\n"
           "                           as --provider-option\n"
           "  PRISM_PROVIDER_PATH=DIR:DIR\n"
           "                           folders searched for providers first\n"
           "An invalid value in one of them fails the session, naming the variable; an empty one\n"
           "is ignored.\n");
}

static int print_run_help(void) {
    printf("usage: prism run MODEL [options]\n"
           "Run a model once (or --repeat times) and print its outputs.\n\n"
           "  --input-dir DIR          read DIR/input_K.pb (ONNX backend-test layout) for input K\n"
           "  --input NAME=FILE.pb     read one input from a TensorProto file (repeatable)\n"
           "  --output-dir DIR         write output_K.pb files (TensorProto)\n"
           "  --repeat N               run N times and print timings\n"
           "  --show-placement         print the partition report (as prism partition)\n"
           "Without --input/--input-dir, inputs are deterministic pseudo-random values.\n\n");
    print_session_help();
    return 0;
}

static int print_partition_help(void) {
    printf("usage: prism partition MODEL [options]\n"
           "Create a session (without running it) and print its partition report: which provider\n"
           "and device runs each node and why, the subgraphs, the copies between memory spaces and\n"
           "every fallback.\n\n"
           "  --format text|json|dot   report format (default text; dot is a Graphviz picture:\n"
           "                           prism partition m.onnx --format dot | dot -Tsvg > m.svg)\n"
           "  -o, --output FILE        write the report to FILE instead of stdout\n\n");
    print_session_help();
    return 0;
}

/* A session flag (shared by run and partition): 1 consumed (*i advanced
 * past its value), 0 not a session flag, 2 usage error, -1 other failure. */
static int parse_session_flag(int argc, char **argv, int *i, run_args *a) {
    const char *f = argv[*i];
    bool takes_value = !strcmp(f, "--providers") || !strcmp(f, "--policy") || !strcmp(f, "--affinity") ||
                       !strcmp(f, "--provider-option") || !strcmp(f, "--min-subgraph") || !strcmp(f, "--threads");
    if (!takes_value) {
        if (!strcmp(f, "--no-fallback")) {
            prism_status st = prism_session_options_set_fallback(a->opts, 0);
            return st ? (cli_error(f, st), -1) : 1;
        }
        if (!strcmp(f, "-v") || !strcmp(f, "--verbose")) return a->verbose = true, 1;
        return 0;
    }
    if (*i + 1 >= argc) {
        fprintf(stderr, "prism: %s needs a value\n", f);
        return USAGE_ERROR;
    }
    const char *v = argv[++*i];
    prism_status st = PRISM_OK;
    long long n;
    if (!strcmp(f, "--providers")) {
        if (!*v) {
            fprintf(stderr, "prism: --providers expects a comma-separated list of providers\n");
            return USAGE_ERROR;
        }
        st = prism_session_options_set_providers(a->opts, v);
    } else if (!strcmp(f, "--policy")) {
        prism_policy p;
        if (!cli_parse_policy(f, v, &p)) return USAGE_ERROR;
        st = prism_session_options_set_policy(a->opts, p);
    } else if (!strcmp(f, "--affinity")) {
        int rc = cli_add_affinity(a->opts, f, v);
        return rc == 0 ? 1 : rc == 2 ? USAGE_ERROR : -1;
    } else if (!strcmp(f, "--provider-option")) {
        const char *colon = strchr(v, ':'), *eq = colon ? strchr(colon, '=') : NULL;
        if (!colon || colon == v || !eq || eq == colon + 1 || !eq[1]) {
            fprintf(stderr, "prism: --provider-option expects PROVIDER:KEY=VALUE, got '%s'\n", v);
            return USAGE_ERROR;
        }
        if ((st = prism_session_options_add_provider_option_string(a->opts, v))) {
            cli_error(f, st);
            return st == PRISM_ERR_INVALID_ARGUMENT ? USAGE_ERROR : -1;
        }
    } else if (!strcmp(f, "--min-subgraph")) {
        if (!cli_parse_int(f, v, 1, 1000000, &n)) return USAGE_ERROR;
        st = prism_session_options_set_min_subgraph(a->opts, (uint32_t)n);
    } else { /* --threads */
        if (!cli_parse_int(f, v, 0, 1024, &n)) return USAGE_ERROR;
        st = prism_session_options_set_threads(a->opts, (uint32_t)n);
    }
    if (st) {
        cli_error(f, st);
        return st == PRISM_ERR_INVALID_ARGUMENT ? USAGE_ERROR : -1;
    }
    return 1;
}

/* The one parser of run and partition. Returns 0 on success, USAGE_ERROR
 * on bad flags, 1 on another failure, -1 after --help. */
static int parse_run_args(int argc, char **argv, run_args *a, cli_cmd cmd) {
    memset(a, 0, sizeof *a);
    a->repeat = 1;
    a->format = "text";
    if (prism_session_options_create(&a->opts)) return cli_error("session options", PRISM_ERR_OUT_OF_MEMORY);
    bool run = cmd == CMD_RUN, partition = cmd == CMD_PARTITION;
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                 \
    do {                                                             \
        if (!v) {                                                    \
            fprintf(stderr, "prism: %s needs a value\n", f);         \
            return USAGE_ERROR;                                      \
        }                                                            \
        i++;                                                         \
    } while (0)
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) return -1;
        int rc = parse_session_flag(argc, argv, &i, a);
        if (rc == 1) continue;
        if (rc) return rc < 0 ? 1 : rc;
        if (run && !strcmp(f, "--show-placement")) a->show_placement = true;
        else if (run && !strcmp(f, "--input-dir")) { NEED_VALUE(); a->input_dir = v; }
        else if (run && !strcmp(f, "--output-dir")) { NEED_VALUE(); a->output_dir = v; }
        else if (run && !strcmp(f, "--repeat")) {
            NEED_VALUE();
            if (!cli_parse_int(f, v, 1, 1000000, &a->repeat)) return USAGE_ERROR;
        } else if ((run && !strcmp(f, "--input")) || !strcmp(f, "--dim")) {
            NEED_VALUE();
            kv item;
            if (!split_kv(f, v, '=', &item)) return USAGE_ERROR;
            bool is_dim = !strcmp(f, "--dim");
            if (is_dim) {
                /* The session fixes the dim too: static shapes for the
                 * providers and copy sizes in the report. */
                long long dv;
                if (!cli_parse_int(f, item.value, 0, (long long)1 << 40, &dv) ||
                    prism_session_options_set_dim(a->opts, item.name, dv) != PRISM_OK) {
                    free(item.name), free(item.value);
                    return USAGE_ERROR;
                }
            }
            if (!push_kv(is_dim ? &a->dims : &a->inputs, is_dim ? &a->n_dims : &a->n_inputs, item)) return 1;
        } else if (partition && !strcmp(f, "--format")) {
            NEED_VALUE();
            if (strcmp(v, "text") && strcmp(v, "json") && strcmp(v, "dot")) {
                fprintf(stderr, "prism: --format expects text, json or dot, got '%s'\n", v);
                return USAGE_ERROR;
            }
            a->format = v;
        } else if (partition && (!strcmp(f, "-o") || !strcmp(f, "--output"))) {
            NEED_VALUE();
            a->out_file = v;
        } else if (f[0] == '-' && f[1]) {
            fprintf(stderr, "prism: unknown option '%s' (see --help)\n", f);
            return USAGE_ERROR;
        } else if (!a->model) a->model = f;
        else {
            fprintf(stderr, "prism: unexpected argument '%s'\n", f);
            return USAGE_ERROR;
        }
#undef NEED_VALUE
    }
    if (!a->model) {
        fprintf(stderr, "prism: missing MODEL (see --help)\n");
        return USAGE_ERROR;
    }
    if (a->input_dir && a->n_inputs) {
        fprintf(stderr, "prism: use --input-dir or --input, not both\n");
        return USAGE_ERROR;
    }
    return 0;
}

static int make_session(prism_env *env, run_args *a, prism_session **out) {
    prism_env_set_logger(env, log_to_stderr, NULL, a->verbose ? PRISM_LOG_INFO : PRISM_LOG_WARNING);
    prism_status st = prism_session_create(env, a->model, a->opts, out);
    if (st) return cli_error("cannot create a session", st);
    return 0;
}

/* Without --show-placement, run prints the report's first line: its
 * summary (nodes, subgraphs, copies, fallbacks, estimate). */
static void print_placement_summary(const prism_session *s) {
    const char *text = prism_session_placement(s, "text");
    if (!text || !*text) return;
    const char *end = strchr(text, '\n');
    printf("placement: %.*s\n", (int)(end ? (size_t)(end - text) : strlen(text)), text);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long long dim_value(const run_args *a, const char *param) {
    for (size_t i = 0; param && i < a->n_dims; i++)
        if (!strcmp(a->dims[i].name, param)) return atoll(a->dims[i].value);
    return 1;
}

/* Build the inputs of one run: from files or generated. */
static int load_inputs(const run_args *a, prism_session *s, prism_tensor **tensors, const char **names) {
    size_t n = prism_session_input_count(s);
    for (size_t i = 0; i < n; i++) {
        prism_value_info info = {.struct_size = sizeof info};
        prism_session_input(s, i, &info);
        names[i] = info.name;
        prism_status st = PRISM_OK;
        char path[4096];
        const char *file = NULL;
        if (a->input_dir) {
            snprintf(path, sizeof path, "%s/input_%zu.pb", a->input_dir, i);
            file = path;
        }
        for (size_t k = 0; k < a->n_inputs; k++)
            if (!strcmp(a->inputs[k].name, info.name)) file = a->inputs[k].value;
        if (file) {
            st = prism_tensor_load_pb(file, &tensors[i], NULL);
            if (st) {
                char what[4200];
                snprintf(what, sizeof what, "input '%s'", info.name);
                return cli_error(what, st);
            }
            continue;
        }
        if (a->n_inputs) {
            fprintf(stderr, "prism: input '%s' is not given (use --input %s=FILE.pb)\n", info.name, info.name);
            return 1;
        }
        if (info.rank < 0 || !info.dtype) {
            fprintf(stderr, "prism: input '%s' has no declared type or rank: give it with --input\n", info.name);
            return 1;
        }
        int64_t dims[64];
        for (int32_t d = 0; d < info.rank && d < 64; d++)
            dims[d] = info.dims[d] >= 0 ? info.dims[d] : dim_value(a, info.dim_params ? info.dim_params[d] : NULL);
        st = prism_tensor_create(info.dtype, dims, (size_t)info.rank, &tensors[i]);
        if (st) {
            char what[4800], shape[512];
            cli_format_dims(dims, (size_t)info.rank, shape, sizeof shape);
            snprintf(what, sizeof what, "cannot make input '%s' of shape %s", info.name, shape);
            return cli_error(what, st);
        }
        cli_fill_random(tensors[i], 0x5eed0000u + i);
    }
    return 0;
}

static int cmd_run(int argc, char **argv) {
    run_args a;
    int rc = parse_run_args(argc, argv, &a, CMD_RUN);
    if (rc) {
        free_run_args(&a);
        return rc < 0 ? print_run_help() : rc;
    }
    prism_env *env = NULL;
    prism_session *s = NULL;
    prism_tensor **ins = NULL, **outs = NULL;
    const char **in_names = NULL;
    size_t n_in = 0, n_out = 0;
    double *times = NULL;
    prism_status st = prism_env_create(&env);
    if (st) {
        rc = cli_error("environment", st);
        goto done;
    }
    double t0 = now_ms();
    if ((rc = make_session(env, &a, &s))) goto done;
    double create_ms = now_ms() - t0;
    if (a.show_placement) {
        const char *report = prism_session_placement(s, "text");
        if (report) fputs(report, stdout);
    } else {
        print_placement_summary(s);
    }
    n_in = prism_session_input_count(s);
    n_out = prism_session_output_count(s);
    ins = calloc(n_in + 1, sizeof *ins);
    in_names = calloc(n_in + 1, sizeof *in_names);
    outs = calloc(n_out + 1, sizeof *outs);
    times = calloc((size_t)a.repeat, sizeof *times);
    if (!ins || !in_names || !outs || !times) {
        rc = cli_error("out of memory", PRISM_ERR_OUT_OF_MEMORY);
        goto done;
    }
    if ((rc = load_inputs(&a, s, ins, in_names))) goto done;
    for (long long r = 0; r < a.repeat; r++) {
        for (size_t i = 0; i < n_out; i++) prism_tensor_destroy(outs[i]), outs[i] = NULL;
        double t = now_ms();
        st = prism_session_run(s, in_names, (const prism_tensor *const *)ins, n_in, NULL, n_out, outs);
        times[r] = now_ms() - t;
        if (st) {
            rc = cli_error("run failed", st);
            goto done;
        }
    }
    for (size_t i = 0; i < n_out; i++) {
        prism_value_info info = {.struct_size = sizeof info};
        prism_session_output(s, i, &info);
        char shape[512];
        cli_format_dims(prism_tensor_dims(outs[i]), prism_tensor_rank(outs[i]), shape, sizeof shape);
        printf("output %zu '%s': %s %s  ", i, info.name, prism_dtype_name(prism_tensor_dtype(outs[i])), shape);
        cli_summarize(outs[i], stdout);
        printf("\n");
        if (a.output_dir) {
            mkdir(a.output_dir, 0777);
            char path[4096];
            snprintf(path, sizeof path, "%s/output_%zu.pb", a.output_dir, i);
            st = prism_tensor_save_pb(outs[i], info.name, path);
            if (st) {
                rc = cli_error("cannot write output", st);
                goto done;
            }
        }
    }
    printf("session created in %.1f ms\n", create_ms);
    if (a.repeat > 1) {
        double sum = 0;
        for (long long r = 0; r < a.repeat; r++) sum += times[r];
        qsort(times, (size_t)a.repeat, sizeof *times, cmp_double);
        printf("%lld runs: min %.3f ms, median %.3f ms, mean %.3f ms\n", a.repeat, times[0], times[a.repeat / 2],
               sum / (double)a.repeat);
    } else {
        printf("run took %.3f ms\n", times[0]);
    }
done:
    for (size_t i = 0; ins && i < n_in; i++) prism_tensor_destroy(ins[i]);
    for (size_t i = 0; outs && i < n_out; i++) prism_tensor_destroy(outs[i]);
    free(ins);
    free(outs);
    free(in_names);
    free(times);
    prism_session_destroy(s);
    prism_env_destroy(env);
    free_run_args(&a);
    return rc;
}

static int cmd_partition(int argc, char **argv) {
    run_args a;
    int rc = parse_run_args(argc, argv, &a, CMD_PARTITION);
    if (rc) {
        free_run_args(&a);
        return rc < 0 ? print_partition_help() : rc;
    }
    prism_env *env = NULL;
    prism_session *s = NULL;
    prism_status st = prism_env_create(&env);
    if (st) rc = cli_error("environment", st);
    else rc = make_session(env, &a, &s);
    const char *report = rc ? NULL : prism_session_placement(s, a.format);
    if (!rc && !report) {
        fprintf(stderr, "prism: no %s partition report\n", a.format);
        rc = 1;
    }
    if (!rc && a.out_file) {
        FILE *f = fopen(a.out_file, "w");
        bool ok = f && fputs(report, f) >= 0;
        if (f && fclose(f)) ok = false;
        if (!ok) {
            fprintf(stderr, "prism: cannot write %s: %s\n", a.out_file, strerror(errno));
            rc = 1;
        }
    } else if (!rc) {
        fputs(report, stdout);
    }
    prism_session_destroy(s);
    prism_env_destroy(env);
    free_run_args(&a);
    return rc;
}

static int cmd_devices(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: prism devices\nList the provider plugins found (PRISM_PROVIDER_PATH, next to libprism,\n"
                   "the install folder), their versions and their devices.\n");
            return 0;
        }
        fprintf(stderr, "prism: devices takes no argument ('%s')\n", argv[i]);
        return USAGE_ERROR;
    }
    prism_env *env;
    prism_status st = prism_env_create(&env);
    if (st) return cli_error("environment", st);
    prism_env_set_logger(env, log_to_stderr, NULL, PRISM_LOG_WARNING);
    prism_env_load_all_providers(env);
    size_t n = prism_env_provider_count(env);
    if (!n) printf("no provider found (set PRISM_PROVIDER_PATH to the folder holding libprism_provider_*.so)\n");
    for (size_t i = 0; i < n; i++) {
        size_t nd = prism_env_device_count(env, i);
        printf("provider %s %s (%s): %zu device%s\n", prism_env_provider_name(env, i), prism_env_provider_version(env, i),
               prism_env_provider_path(env, i), nd, nd == 1 ? "" : "s");
        if (!nd) printf("  no device: %s\n", prism_env_provider_reason(env, i));
        for (size_t d = 0; d < nd; d++) {
            prism_device_desc desc = {.struct_size = sizeof desc};
            if (prism_env_device(env, i, d, &desc)) continue;
            printf("  device %zu: %s '%s' vendor '%s'", d, cli_device_type(desc.type), desc.name, desc.vendor);
            if (desc.memory_bytes) printf(", %.1f GiB", (double)desc.memory_bytes / (1024.0 * 1024.0 * 1024.0));
            printf("\n");
            for (const char *p = desc.properties; p && *p;) {
                const char *e = strchr(p, '\n');
                size_t len = e ? (size_t)(e - p) : strlen(p);
                if (len) printf("    %.*s\n", (int)len, p);
                p = e ? e + 1 : p + len;
            }
        }
    }
    prism_env_destroy(env);
    return 0;
}

typedef struct op_count {
    const char *domain, *op;
    size_t n;
} op_count;

static int cmp_count(const void *a, const void *b) {
    const op_count *x = a, *y = b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return strcmp(x->op, y->op);
}

static int cmd_info(int argc, char **argv) {
    const char *model = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: prism info MODEL\nPrint the IR and opset versions, inputs, outputs and the op histogram.\n");
            return 0;
        }
        if (argv[i][0] == '-') {
            fprintf(stderr, "prism: unknown option '%s'\n", argv[i]);
            return USAGE_ERROR;
        }
        if (model) {
            fprintf(stderr, "prism: info takes one MODEL\n");
            return USAGE_ERROR;
        }
        model = argv[i];
    }
    if (!model) {
        fprintf(stderr, "prism: missing MODEL (see prism info --help)\n");
        return USAGE_ERROR;
    }
    prism_model *m;
    prism_status st = prism_model_load(model, &m);
    if (st) return cli_error("cannot load the model", st);
    printf("model: %s\nir_version: %" PRId64 "\nproducer: %s\nopsets:", model, prism_model_ir_version(m),
           prism_model_producer(m));
    for (size_t i = 0; i < prism_model_opset_count(m); i++) {
        const char *d;
        int64_t v;
        prism_model_opset(m, i, &d, &v);
        printf(" %s=%" PRId64, *d ? d : "ai.onnx", v);
    }
    printf("\n");
    for (int io = 0; io < 2; io++) {
        size_t n = io ? prism_model_output_count(m) : prism_model_input_count(m);
        printf("%s (%zu):\n", io ? "outputs" : "inputs", n);
        for (size_t i = 0; i < n; i++) {
            prism_value_info info = {.struct_size = sizeof info};
            if (io) prism_model_output(m, i, &info);
            else prism_model_input(m, i, &info);
            char shape[512];
            cli_format_shape(&info, shape, sizeof shape);
            printf("  %s: %s %s\n", info.name, prism_dtype_name(info.dtype), shape);
        }
    }
    size_t nn = prism_model_node_count(m);
    printf("initializers: %zu\nnodes: %zu\nops:\n", prism_model_initializer_count(m), nn);
    op_count *counts = calloc(nn + 1, sizeof *counts);
    size_t nc = 0;
    for (size_t i = 0; counts && i < nn; i++) {
        const char *d, *op;
        prism_model_node(m, i, NULL, &d, &op);
        size_t k = 0;
        while (k < nc && (strcmp(counts[k].op, op) || strcmp(counts[k].domain, d))) k++;
        if (k == nc) counts[nc++] = (op_count){d, op, 0};
        counts[k].n++;
    }
    if (counts) qsort(counts, nc, sizeof *counts, cmp_count);
    for (size_t k = 0; k < nc; k++) {
        char label[512];
        if (*counts[k].domain) snprintf(label, sizeof label, "%s:%s", counts[k].domain, counts[k].op);
        else snprintf(label, sizeof label, "%s", counts[k].op);
        printf("  %-28s %zu\n", label, counts[k].n);
    }
    free(counts);
    prism_model_destroy(m);
    return 0;
}

static int usage(FILE *out) {
    fprintf(out, "usage: prism COMMAND [options]\n\n"
                 "commands:\n"
                 "  run MODEL        run a model and print its outputs (prism run --help)\n"
                 "  partition MODEL  show which provider and device runs each node, the copies\n"
                 "                   and the fallbacks, as text, JSON or Graphviz DOT\n"
                 "                   (prism partition --help)\n"
                 "  devices          list providers and their devices\n"
                 "  info MODEL       show a model's versions, inputs, outputs and ops\n"
                 "  version          print the version\n");
    return out == stdout ? 0 : USAGE_ERROR;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "run")) return cmd_run(argc - 2, argv + 2);
    if (!strcmp(cmd, "partition")) return cmd_partition(argc - 2, argv + 2);
    if (!strcmp(cmd, "devices")) return cmd_devices(argc - 2, argv + 2);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 2, argv + 2);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("prism %s\n", prism_version_string());
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) return usage(stdout);
    fprintf(stderr, "prism: unknown command '%s'\n", cmd);
    return usage(stderr);
}
