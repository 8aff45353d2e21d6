/* charset: bringing legacy encodings (ISO 8859-x for EDIFACT UNOC..UNOK,
 * GB18030/GBK from Chinese systems) into UTF-8, and checking that text is
 * what it claims to be. iconv does the conversion; the checks are ours
 * because they run on every input and must be fast. */
#ifndef EPORT_CHARSET_H
#define EPORT_CHARSET_H

#include <stddef.h>
#include <stdint.h>

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

/* Offset of the first byte that is not valid UTF-8, or len if all valid.
 * Valid means: decodes with charset_utf8_next from start to end. */
size_t charset_utf8_valid(const char *s, size_t len);

/* The UTF-8 decoder every check and codec uses (RFC 3629, strict): the
 * length 1..4 of the character at s[0..len), with its code point in *cp
 * (cp may be NULL), or 0 when len is 0 or the bytes there are not one
 * valid character: a stray continuation byte, an overlong form (C0, C1,
 * E0 80..9F, F0 80..8F), a UTF-16 surrogate (ED A0..BF), a code point past
 * U+10FFFF (F4 90.., F5..FF), a bad continuation byte, or a sequence cut
 * short by len. ASCII, U+0000 included, is 1 byte. Inline because codecs
 * call it once per character. */
static inline int charset_utf8_next(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len == 0)
        return 0;
    uint32_t c = u[0];
    if (c < 0x80) {
        if (cp)
            *cp = c;
        return 1;
    }
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
    int n;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if ((size_t)n > len || u[1] < lo || u[1] > hi)
        return 0;
    c = (c & (0x7Fu >> n)) << 6 | (u[1] & 0x3F);
    for (int k = 2; k < n; k++) {
        if ((u[k] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (u[k] & 0x3F);
    }
    if (cp)
        *cp = c;
    return n;
}

/* Offset of the first byte outside printable ASCII 0x20..0x7E plus CR/LF,
 * or len. (EDIFACT level A/B inputs.) */
size_t charset_ascii_valid(const char *s, size_t len);

/* iconv name for an EDIFACT syntax identifier ("UNOC" -> "ISO-8859-1",
 * "UNOY" -> "UTF-8", "UNOA" -> "ASCII"); NULL if unknown. */
const char *charset_for_edifact(const char *syntax_id);

#endif
