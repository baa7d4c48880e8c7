/* cli_common.h — helpers shared by the prism CLI's subcommands. */
#ifndef PRISM_CLI_COMMON_H
#define PRISM_CLI_COMMON_H

#include <stdbool.h>
#include <stdio.h>

#include "prism/prism.h"

/* Print "prism: <what>: <status>: <detail>" to stderr; returns 1. */
int cli_error(const char *what, prism_status st);
/* Shape as "[1,3,224,224]" with symbolic dims by name. */
void cli_format_shape(const prism_value_info *info, char *buf, size_t size);
void cli_format_dims(const int64_t *dims, size_t rank, char *buf, size_t size);
const char *cli_device_type(prism_device_type t);
/* Parse a non-negative integer argument; false (with a message) on junk. */
bool cli_parse_int(const char *flag, const char *text, long long min, long long max, long long *out);
/* Fill t with deterministic pseudo-random values (seeded). */
void cli_fill_random(prism_tensor *t, uint64_t seed);
/* One-line summary of a tensor's values (min/max/mean, first values). */
void cli_summarize(const prism_tensor *t, FILE *out);

/* The policy names the library accepts, as "a, b, c" on out. */
void cli_print_policy_names(FILE *out);
/* Parse --policy's value; false (with a message listing the accepted names)
 * for an unknown one. */
bool cli_parse_policy(const char *flag, const char *text, prism_policy *out);
/* Add each entry of an affinity spec "KEY=PROVIDER[,KEY=PROVIDER...]" to
 * opts (entries accumulate over calls). Returns 0, 2 for a malformed spec
 * (message names flag; also when the library finds an entry invalid) or 1
 * when the library fails otherwise (out of memory). */
int cli_add_affinity(prism_session_options *opts, const char *flag, const char *spec);

#endif
