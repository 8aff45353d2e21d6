/* codec_edifact: UN/EDIFACT (ISO 9735) interchanges to syntax trees and
 * back. Parsing is one pass per segment over the bytes, checks the
 * envelope's control counts and the declared syntax level (character set),
 * and reports every problem as a codec diag so one broken message does not
 * stop the rest of the interchange. Writing builds one interchange (UNB ..
 * UNZ) with correct counts from trees of body segments.
 *
 * Tree conventions beyond tree.h:
 *  - every node (segment, element, component) carries seq = the segment's
 *    number in its message (UNH = 1) and line/col of its first byte; col
 *    counts bytes of the UTF-8 text that was tokenised (after any charset
 *    conversion);
 *  - the message root is named after UNH 0065 ("IFTMIN"), seq 1, at UNH;
 *  - trailing empty components and elements are dropped whether or not the
 *    sender wrote them, so parse(write(tree)) gives the same tree;
 *  - the repetition separator (syntax 4) is not interpreted: a repeated
 *    element stays one value holding it (the writer releases it).
 * A message with any diag is broken: its root is NULL. */
#ifndef EPORT_CODEC_EDIFACT_H
#define EPORT_CODEC_EDIFACT_H

#include <stddef.h>

#include "codec.h"

#define EDI_UNA_DEFAULT ":+.? '"    /* component element decimal release
                                       repetition terminator */
#define EDI_MAX_VALUE (64u << 10)   /* raw bytes of one component */
#define EDI_MAX_ELEMENTS 256        /* per segment */
#define EDI_MAX_COMPONENTS 1024     /* per segment, all elements together */
#define EDI_MAX_SEGMENTS 999999u    /* per message: UNT 0074 is n..6 */

/* The service characters of one interchange. A space as release or
 * repetition character means "not used", as in a UNA. */
typedef struct edi_seps {
    char comp, elem, dec, rel, rep, seg;
} edi_seps;

/* Separators from the six characters after "UNA" (una6 need not be
 * NUL-terminated). They must be ASCII, not letters or digits, and the
 * component, element, release, repetition and terminator characters must
 * differ; only the terminator may be a line break. ERR_INVALID with e
 * saying which rule broke. */
int edi_seps_from_una(edi_seps *s, const char *una6, err_t *e);

/* The codec ops; also reachable as codec_find("edifact"). */
int edi_sniff(const char *data, size_t len);
/* Every string in out lives in a (trees of a 3 KB message take ~40 KB of
 * arena); a parser state of ~30 KB is malloc'd and freed within the call.
 * o may be NULL; o->charset (e.g. "GB18030") converts the whole input
 * first and overrides the UNB syntax level. */
int edi_parse(const char *data, size_t len, const codec_opts *o, arena_t *a,
              codec_batch *out, err_t *e);
/* Appends one interchange to out; on error out is left as it was. The
 * envelope (syntax, default "UNOY:3"; sender; recipient; date, default
 * now in UTC; interchange ref, default made up) comes from msgs[0]->meta;
 * a missing message ref becomes the message's position. The syntax level
 * decides the output charset (UNOC writes ISO-8859-1); o->charset, when
 * set, overrides it. A UNA is written only when o->una is set. */
int edi_write(const codec_msg *const *msgs, size_t n, const codec_opts *o,
              buf_t *out, err_t *e);

extern const codec_ops codec_edifact_ops;

#endif
