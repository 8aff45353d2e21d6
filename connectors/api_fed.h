/* api_fed: the national center's part of the HTTP API (docs/api.yaml,
 * docs/operations.md "National center"): the federation's figures
 * (GET /v1/federation), its alerts (GET /v1/alerts[?active=1][&limit=N])
 * and the dashboard's static files from api.web_dir (GET /, GET /{file}).
 * The JSON is built by gateway/fed_json.c from Redis alone; these only
 * wrap it. Routes (connectors/api.c's table):
 *
 *   {"GET", "/v1/federation", api_federation, API_READ, "federation"},
 *   {"GET", "/v1/alerts", api_alerts, API_READ, "alerts"},
 *   {"GET", "/", api_web, API_OPEN, "web"},
 *   {"GET", "/{}", api_web, API_OPEN, "web"},   (last: any other file) */
#ifndef EPORT_API_FED_H
#define EPORT_API_FED_H

#include "api_int.h"

#define API_WEB_FILE_MAX (4u << 20) /* a static file, bytes */

enum MHD_Result api_federation(api_req *q);
enum MHD_Result api_alerts(api_req *q);
/* q->param names the file ("" for index.html): 1-64 of A-Z a-z 0-9 . _ -
 * not starting with a dot, a regular file (no symlink) of a known type
 * (html, js, css, svg, png, ico, json); anything else is 404. */
enum MHD_Result api_web(api_req *q);
/* GET /v1/directory and /v1/directory.sig at the national center: the
 * signed federation directory's bytes, open to all. */
enum MHD_Result api_directory(api_req *q);
enum MHD_Result api_directory_sig(api_req *q);

/* The content type of file name, NULL when not one served. */
const char *api_web_type(const char *name);
/* 1 when name may be served (the rules of api_web; "" is index.html). */
int api_web_name_ok(const char *name);

#endif
