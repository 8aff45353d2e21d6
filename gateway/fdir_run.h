/* fdir_run: the federation directory fetched in the background. A thread
 * fetches the directory every refresh_s seconds (or at once when kicked:
 * SIGHUP), verifies it (fdir_verify) and compares it with the one in use
 * (fdir_newer); a newer one waits for the node's loop, which takes it
 * with fdir_run_take (one atomic load when nothing is waiting) and
 * applies it. Fetching never blocks the loop; refusals and fetch errors
 * are logged by the thread (directory_refused, directory_fetch).
 *
 * Ownership: fdir_run_start's *out is the caller's (fdir_run_stop joins
 * the thread and frees it). A doc from fdir_run_take is the caller's.
 * Every function but start and stop may be called from any thread. */
#ifndef EPORT_FDIR_RUN_H
#define EPORT_FDIR_RUN_H

#include <stdint.h>

#include "fdir.h"

typedef struct fdir_run fdir_run;

/* url and ca_path are copied; serial and sha (may be NULL) are the
 * directory in use, if any (serial 0: none). now: fetch at once rather
 * than after refresh_s. */
int fdir_run_start(const char *url, const char *ca_path, int64_t refresh_s,
                   uint64_t serial, const unsigned char *sha, int now,
                   fdir_run **out, err_t *e);
void fdir_run_stop(fdir_run *r);

/* Fetch now (the thread wakes up). */
void fdir_run_kick(fdir_run *r);

/* The directory now in use (or the one refused when applied), so that
 * the next fetch of the same one is not handed over again. */
void fdir_run_in_use(fdir_run *r, uint64_t serial, const unsigned char *sha);

/* A verified directory newer than the one in use, or NULL. */
fdir_doc *fdir_run_take(fdir_run *r);

const char *fdir_run_url(const fdir_run *r);
int64_t fdir_run_refresh_s(const fdir_run *r);

#endif
