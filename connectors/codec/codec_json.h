/* codec_json: JSON inputs (one document, a top-level array of messages, or
 * NDJSON) to syntax trees and back.
 *
 * The parser is our own rather than jansson's json_loadb: it builds the
 * tree straight into the arena (jansson mallocs every value and hashes
 * every object, and the tree would still have to be built after it:
 * json_loadb alone did ~15,000 3.4 KB documents/s where this parser, tree
 * included, does ~120,000), it keeps number text exactly as written
 * ("12.30" stays "12.30", 20-digit ids survive), and it gives every node
 * its line:col.
 *
 * Tree shape (see tree.h):
 *   - message root: name "" (as map_reverse builds it), TN_OBJ, the
 *     members as children;
 *   - member "k": {..} -> child "k", TN_OBJ; "k": scalar -> child "k";
 *   - "k": [a, b] -> children "k", "k" of the object, each TN_LIST (plus
 *     TN_OBJ for an object element); "k": [] -> no child at all (the
 *     mapping sees the key as absent);
 *   - an array inside an array -> a TN_LIST node named by the key whose
 *     children are its elements, named "" and TN_LIST; an empty one is a
 *     bare TN_LIST node with no children;
 *   - strings: value, no flag; numbers: value = exact source text, TN_NUM;
 *     true/false: "true"/"false", TN_BOOL; null: value NULL, TN_NULL;
 *   - line:col (1-based, col in bytes) = where a member's key or an array
 *     element begins.
 * Messages: a top-level object is one message; a top-level array gives one
 * message per element (an element that is not an object gets a diag and no
 * tree); objects one per line (NDJSON), or pretty-printed objects one
 * after another (each ending its line), give a message each. A broken one
 * gets a diag and parsing goes on at the next line that starts with '{' in
 * its first column (an error inside a top-level array ends the array
 * instead). meta.format "json",
 * meta.message_type = the root's string member "messageType", else "type".
 * Refused with a diag: malformed JSON, duplicate keys, "\u0000", invalid
 * UTF-8, nesting deeper than JSONC_MAX_DEPTH. Input must be UTF-8
 * (opts->charset other than UTF-8 is ERR_UNSUPPORTED).
 *
 * Writing: n == 1 -> the root's value, n > 1 -> an array of them. A node
 * is written as: TN_NULL -> null; a TN_LIST node without TN_OBJ or value
 * whose children are all "" TN_LIST -> array; a node with children or
 * TN_OBJ -> object; TN_NUM -> the number text (must be JSON number syntax);
 * TN_BOOL -> true/false; other values -> strings; no value -> null.
 * Object members keep the order in which each name first appears; all
 * children sharing a name become one array there when there are several
 * or any is TN_LIST (so repeated XML elements become arrays too). A node
 * with both children and a value (XML text beside attributes) gets its
 * value as a leading "#text" member. o->pretty indents by two spaces. */
#ifndef EPORT_CODEC_JSON_H
#define EPORT_CODEC_JSON_H

#include "codec.h"

#define JSONC_MAX_DEPTH 256 /* object/array nesting */

extern const codec_ops codec_json_ops;

/* codec_ops entry points, public for direct use. */
int jsonc_sniff(const char *data, size_t len);
/* Trees, strings and diags go into a (borrowed); nothing to free. */
int jsonc_parse(const char *data, size_t len, const codec_opts *o, arena_t *a,
                codec_batch *out, err_t *e);
int jsonc_write(const codec_msg *const *msgs, size_t n, const codec_opts *o,
                buf_t *out, err_t *e);

#endif
