/* libFuzzer target for the movement event reader (mvev_decode.c) and the
 * state wire form (mvrule_state.c). Any input must be refused cleanly or
 * read. An event read must encode back to the very input bytes (the
 * reader takes only the one canonical spelling a signature covers) and
 * read again; the rules must decide it without crashing, both as the
 * first event of a movement and against a declared one, and a state they
 * make must survive its wire form. A state read from the input must
 * encode to bytes that read back and encode the same (a fixed point). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mvev.h"
#include "mvrule.h"

#define FUZZ_ID "01JAAAAAAAAAAAAAAAAAAAAAAA" /* any well-formed msg id */

/* A declared movement of the event's ref, for the rules to judge it by. */
static int fuzz__declared(const mv_event *ev, arena_t *a, mv_state *s)
{
    mv_event d = {.version = MVEV_VERSION, .type = MV_DECLARED,
                  .ref = ev->ref, .at_ms = 1, .by = NULL,
                  .kind = "rail_transit", .nitin = 3, .ndocs = 1,
                  .nctrs = 1, .pkgs = 1, .declarant = "fuzz"};
    char *dep = arena_alloc(a, 3);
    if (!dep)
        return -1;
    memcpy(dep, ev->ref + 2, 2); /* the departure is the ref's region */
    dep[2] = '\0';
    d.by = d.itin[0] = dep;
    d.itin[1] = strcmp(dep, "SN") ? "SN" : "SC";
    d.itin[2] = strcmp(dep, "SH") ? "SH" : "SC";
    d.docs[0] = (mv_doc){"CIM", "RW-1"};
    d.ctrs[0] = (mv_ctr){"MSCU1234565", {"S1"}, 1};
    err_t e;
    return mv_rule_apply(NULL, &d, FUZZ_ID, dep, a, s, &e);
}

/* A state the rules made must read back from its wire form. */
static void fuzz__state_ok(const mv_state *s, arena_t *a)
{
    buf_t w;
    err_t e;
    mv_state back;
    buf_init(&w, 1u << 20);
    if (mv_state_encode(s, &w, &e) != 0 ||
        mv_state_decode(w.p, w.len, a, &back, &e) != 0 ||
        back.phase != s->phase || back.nevents != s->nevents)
        __builtin_trap();
    buf_free(&w);
}

static void fuzz__rules(const mv_event *ev, arena_t *a)
{
    mv_state decl, out;
    err_t e;
    if (mv_rule_apply(NULL, ev, FUZZ_ID, ev->by, a, &out, &e) == 0)
        fuzz__state_ok(&out, a);
    if (fuzz__declared(ev, a, &decl) != 0)
        return; /* a ref whose region cannot depart: nothing more */
    for (int who = 0; who < 2; who++) /* its own author, then the dep */
        if (mv_rule_apply(&decl, ev, FUZZ_ID, who ? decl.data.by : ev->by, a,
                          &out, &e) == 0)
            fuzz__state_ok(&out, a);
    mv_rule_check_seals(&decl, ev, &e);
}

static void fuzz__event(const uint8_t *data, size_t size, arena_t *a)
{
    mv_event ev, again;
    err_t e;
    buf_t w;
    if (mv_event_decode(data, size, a, &ev, &e) != 0)
        return;
    buf_init(&w, 1u << 20);
    if (mv_event_encode(&ev, &w, &e) != 0 || w.len != size ||
        memcmp(w.p, data, size) != 0)
        __builtin_trap(); /* a fuzz harness reports by crashing */
    if (mv_event_decode(w.p, w.len, a, &again, &e) != 0 ||
        again.type != ev.type || strcmp(again.ref, ev.ref))
        __builtin_trap();
    buf_free(&w);
    fuzz__rules(&ev, a);
}

static void fuzz__state(const uint8_t *data, size_t size, arena_t *a)
{
    mv_state s, t;
    err_t e;
    buf_t w1, w2;
    if (mv_state_decode(data, size, a, &s, &e) != 0)
        return;
    buf_init(&w1, 1u << 20);
    buf_init(&w2, 1u << 20);
    if (mv_state_encode(&s, &w1, &e) == 0 &&
        (mv_state_decode(w1.p, w1.len, a, &t, &e) != 0 ||
         mv_state_encode(&t, &w2, &e) != 0 || w1.len != w2.len ||
         memcmp(w1.p, w2.p, w1.len) != 0))
        __builtin_trap();
    buf_free(&w1);
    buf_free(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena_t a;
    arena_init(&a, 64u << 20);
    fuzz__event(data, size, &a);
    fuzz__state(data, size, &a);
    arena_free(&a);
    return 0;
}
