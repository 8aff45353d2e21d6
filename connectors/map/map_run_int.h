/* map_run_int: what the forward runner's two files share (map_run.c:
 * the rules, values and groups; map_record.c: one record, split records,
 * map_apply). Nothing else includes it. */
#ifndef EPORT_MAP_RUN_INT_H
#define EPORT_MAP_RUN_INT_H

#include "map_int.h"

typedef struct mrun {
    const map_def *d;
    codec_batch *b;
    codec_msg *m;
    arena_t *a;
    int rc; /* first problem's code */
    const mfirst *f; /* the planned value of the rule being run, or NULL */
    map_trace_fn trace; /* --explain: each value set, or NULL */
    void *tctx;
    mslips sl; /* the record's slips of the strictness rules */
} mrun;

/* Rules rules[0..n) (plan: their plan, or NULL) in scope s into base, a
 * record or an array element. */
void mrun_rules(mrun *r, const mrule *rules, uint32_t n, const mplan *plan,
                const mscope *s, void *base);

#endif
