/* charset: bringing legacy encodings (ISO 8859-x for EDIFACT UNOC..UNOK,
 * GB18030/GBK from Chinese systems) into UTF-8, and checking that text is
 * what it claims to be. iconv does the conversion; the checks are ours
 * because they run on every input and must be fast. */
#ifndef EPORT_CHARSET_H
#define EPORT_CHARSET_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

/* Convert in[0..len) from charset `from` (an iconv name: "GB18030",
 * "ISO-8859-1"; "UTF-8" only validates) to UTF-8, appended to out. On bad
 * input, e names the byte offset: "byte 1234: invalid GB18030 sequence". */
int charset_to_utf8(const char *from, const char *in, size_t len, buf_t *out,
                    err_t *e);

/* Convert UTF-8 to charset `to`, appended to out (for writing back to
 * legacy systems). Characters with no equivalent are an error. */
int charset_from_utf8(const char *to, const char *in, size_t len, buf_t *out,
                      err_t *e);

/* Offset of the first byte that is not valid UTF-8, or len if all valid. */
size_t charset_utf8_valid(const char *s, size_t len);

/* Offset of the first byte outside printable ASCII 0x20..0x7E plus CR/LF,
 * or len. (EDIFACT level A/B inputs.) */
size_t charset_ascii_valid(const char *s, size_t len);

/* iconv name for an EDIFACT syntax identifier ("UNOC" -> "ISO-8859-1",
 * "UNOY" -> "UTF-8", "UNOA" -> "ASCII"); NULL if unknown. */
const char *charset_for_edifact(const char *syntax_id);

#endif
