/*
 * pv_attr.h — typed node-attribute lookups over the host's graph view, for
 * the first-party providers.
 *
 * Rule shared by every getter: an attribute of another type than the one
 * asked for counts as absent, so the getter returns its default (or 0 / NULL
 * for the list getters). Nothing here allocates or fails otherwise.
 *
 * Ownership: strings and arrays returned point into the graph view, which
 * outlives every compiled unit of the session; never free them.
 * Threading: read-only calls on the host's view; safe from any thread the
 * host allows graph-view calls on.
 */
#ifndef PRISM_PV_ATTR_H
#define PRISM_PV_ATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prism/provider.h"

/* Index of attribute `name` of node when it has type `type` (a
 * prism_attr_type), else -1 (absent or of another type). */
int32_t pv_attr_find(const prism_host_api *host, const prism_graph_view *g, uint32_t node, const char *name,
                     int32_t type);
/* Whether the node has an attribute `name`, of any type. */
bool pv_attr_has(const prism_host_api *host, const prism_graph_view *g, uint32_t node, const char *name);
/* INT / FLOAT attribute, or dflt. */
int64_t pv_attr_int(const prism_host_api *host, const prism_graph_view *g, uint32_t node, const char *name,
                    int64_t dflt);
float pv_attr_float(const prism_host_api *host, const prism_graph_view *g, uint32_t node, const char *name,
                    float dflt);
/* NUL-terminated view of a STRING attribute, or dflt. */
const char *pv_attr_string(const prism_host_api *host, const prism_graph_view *g, uint32_t node, const char *name,
                           const char *dflt);
/* INTS / FLOATS attribute: its length, with *out (when out is not NULL) set
 * to the values; 0 with *out NULL when absent. */
size_t pv_attr_ints(const prism_host_api *host, const prism_graph_view *g, uint32_t node, const char *name,
                    const int64_t **out);
size_t pv_attr_floats(const prism_host_api *host, const prism_graph_view *g, uint32_t node, const char *name,
                      const float **out);

/* Defines the getters prefix_attr_{has,int,float,string,ints,floats} over a
 * provider's node type node_t (a struct with members host, g and id: the
 * host table, the graph view and the node index), each one call to the
 * pv_attr_* above. Used once per provider at file scope, so every provider's
 * kernels keep their own spelling with one implementation behind it. */
#define PV_ATTR_NODE_GETTERS(prefix, node_t)                                                                    \
    bool prefix##_attr_has(const node_t *n, const char *name) { return pv_attr_has(n->host, n->g, n->id, name); } \
    int64_t prefix##_attr_int(const node_t *n, const char *name, int64_t dflt) {                                 \
        return pv_attr_int(n->host, n->g, n->id, name, dflt);                                                    \
    }                                                                                                            \
    float prefix##_attr_float(const node_t *n, const char *name, float dflt) {                                   \
        return pv_attr_float(n->host, n->g, n->id, name, dflt);                                                  \
    }                                                                                                            \
    const char *prefix##_attr_string(const node_t *n, const char *name, const char *dflt) {                      \
        return pv_attr_string(n->host, n->g, n->id, name, dflt);                                                 \
    }                                                                                                            \
    size_t prefix##_attr_ints(const node_t *n, const char *name, const int64_t **out) {                          \
        return pv_attr_ints(n->host, n->g, n->id, name, out);                                                    \
    }                                                                                                            \
    size_t prefix##_attr_floats(const node_t *n, const char *name, const float **out) {                          \
        return pv_attr_floats(n->host, n->g, n->id, name, out);                                                  \
    }

#endif
