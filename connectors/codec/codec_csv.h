/* codec_csv: delimited text (RFC 4180 plus what real exports do) to and
 * from the syntax tree, so spreadsheets and legacy CSV dumps translate like
 * any other format. Reached through codec_csv_ops ("csv").
 *
 * Options (codec_opts): delimiter (','), quote ('"'), header (1 = the
 * first non-blank line names the columns, the default; -1 = no header),
 * charset (input/output charset such as "GB18030"; NULL = UTF-8).
 *
 * Parsing, one codec_msg per input:
 *   root "file" -> "row" (seq = line = the row's first line, col 1)
 *   -> cells named by the header column, value = the field text exactly
 *   (quotes removed, doubled quotes undone, spaces kept; only the CR of a
 *   CRLF line end is dropped; CRLF inside quotes is kept as data).
 *   - Without a header, or past the header's width, or where a header cell
 *     is empty, cells are named by their 1-based column ("1", "2", ...).
 *     Duplicate header names are kept; tree_find sees the first.
 *   - A UTF-8 BOM is skipped; blank lines (also the trailing one) skipped;
 *     so is a DOS end-of-file byte (0x1A) ending the input.
 *   - line numbers count LF, also inside quoted fields; col counts
 *     characters (code points of the UTF-8 text, after charset conversion).
 *   - meta.format = "csv", meta.syntax = the charset ("UTF-8" by default).
 *
 * DIAGNOSTICS CONVENTION (the mapping engine must follow it): a problem in
 * one row (wrong field count, text after a closing quote, a field or row
 * over the caps) is a diag in msg->diags and parsing goes on, so one run
 * reports every bad row; root stays set and holds the rows read. ANY diag in
 * msg->diags means the message failed. Only when no tree can be trusted at
 * all (invalid UTF-8, charset conversion failure) is root NULL. parse
 * returns negative only for bad options, oversize input or arena
 * exhaustion.
 *
 * Writing: a header from the first row's cell names (unless header == -1),
 * then every row's cells in tree order, CRLF line ends; a field is quoted
 * when it holds the delimiter, the quote, CR, LF, or starts/ends with a
 * space, and a lone empty cell is written "" so the row is not blank.
 * Several messages write as one file with one header. With charset set the
 * output is converted from UTF-8. */
#ifndef EPORT_CODEC_CSV_H
#define EPORT_CODEC_CSV_H

#include "codec.h"

#define CSV_MAX_FIELD (64u << 10) /* bytes in one field */
#define CSV_MAX_COLS 1000u        /* fields in one row */
#define CSV_MAX_ROWS 1000000u     /* rows in one input, header included */

extern const codec_ops codec_csv_ops;

#endif
