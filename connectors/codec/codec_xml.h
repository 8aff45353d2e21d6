/* codec_xml: XML documents to syntax trees and back. libxml2 does the
 * parsing (well-formedness, encodings such as GB18030) through its SAX2
 * interface, so the tree is built straight into the arena with no DOM in
 * between; writing is our own small serializer into a buf_t.
 *
 * Tree shape (see tree.h):
 *   - one document = one message; its root is the document element. An
 *     input may hold several documents one after another (each may start
 *     with its own XML declaration; comments and processing instructions
 *     between them are skipped): a message each. A broken document ends
 *     the input there, as its end cannot be told;
 *   - element nodes are named by local name (prefix dropped); namespace
 *     declarations are not kept, except that the root's namespace URI is
 *     in meta.ns;
 *   - attributes come first among a node's children, named "@local",
 *     flagged TN_ATTR, in document order ("@xmlns" is reserved for the
 *     namespace, so an attribute with local name xmlns is dropped; two
 *     with one local name and different prefixes both stay, but cannot be
 *     written back);
 *   - value of an element = its text (character data and CDATA of its own,
 *     not of descendants, concatenated) with surrounding whitespace
 *     trimmed. An element without child elements always has a value ("" if
 *     empty); one with child elements has a value only when its own text
 *     is not blank (mixed content), else NULL;
 *   - line = line of the start tag's '<'; col = its column when the tag
 *     sits on one line, else 0.
 * Meta: format "xml", message_type = root local name, ns = root namespace
 * URI, version = the root's un-prefixed "version" attribute, syntax =
 * opts->charset if given, else the declared encoding, else "UTF-8" (the
 * documents after a decoded one keep its syntax). Line numbers count from
 * the start of the input.
 *
 * Safety: no network, no external DTD, and any entity declaration stops
 * the parse with ERR_UNSUPPORTED (no billion laughs, no XXE); nothing is
 * printed, every libxml2 error becomes a diag with line:col. A document
 * with any error has root NULL. Each thread keeps one libxml2 parser
 * context for reuse, freed when the thread ends.
 *
 * Writing: UTF-8 declaration, TN_ATTR children as attributes ("@" dropped;
 * "@xmlns" is the default namespace; if the root has none, meta.ns is
 * declared on it), value as text before child elements, o->pretty indents
 * by two spaces. Names must be XML NCNames and values XML 1.0 characters,
 * else ERR_INVALID. n > 1 messages are written as documents one after
 * another (each with its declaration, each ending its line), which parse
 * back as n messages; n == 0 writes nothing. */
#ifndef EPORT_CODEC_XML_H
#define EPORT_CODEC_XML_H

#include "codec.h"

#define XMLC_MAX_DEPTH 256 /* element nesting (also libxml2's own limit) */

extern const codec_ops codec_xml_ops;

/* codec_ops entry points, public for direct use. */
int xmlc_sniff(const char *data, size_t len);
/* Trees, strings and diags go into a (borrowed); nothing to free. */
int xmlc_parse(const char *data, size_t len, const codec_opts *o, arena_t *a,
               codec_batch *out, err_t *e);
int xmlc_write(const codec_msg *const *msgs, size_t n, const codec_opts *o,
               buf_t *out, err_t *e);

#endif
