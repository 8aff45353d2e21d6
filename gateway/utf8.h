/* utf8: the one rule for text that goes into signed messages (movement
 * events' notes, permit answers' texts, an issuer's reasons): printable
 * UTF-8 in its shortest form. A signature covers bytes, so a text that
 * one reader takes and another refuses (overlong forms, surrogates,
 * control characters) must be refused by every writer and reader alike. */
#ifndef EPORT_UTF8_H
#define EPORT_UTF8_H

/* Length (1-4) of the character at s when it is printable (no C0 or C1
 * control, no DEL) and well formed (shortest form, no surrogate, at most
 * U+10FFFF); 0 otherwise. Reads at most 4 bytes and stops at a NUL (a
 * NUL is never a continuation byte), so s must be NUL-terminated or have
 * 4 readable bytes. */
int utf8_printable(const unsigned char *s);

#endif
