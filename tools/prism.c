/*
 * prism — command-line front end: run a model, list devices, inspect a
 * model. Every error is printed with its status and context and gives a
 * non-zero exit status (1 for failures, 2 for usage errors).
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

typedef struct run_args {
    const char *model;
    const char *providers;
    const char *input_dir, *output_dir;
    kv *inputs, *dims;
    size_t n_inputs, n_dims;
    long long repeat, threads;
    bool show_placement, verbose;
    prism_session_options *opts;
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

/* "all" means every provider that has a device, accelerators first. */
static char *expand_providers(prism_env *env, const char *list) {
    if (strcmp(list, "all") != 0) return strdup(list);
    prism_env_load_all_providers(env);
    size_t cap = 16;
    char *out = calloc(1, cap);
    for (int pass = 0; pass < 2 && out; pass++)
        for (size_t i = 0; i < prism_env_provider_count(env); i++) {
            if (!prism_env_device_count(env, i)) continue;
            prism_device_desc d = {.struct_size = sizeof d};
            if (prism_env_device(env, i, 0, &d)) continue;
            if ((d.type == PRISM_DEVICE_CPU) != (pass == 1)) continue;
            const char *name = prism_env_provider_name(env, i);
            size_t need = strlen(out) + strlen(name) + 2;
            if (need > cap) {
                char *o = realloc(out, cap = need * 2);
                if (!o) {
                    free(out);
                    return NULL;
                }
                out = o;
            }
            if (*out) strcat(out, ",");
            strcat(out, name);
        }
    return out;
}

static int print_run_help(void) {
    printf("usage: prism run MODEL [options]\n"
           "Run a model once (or --repeat times) and print its outputs.\n\n"
           "  --providers LIST        ordered provider list, e.g. opencl,cpu (default cpu; 'all' = every\n"
           "                          provider with a device, accelerators first)\n"
           "  --provider-option P:K=V an option for provider P (repeatable)\n"
           "  --threads N             intra-op threads (default: one per core)\n"
           "  --input-dir DIR         read DIR/input_K.pb (ONNX backend-test layout) for input K\n"
           "  --input NAME=FILE.pb    read one input from a TensorProto file (repeatable)\n"
           "  --dim NAME=VALUE        value of a symbolic dim for generated inputs (default 1)\n"
           "  --output-dir DIR        write output_K.pb files (TensorProto)\n"
           "  --repeat N              run N times and print timings\n"
           "  --show-placement        print which provider runs every node\n"
           "  -v, --verbose           log at info level\n"
           "Without --input/--input-dir, inputs are deterministic pseudo-random values.\n");
    return 0;
}

/* Returns 0 on success, USAGE_ERROR on bad flags, -1 after --help. */
static int parse_run_args(int argc, char **argv, run_args *a, bool allow_io) {
    memset(a, 0, sizeof *a);
    a->providers = "cpu";
    a->repeat = 1;
    if (prism_session_options_create(&a->opts)) return cli_error("session options", PRISM_ERR_OUT_OF_MEMORY);
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
        else if (!strcmp(f, "--providers")) { NEED_VALUE(); a->providers = v; }
        else if (!strcmp(f, "--threads")) {
            NEED_VALUE();
            if (!cli_parse_int(f, v, 0, 1024, &a->threads)) return USAGE_ERROR;
        } else if (!strcmp(f, "--provider-option")) {
            NEED_VALUE();
            kv p, o;
            if (!split_kv(f, v, ':', &p)) return USAGE_ERROR;
            bool ok = split_kv(f, p.value, '=', &o);
            if (ok) {
                prism_status st = prism_session_options_set_provider_option(a->opts, p.name, o.name, o.value);
                if (st) ok = (cli_error("--provider-option", st), false);
                free(o.name), free(o.value);
            }
            free(p.name), free(p.value);
            if (!ok) return USAGE_ERROR;
        } else if (!strcmp(f, "-v") || !strcmp(f, "--verbose")) a->verbose = true;
        else if (!strcmp(f, "--show-placement")) a->show_placement = true;
        else if (allow_io && !strcmp(f, "--input-dir")) { NEED_VALUE(); a->input_dir = v; }
        else if (allow_io && !strcmp(f, "--output-dir")) { NEED_VALUE(); a->output_dir = v; }
        else if (allow_io && !strcmp(f, "--repeat")) {
            NEED_VALUE();
            if (!cli_parse_int(f, v, 1, 1000000, &a->repeat)) return USAGE_ERROR;
        } else if (allow_io && (!strcmp(f, "--input") || !strcmp(f, "--dim"))) {
            NEED_VALUE();
            kv item;
            if (!split_kv(f, v, '=', &item)) return USAGE_ERROR;
            bool is_dim = !strcmp(f, "--dim");
            if (is_dim) {
                long long dv;
                if (!cli_parse_int(f, item.value, 0, (long long)1 << 40, &dv)) {
                    free(item.name), free(item.value);
                    return USAGE_ERROR;
                }
            }
            if (!push_kv(is_dim ? &a->dims : &a->inputs, is_dim ? &a->n_dims : &a->n_inputs, item)) return 1;
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
    if (a->verbose) prism_env_set_logger(env, log_to_stderr, NULL, PRISM_LOG_INFO);
    else prism_env_set_logger(env, log_to_stderr, NULL, PRISM_LOG_WARNING);
    char *list = expand_providers(env, a->providers);
    if (!list || !*list) {
        free(list);
        fprintf(stderr, "prism: no provider with a device was found\n");
        return 1;
    }
    prism_status st = prism_session_options_set_providers(a->opts, list);
    free(list);
    if (!st) st = prism_session_options_set_threads(a->opts, (uint32_t)a->threads);
    if (st) return cli_error("session options", st);
    st = prism_session_create(env, a->model, a->opts, out);
    if (st) return cli_error("cannot create a session", st);
    return 0;
}

static void print_placement(const prism_session *s, bool full) {
    const char *text = prism_session_placement(s, "text");
    if (!text) return;
    printf("placement:\n");
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (full || !strncmp(line, "part ", 5)) printf("  %.*s\n", (int)len, line);
        line = end ? end + 1 : line + len;
    }
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
    int rc = parse_run_args(argc, argv, &a, true);
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
    print_placement(s, a.show_placement);
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
                 "  run MODEL      run a model and print its outputs (prism run --help)\n"
                 "  devices        list providers and their devices\n"
                 "  info MODEL     show a model's versions, inputs, outputs and ops\n"
                 "  version        print the version\n");
    return out == stdout ? 0 : USAGE_ERROR;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "run")) return cmd_run(argc - 2, argv + 2);
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
