/*
 * harness.c — run one case on the provider under test and on the reference.
 *
 * "Does the provider claim this node?" is answered black-box, the way a user
 * meets it: a session whose only provider is the one under test, with
 * fallback forbidden, either is created (claimed) or fails with
 * PRISM_ERR_NOT_SUPPORTED (not claimed). The PRISM_* environment variables
 * are switched off for these sessions so that a variable set in the shell
 * cannot quietly send the node elsewhere.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static pc_verdict verdict(pc_verdict v, char *reason, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, size, fmt, ap);
    va_end(ap);
    return v;
}

/* A session on exactly one provider, no fallback, no environment overrides. */
static prism_status make_session(const pc_target *t, prism_env *env, const char *provider, const uint8_t *model,
                                 size_t size, prism_session **out) {
    prism_session_options *opts = NULL;
    prism_status st = prism_session_options_create(&opts);
    if (!st) st = prism_session_options_set_providers(opts, provider);
    for (size_t k = 0; k < t->n_options && !st; k++)
        st = prism_session_options_add_provider_option_string(opts, t->options[k]);
    if (!st) st = prism_session_options_set_fallback(opts, 0);
    if (!st) st = prism_session_options_set_environment(opts, 0);
    if (!st) st = prism_session_create_from_memory(env, model, size, opts, out);
    prism_session_options_destroy(opts);
    return st;
}

/* Where the session placed the single node: NULL when the core removed it
 * at load (folded into a constant), "" when the placement is unavailable. */
static const char *placed_on(const prism_session *s) {
    if (!prism_session_node_count(s)) return NULL;
    prism_node_placement np = {.struct_size = sizeof np};
    if (prism_session_node_placement(s, 0, &np) || !np.provider) return "";
    return np.provider;
}

typedef struct run_state {
    uint8_t *model;
    size_t model_size;
    void *data[PC_MAX_IO];
    size_t bytes[PC_MAX_IO];
    prism_tensor *inputs[PC_MAX_IO];
    const char *input_names[PC_MAX_IO];
    size_t n_feeds;
    prism_session *test, *ref;
    prism_tensor *got[PC_MAX_IO], *want[PC_MAX_IO];
} run_state;

static void run_state_free(run_state *r) {
    free(r->model);
    for (size_t i = 0; i < PC_MAX_IO; i++) {
        free(r->data[i]);
        prism_tensor_destroy(r->inputs[i]);
        prism_tensor_destroy(r->got[i]);
        prism_tensor_destroy(r->want[i]);
    }
    prism_session_destroy(r->test);
    prism_session_destroy(r->ref);
}

/* Generate every input, build the model, and make the tensors fed to the
 * runs (the graph inputs; constants live in the model). */
static bool prepare(const pc_target *t, const pc_case *c, const pc_parsed *p, run_state *r, char *msg, size_t size) {
    for (size_t i = 0; i < p->n_inputs; i++) {
        const pc_tensor_spec *s = &p->inputs[i];
        if (s->omitted) continue;
        if (!pc_generate(s, pc_input_seed(t->seed, c, i), &r->data[i], &r->bytes[i], msg, size)) return false;
        if (s->constant) continue;
        prism_tensor *x;
        prism_status st = prism_tensor_create(s->dtype, s->dims, (size_t)s->rank, &x);
        if (st) {
            snprintf(msg, size, "cannot create input '%s': %s: %s", s->name, prism_status_name(st),
                     prism_last_error_message());
            return false;
        }
        if (r->bytes[i]) memcpy(prism_tensor_data(x), r->data[i], r->bytes[i]);
        r->inputs[r->n_feeds] = x;
        r->input_names[r->n_feeds++] = s->name;
    }
    r->model = pc_build_model(c, p, r->data, r->bytes, &r->model_size, msg, size);
    return r->model != NULL;
}

static prism_status run(prism_session *s, const run_state *r, size_t n_outputs, prism_tensor **out) {
    return prism_session_run(s, r->input_names, (const prism_tensor *const *)r->inputs, r->n_feeds, NULL, n_outputs,
                             out);
}

static pc_verdict run_case(const pc_target *t, const pc_case *c, const pc_parsed *p, run_state *r, char *reason,
                           size_t size) {
    if (!prepare(t, c, p, r, reason, size)) return PC_FAIL;

    prism_status st = make_session(t, t->env, t->provider, r->model, r->model_size, &r->test);
    if (st == PRISM_ERR_NOT_SUPPORTED)
        return verdict(PC_SKIP, reason, size, "not claimed by '%s': %s", t->provider, prism_last_error_message());
    if (st)
        return verdict(PC_FAIL, reason, size, "session creation on '%s' failed: %s: %s", t->provider,
                       prism_status_name(st), prism_last_error_message());
    const char *where = placed_on(r->test);
    if (!where)
        return verdict(PC_SKIP, reason, size, "the core folded the node at load: nothing ran on '%s'", t->provider);
    if (*where && strcmp(where, t->provider))
        return verdict(PC_FAIL, reason, size, "the node was placed on '%s', not on '%s'", where, t->provider);
    if (prism_session_output_count(r->test) != p->n_outputs)
        return verdict(PC_FAIL, reason, size, "the session has %zu outputs, the case %zu",
                       prism_session_output_count(r->test), p->n_outputs);

    st = make_session(t, t->ref_env, t->reference, r->model, r->model_size, &r->ref);
    if (st)
        return verdict(PC_SKIP, reason, size, "the reference '%s' cannot run it: %s: %s", t->reference,
                       prism_status_name(st), prism_last_error_message());
    if ((st = run(r->ref, r, p->n_outputs, r->want)))
        return verdict(PC_SKIP, reason, size, "the reference '%s' failed to run it: %s: %s", t->reference,
                       prism_status_name(st), prism_last_error_message());

    if ((st = run(r->test, r, p->n_outputs, r->got)))
        return verdict(PC_FAIL, reason, size, "run on '%s' failed: %s: %s", t->provider, prism_status_name(st),
                       prism_last_error_message());

    for (size_t k = 0; k < p->n_outputs; k++) {
        if (t->corrupt) pc_corrupt(r->got[k]);
        if (!pc_compare(p->outputs[k].name, r->got[k], r->want[k], reason, size)) return PC_FAIL;
    }
    reason[0] = '\0';
    return PC_PASS;
}

pc_verdict pc_run_case(const pc_target *t, const pc_case *c, char *reason, size_t size) {
    pc_parsed *p = malloc(sizeof *p);
    run_state *r = calloc(1, sizeof *r);
    pc_verdict v;
    if (!p || !r) {
        v = verdict(PC_FAIL, reason, size, "out of memory");
    } else if (!pc_parse_case(c, p, reason, size)) {
        char why[PC_MSG];
        snprintf(why, sizeof why, "%s", reason);
        v = verdict(PC_FAIL, reason, size, "bad case in the kit's table: %s", why);
    } else {
        v = run_case(t, c, p, r, reason, size);
    }
    if (r) run_state_free(r);
    free(p);
    free(r);
    return v;
}
