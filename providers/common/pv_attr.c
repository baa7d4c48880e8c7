/* pv_attr.c — typed attribute getters shared by the providers, so that every
 * provider treats a mistyped attribute the same way (as absent). */
#include "pv_attr.h"

int32_t pv_attr_find(const prism_host_api *host, const prism_graph_view *g, uint32_t node, const char *name,
                     int32_t type) {
    int32_t a = host->node_attr_find(g, node, name);
    if (a < 0) return -1;
    return host->attr_type(g, node, (uint32_t)a) == type ? a : -1;
}

bool pv_attr_has(const prism_host_api *host, const prism_graph_view *g, uint32_t node, const char *name) {
    return host->node_attr_find(g, node, name) >= 0;
}

int64_t pv_attr_int(const prism_host_api *host, const prism_graph_view *g, uint32_t node, const char *name,
                    int64_t dflt) {
    int32_t a = pv_attr_find(host, g, node, name, PRISM_ATTR_INT);
    return a < 0 ? dflt : host->attr_int(g, node, (uint32_t)a);
}

float pv_attr_float(const prism_host_api *host, const prism_graph_view *g, uint32_t node, const char *name,
                    float dflt) {
    int32_t a = pv_attr_find(host, g, node, name, PRISM_ATTR_FLOAT);
    return a < 0 ? dflt : host->attr_float(g, node, (uint32_t)a);
}

const char *pv_attr_string(const prism_host_api *host, const prism_graph_view *g, uint32_t node, const char *name,
                           const char *dflt) {
    int32_t a = pv_attr_find(host, g, node, name, PRISM_ATTR_STRING);
    if (a < 0) return dflt;
    const char *s = host->attr_string(g, node, (uint32_t)a, NULL);
    return s ? s : dflt;
}

/* INTS and FLOATS: one body, the element type and host getter varying. */
#define PV_ATTR_LIST(fn, T, attr_type, getter)                                                                   \
    size_t fn(const prism_host_api *host, const prism_graph_view *g, uint32_t node, const char *name,            \
              const T **out) {                                                                                   \
        int32_t a = pv_attr_find(host, g, node, name, attr_type);                                                \
        size_t count = 0;                                                                                        \
        const T *p = a < 0 ? NULL : host->getter(g, node, (uint32_t)a, &count);                                 \
        if (out) *out = p;                                                                                       \
        return p ? count : 0;                                                                                    \
    }

PV_ATTR_LIST(pv_attr_ints, int64_t, PRISM_ATTR_INTS, attr_ints)
PV_ATTR_LIST(pv_attr_floats, float, PRISM_ATTR_FLOATS, attr_floats)
