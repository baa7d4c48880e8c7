/* unit_util.h — helpers shared by the CUnit programs. */
#ifndef PRISM_UNIT_UTIL_H
#define PRISM_UNIT_UTIL_H

#include <CUnit/Basic.h>

#include "prism/prism.h"

/* Run the registered suites; returns the process exit status (0 only when
 * every test passed). */
int unit_run_all(void);

/* Assert a prism call succeeded, printing the error message otherwise. */
#define UNIT_OK(call)                                                                          \
    do {                                                                                       \
        prism_status unit_st_ = (call);                                                        \
        if (unit_st_ != PRISM_OK)                                                              \
            fprintf(stderr, "\n%s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #call,              \
                    prism_status_name(unit_st_), prism_last_error_message());                  \
        CU_ASSERT_EQUAL_FATAL(unit_st_, PRISM_OK);                                             \
    } while (0)

#endif
