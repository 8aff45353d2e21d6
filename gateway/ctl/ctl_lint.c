/* eportctl lint [DIR]: compile every mapping table and code list and print
 * each problem as file:line:col: error: why. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "map.h"

int ctl_lint(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "--help") == 0)) {
        fprintf(argc > 2 ? stderr : stdout,
                "usage: eportctl lint [DIR]   (default: the mapping directory)\n");
        return argc > 2 ? CTL_USAGE : CTL_OK;
    }
    const char *dir = ctl_mappings_dir(argc == 2 ? argv[1] : NULL);
    map_set *s = NULL;
    err_t e;
    int rc = map_set_load(dir, &s, &e);
    if (rc == ERR_IO || !s) {
        fprintf(stderr, "%s\n", e.msg);
        map_set_free(s);
        return CTL_NOINPUT;
    }
    size_t n = 0;
    for (const map_problem *p = map_set_problems(s); p; p = p->next, n++)
        fprintf(stderr, "%s\n", p->text);
    printf("%s: %zu mapping tables, %zu problems\n", dir, map_set_count(s), n);
    map_set_free(s);
    return n ? CTL_CONFIG : CTL_OK;
}
