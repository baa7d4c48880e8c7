/* Runs a model through an installed Prism: proves the installed library finds
 * its installed CPU provider with no configuration. */
#include <prism/prism.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    prism_env *env = NULL;
    prism_session *s = NULL;
    prism_status st = prism_env_create(&env);
    if (!st) st = prism_session_create(env, argv[1], NULL, &s);
    if (st) {
        fprintf(stderr, "consumer: %s\n", prism_last_error_message());
        prism_env_destroy(env);
        return 1;
    }
    printf("consumer: %zu input(s), %zu output(s)\n", prism_session_input_count(s), prism_session_output_count(s));
    prism_session_destroy(s);
    prism_env_destroy(env);
    return 0;
}
