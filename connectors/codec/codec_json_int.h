/* codec_json_int: the lexical rules the JSON parser (codec_json.c) and
 * writer (codec_json_write.c) share, so that what one writes the other
 * reads: number syntax and the key hash (UTF-8 validity is
 * charset_utf8_next, shared with every codec). The public API
 * stays codec_json.h; only those two files include this. */
#ifndef EPORT_CODEC_JSON_INT_H
#define EPORT_CODEC_JSON_INT_H

#include <stdint.h>

/* End of the JSON number starting at s, or NULL when there is none. */
const char *jsonc__num_end(const char *s, const char *e);
/* FNV-1a of a key: duplicate keys when parsing, member groups when writing. */
uint32_t jsonc__hash(const char *s);

#endif
