/* codec: the ops table every local format implements (parse bytes into
 * syntax trees, write trees back to bytes) and the registry the rest of the
 * system finds them through, so a new format is one new file pair and one
 * row in codec.c (after nng's transport ops).
 *
 * One input (a file, an HTTP body) may hold several messages: an EDIFACT
 * interchange, a JSON array. parse returns them all in a codec_batch; a
 * message that is broken carries its problems in diags and no tree, and the
 * others still translate. Problems that concern the whole input (UNZ count)
 * go to the batch's own diags. */
#ifndef EPORT_CODEC_H
#define EPORT_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "strict.h"
#include "tree.h"

#define CODEC_MAX_INPUT (64u << 20)  /* one input is refused above this */
#define CODEC_MAX_MESSAGES 100000     /* per input */
#define CODEC_MAX_DIAGS 1000          /* per input, further ones dropped */

/* One problem found in the input: line/col 1-based (0 if unknown), msg is
 * "segment 4 (NAD) element 2: value too long" (no file, no "error:").
 * A slip one of the strictness rules covers (strict.h) names its rule:
 * the codec or mapping engine that finds it does not decide whether it is
 * an error; xlate (or map_run, for its own) sets warn when the table or
 * the sender is lenient about the rule. */
typedef struct codec_diag {
    uint32_t line, col;
    int code; /* ERR_* */
    char *msg;
    uint8_t rule;  /* strict_rule; STRICT_NONE: a plain error */
    uint8_t warn;  /* judged lenient: a warning, not an error */
    uint16_t what; /* msg + what: the "why" after the "where: " part */
    struct codec_diag *next;
} codec_diag;

/* What the envelope said about a message. Fields not known are NULL. */
typedef struct codec_meta {
    const char *format;          /* codec name: "edifact" */
    const char *message_type;    /* UNH 0065 "IFTMIN"; XML root name */
    const char *version;         /* "D:04A" (0052:0054); XML version attr */
    const char *agency;          /* UNH 0051 "UN" */
    const char *association;     /* UNH 0057 */
    const char *sender;          /* UNB 0004 */
    const char *recipient;       /* UNB 0010 */
    const char *interchange_ref; /* UNB 0020 */
    const char *message_ref;     /* UNH 0062 */
    const char *prepared;        /* UNB date/time as ISO 8601 */
    const char *syntax;          /* "UNOY:3"; XML encoding; csv charset */
    const char *ns;              /* XML namespace of the root */
} codec_meta;

typedef struct codec_msg {
    codec_meta meta;
    tnode *root;        /* NULL when the message could not be parsed */
    codec_diag *diags;  /* problems in this message, in input order */
    uint32_t line;      /* where the message starts */
    uint32_t index;     /* 0-based position in the input */
    struct codec_msg *next;
} codec_msg;

typedef struct codec_batch codec_batch;
typedef int (*codec_emit_fn)(void *ctx, codec_batch *b, codec_msg *m);

struct codec_batch {
    codec_msg *msgs, *last;
    uint32_t nmsgs;
    codec_diag *diags, *diags_last; /* input-level problems */
    uint32_t ndiags;                /* all diags, input and messages */
    /* Streaming, optional: when emit is set, a codec that can stream calls
     * it as soon as each message is complete instead of keeping the message
     * in msgs. The message's tree and diags are then built in msg_arena,
     * which the codec resets after emit returns (meta strings stay in the
     * main arena), so memory stays flat over a 10,000-message interchange.
     * A non-zero return stops the parse and is returned. Codecs that do not
     * stream ignore these fields; xlate then walks msgs afterwards. */
    codec_emit_fn emit;
    void *emit_ctx;
    arena_t *msg_arena;
    uint32_t nemitted;
};

/* Field layout of a fixed-width record type, from the mapping. */
typedef struct codec_fixed_field {
    const char *name;
    uint32_t start, len; /* 1-based start column, width in characters */
} codec_fixed_field;

