/* codec_fixed: fixed-width record files (mainframe and legacy customs
 * exports, one record per line, fields at set columns) to and from the
 * syntax tree. The layouts come from the mapping, through codec_opts
 * (records, nrecords, type_len); the data alone cannot be sniffed.
 * Reached through codec_fixed_ops ("fixed").
 *
 * Record types: a line's type is its first type_len columns, matched
 * exactly against codec_fixed_record.type (whose length must be type_len).
 * type_len == 0 needs exactly one layout, used for every line.
 *
 * COLUMN SEMANTICS (the mapping author must know): start/len count
 *   - CHARACTERS (UTF-8 code points) when o->charset is NULL or UTF-8;
 *   - BYTES of the original encoding when o->charset is set ("GB18030",
 *     "GBK": a Chinese character is 2 columns wide), since that is how
 *     legacy systems lay such files out. Each field is cut from the raw
 *     bytes and converted on its own; a field boundary that splits a
 *     character is a diag. The charset must be ASCII-compatible (LF line
 *     ends, ASCII type codes and space padding).
 *
 * Parsing, one codec_msg per input:
 *   root "file" -> records named by type code ("record" when type_len is 0;
 *   seq = line = line number, col 1) -> fields named by the layout, in
 *   layout order (line, col = start column).
 *   - Values: trailing spaces removed; leading spaces removed too when the
 *     rest is a number ([+-]digits[.,digits]: a right-aligned amount), so
 *     "  12" -> "12" but "  AB" keeps its spaces. Nothing else changes.
 *   - A line shorter than a field gives that field the characters present
 *     (empty past the end) without complaint; text past the last field is
 *     ignored. Blank lines, a CR before LF and a final DOS end-of-file
 *     byte (0x1A) are ignored; a UTF-8 BOM is skipped (UTF-8 input only).
 *   - meta.format = "fixed", meta.syntax = the charset ("UTF-8").
 * DIAGNOSTICS: as in codec_csv.h, a bad line (unknown record type, a line
 * shorter than the type code, a field that does not convert, a line over
 * FIXED_MAX_LINE) is a diag in msg->diags, the line is skipped or its field
 * left empty, parsing goes on and root stays set; any diag means the
 * message failed. Invalid UTF-8 / NUL bytes: diag and root NULL. Bad
 * layouts are ERR_CONFIG from parse/write.
 *
 * Writing: one line per record node in tree order, each ended by LF (not
 * CRLF: the legacy consumers are Unix batch jobs; both parse back). The
 * type code goes at column 1, each field is left-aligned and space-padded
 * to its width, the line padded to the layout's full width; fields missing
 * from the tree are spaces. A value wider than its field, a line break in
 * a value, or a record with no layout is ERR_INVALID naming the output
 * line, record and field. With charset set, values are converted and
 * widths counted in bytes of that charset. */
#ifndef EPORT_CODEC_FIXED_H
#define EPORT_CODEC_FIXED_H

#include "codec.h"

#define FIXED_MAX_LINE 65536u     /* bytes in a line, columns in a layout */
#define FIXED_MAX_TYPE_LEN 64u    /* width of a record type code */
#define FIXED_MAX_LINES 2000000u  /* records in one input */

extern const codec_ops codec_fixed_ops;

#endif
