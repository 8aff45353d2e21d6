/* store_pm_int: what the permit ledger's files (store_pm.c,
 * store_pm_query.c, store_pm_lua.c) share: its scripts, key names, and
 * long argument lists for them. A batch of 256 operations, or a permit of
 * 64 lines, takes far more arguments than an st_args holds, so the
 * scripts are sent with st_pipe_sendv from a pm_av. */
#ifndef EPORT_STORE_PM_INT_H
#define EPORT_STORE_PM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "store_int.h"
#include "store_pm.h"

/* Lua's numbers are doubles: amounts and their sums stay at or below
 * this so that every balance is exact. */
#define STORE_PM_AMOUNT_MAX (1ULL << 53)

extern const st_script st_lua_pm_issue, st_lua_pm_apply, st_lua_pm_expire,
    st_lua_pm_status;

/* Arguments of one script call: v[0], v[1] are left for EVALSHA sha; the
 * rest borrowed, or formatted into txt (sized once: never moves). */
typedef struct pm_av {
    const char **v;
    size_t *l;
    int n, cap;
    char *txt;
    size_t used, room;
    int over;                   /* something did not fit: refuse to send */
} pm_av;

/* Room for cap arguments and txt_room bytes of formatted ones. */
int store_pm__av_init(store *st, pm_av *a, int cap, size_t txt_room,
                      err_t *e);
void store_pm__av_free(pm_av *a);
void store_pm__av_b(pm_av *a, const void *p, size_t n);
void store_pm__av_s(pm_av *a, const char *s);
void store_pm__av_u(pm_av *a, uint64_t v);
void store_pm__av_i(pm_av *a, int64_t v);
/* Formatted text appended to the argument being built (opened by
 * store_pm__av_open, counted by store_pm__av_close). */
void store_pm__av_open(pm_av *a);
void store_pm__av_cat(pm_av *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void store_pm__av_close(pm_av *a);

/* Runs script s with a (EVALSHA, or EVAL of the source when Redis lost
 * its scripts); an error reply is ERR_IO "redis <url>: <what>: why".
 * The caller frees *out. */
int store_pm__eval(store *st, const st_script *s, pm_av *a, const char *what,
                   redisReply **out, err_t *e);

/* The head of every script's arguments: numkeys 0 (the scripts name
 * their keys from the base), ARGV key base (into base), now, the
 * history's cap. */
void store_pm__head(store *st, pm_av *a, char base[ST_KEY_MAX],
                    int64_t now_ms);

/* "<prefix>v1:pm:" (what the scripts put before ids, "all" and "exp"). */
void store_pm__base(store *st, char out[ST_KEY_MAX]);
/* "<prefix>v1:pm:<id><sub>"; ERR_INVALID for a bad id. */
int store_pm__key(store *st, char out[ST_KEY_MAX], const char *id,
                  const char *sub, err_t *e);
/* A reservation key: 1-PM_KEY_MAX of printable ASCII without space. */
int store_pm__token_ok(const char *s);

#endif