typedef struct codec_fixed_record {
    const char *type; /* the record's leading type code ("10") */
    const codec_fixed_field *fields;
    uint32_t nfields;
} codec_fixed_record;

/* Options a mapping may set; zero means the format's own default. */
typedef struct codec_opts {
    const char *charset;   /* input charset: "GB18030"; NULL: the format's */
    char delimiter;        /* csv: ',' by default */
    char quote;            /* csv: '"' */
    int header;            /* csv: 1 first line names columns (default), -1 none */
    uint32_t type_len;     /* fixed: width of the record type code at col 1 */
    const codec_fixed_record *records; /* fixed: layouts */
    uint32_t nrecords;
    /* writing */
    char una[7];           /* edifact: separators to write ("" = default) */
    int pretty;            /* xml/json: indent; edifact: newline per segment */
} codec_opts;

typedef struct codec_ops {
    const char *name; /* "edifact", "xml", "csv", "fixed", "json" */
    /* How sure (0..100) this looks like the format, from the first bytes. */
    int (*sniff)(const char *data, size_t len);
    /* Parse data into out (all of it in arena a). Returns 0 when parsing
     * ran (even if some messages carry diags), negative ERR_* when the
     * input as a whole is unusable (then e says why). */
    int (*parse)(const char *data, size_t len, const codec_opts *o,
                 arena_t *a, codec_batch *out, err_t *e);
    /* Write n messages as one input (one interchange, one document for
     * n == 1) appended to out. */
    int (*write)(const codec_msg *const *msgs, size_t n, const codec_opts *o,
                 buf_t *out, err_t *e);
} codec_ops;

/* Registry: by name (NULL if none) and by sniffing (best score > 0). */
const codec_ops *codec_find(const char *name);
const codec_ops *codec_sniff(const char *data, size_t len);
/* Every registered codec, NULL-terminated. */
const codec_ops *const *codec_all(void);

/* Helpers the codecs share. */
codec_msg *codec_msg_add(codec_batch *b, arena_t *a);
/* Record a problem; m NULL = input-level. Past CODEC_MAX_DIAGS it is
 * counted but not stored. Returns code. */
int codec_diag_add(codec_batch *b, codec_msg *m, arena_t *a, int code,
                   uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* Record a slip of rule (strict.h) found at where ("segment 47 (UNT)
 * element 1", or "" when the position says it all): msg "where: what".
 * It does not mark the message broken: the caller keeps its tree, and
 * xlate judges the slip. Always stored (codecs report a rule at most once
 * per message); returns the diag, NULL when out of memory. */
codec_diag *codec_rule_add(codec_batch *b, codec_msg *m, arena_t *a,
                           int rule, int code, uint32_t line, uint32_t col,
                           const char *where, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));
/* line_ends for the line-based formats (CSV, fixed width): every line
 * ends as the first one did, LF or CRLF. Zeroed before the first line;
 * codec_eol_check with each line's end reports the first line that
 * differs (rule STRICT_LINE_ENDS, on m). */
typedef struct codec_eol {
    uint8_t first, told; /* first: 1 LF, 2 CRLF (0: no line yet) */
    uint32_t line;       /* the first line's number */
} codec_eol;
void codec_eol_check(codec_eol *s, codec_batch *b, codec_msg *m, arena_t *a,
                     int crlf, uint32_t line, uint32_t col);
/* A diag as an error or warning line says it: msg, and " [RULE]" for a
 * rule's slip. */
void codec_diag_line(const codec_diag *d, char *out, size_t n);
/* A rule's slip as a record's warnings[] says it: "RULE: what, where at
 * LINE:COL" ("RULE: what at LINE:COL" without a where). */
void codec_diag_warning(const codec_diag *d, char *out, size_t n);
/* The same from its parts: where[0..wlen) (wlen 0: none) and what. */
void codec_warning_text(int rule, const char *where, size_t wlen,
                        const char *what, uint32_t line, uint32_t col,
                        char *out, size_t n);

#endif
