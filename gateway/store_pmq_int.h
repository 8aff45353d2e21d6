/* store_pmq_int: what store_pmq.c (writes) and store_pmq_read.c
 * (reads) share: reply checks and copies that name the key and the
 * Redis they came from. */
#ifndef EPORT_STORE_PMQ_INT_H
#define EPORT_STORE_PMQ_INT_H

#include "store_int.h"
#include "store_pmq.h"

/* ERR_IO "redis <url>: <key>: unexpected reply". */
int pmq_malformed(store *st, const char *key, err_t *e);
/* Runs a; its reply (*out, the caller frees it) must be of type want, or
 * nil when nil_ok; else ERR_IO and *out NULL. */
int pmq_cmd(store *st, const st_args *a, int want, int nil_ok,
            redisReply **out, err_t *e);
/* Runs a, whose reply is only checked. */
int pmq_do(store *st, const st_args *a, int want, err_t *e);
/* A string reply into out[cap] (nil: ""); ERR_IO when it does not fit. */
int pmq_copy(store *st, const char *key, const redisReply *r, char *out,
             size_t cap, err_t *e);
/* A string reply appended to out (nothing for nil or a NULL out). */
int pmq_bytes(store *st, const char *key, const redisReply *r, buf_t *out,
              err_t *e);

#endif
