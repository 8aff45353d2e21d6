/* Tests for codec_edifact: separators, release characters, envelopes and
 * their control counts, syntax levels and charsets, diags, writing and
 * the parse(write(parse(x))) round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_edifact.h"

/* 重庆果园港 (Chongqing Guoyuan port): UTF-8, and GB18030 as produced by
 * `printf '重庆果园港' | iconv -f UTF-8 -t GB18030 | xxd`. */
#define CQ_UTF8 "\xe9\x87\x8d\xe5\xba\x86\xe6\x9e\x9c\xe5\x9b\xad\xe6\xb8\xaf"
#define CQ_GB "\xd6\xd8\xc7\xec\xb9\xfb\xd4\xb0\xb8\xdb"

#define UNB3 "UNB+UNOY:3+SENDER:ZZZ+RECIP:ZZZ+240305:1430+IC1'\n"

typedef struct fx {
    arena_t a;
    codec_batch b;
    err_t e;
    buf_t out, out2;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    arena_init(&f->a, 256u << 20);
    buf_init(&f->out, 16u << 20);
    buf_init(&f->out2, 16u << 20);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    arena_free(&f->a);
    buf_free(&f->out);
    buf_free(&f->out2);
    free(f);
    return 0;
}

static int parse_o(fx *f, const char *s, size_t n, const codec_opts *o)
{
    memset(&f->b, 0, sizeof f->b);
    return codec_edifact_ops.parse(s, n, o, &f->a, &f->b, &f->e);
}

/* Parses s (must succeed) and returns the first message. */
static codec_msg *parse(fx *f, const char *s)
{
    assert_int_equal(parse_o(f, s, strlen(s), NULL), 0);
    return f->b.msgs;
}

static codec_msg *msg_at(fx *f, uint32_t i)
{
    codec_msg *m = f->b.msgs;
    while (m && i--)
        m = m->next;
    assert_non_null(m);
    return m;
}

/* Value of segment si (0-based in the body), element e, component c
 * (1-based, like diags). */
static const char *val(const codec_msg *m, uint32_t si, uint32_t e,
                       uint32_t c)
{
    assert_non_null(m->root);
    tnode *s = tree_kid(m->root, si);
    assert_non_null(s);
    tnode *el = tree_kid(s, e - 1);
    assert_non_null(el);
    tnode *co = tree_kid(el, c - 1);
    assert_non_null(co);
    return co->value;
}

static const char *dump(buf_t *out, const tnode *root)
{
    buf_reset(out);
    assert_non_null(root);
    assert_int_equal(tree_dump(root, out), 0);
    return out->p;
}

static int ndiags(const codec_diag *d)
{
    int n = 0;
    for (; d; d = d->next)
        n++;
    return n;
}

/* Diags that are errors, in the batch and its messages: slips of the
 * strictness rules (d->rule) are judged later, by xlate. */
static int nplain(const fx *f)
{
    int n = 0;
    for (const codec_diag *d = f->b.diags; d; d = d->next)
        n += !d->rule;
    for (const codec_msg *m = f->b.msgs; m; m = m->next)
        for (const codec_diag *d = m->diags; d; d = d->next)
            n += !d->rule;
    return n;
}

/* The first slip of rule in d, or NULL. */
static const codec_diag *slip(const codec_diag *d, int rule)
{
    while (d && d->rule != rule)
        d = d->next;
    return d;
}

/* The first diag that is an error, not a slip (UNB3 puts UNB alone on
 * its line, the rest together: a line_ends slip comes first). */
static const codec_diag *plain(const codec_diag *d)
{
    while (d && d->rule)
        d = d->next;
    assert_non_null(d);
    return d;
}

static void test_una_custom_separators(void **state)
{
    fx *f = *state;
    codec_msg *m = parse(f, "UNA^~,# !UNB~UNOY^3~S~R~240305^1430~REF1!"
                            "UNH~M1~INVOIC^D^96A^UN!BGM~380~A#~B^x#!y!"
                            "NAD~BY~~#^~~Z!UNT~4~M1!UNZ~1~REF1!");
    assert_int_equal(f->b.ndiags, 0);
    assert_string_equal(m->meta.message_type, "INVOIC");
    assert_string_equal(m->meta.version, "D:96A");
    assert_string_equal(m->meta.syntax, "UNOY:3");
    assert_string_equal(val(m, 0, 2, 1), "A~B");
    assert_string_equal(val(m, 0, 2, 2), "x!y");
    assert_string_equal(val(m, 1, 2, 1), "");
    assert_string_equal(val(m, 1, 3, 1), "^");
    assert_string_equal(val(m, 1, 5, 1), "Z");
}

static void test_release_characters(void **state)
{
    fx *f = *state;
    codec_msg *m = parse(f, "UNH+1+X:D:96A:UN'FTX+AAI+++a?+b?:c?'d??e?'+"
                            "??:?\?'UNT+3+1'");
    assert_int_equal(f->b.ndiags, 0);
    assert_string_equal(val(m, 0, 4, 1), "a+b:c'd?e'");
    assert_string_equal(val(m, 0, 5, 1), "?");
    assert_string_equal(val(m, 0, 5, 2), "?");
    assert_int_equal(tree_kid(m->root, 0)->nkids, 5);
    /* a value long enough for the 16-byte copy path, releases inside */
    m = parse(f, "UNH+1+X:D:96A:UN'FTX+0123456789abcdef?+0123456789"
                 "?:abcdef?'0123456789abcdef??z+ok'UNT+3+1'");
    assert_string_equal(val(m, 0, 1, 1),
                        "0123456789abcdef+0123456789:abcdef'"
                        "0123456789abcdef?z");
    assert_string_equal(val(m, 0, 2, 1), "ok");
}

static void test_multiple_messages(void **state)
{
    fx *f = *state;
    parse(f, "UNA:+.? '\n" UNB3 "UNH+M1+IFTMIN:D:99B:UN'\nBGM+610+D1+9'\n"
             "UNT+3+M1'\nUNH+M2+IFTMIN:D:99B:UN'\nBGM+610+D2+9'\nDTM+137:1'\n"
             "UNT+4+M2'\nUNH+M3+IFTMIN:D:99B:UN'\nUNT+2+M3'\nUNZ+3+IC1'\n");
    assert_int_equal(f->b.nmsgs, 3);
    assert_int_equal(f->b.ndiags, 0);
    codec_msg *m2 = msg_at(f, 1);
    assert_int_equal(m2->index, 1);
    assert_string_equal(m2->meta.message_ref, "M2");
    assert_string_equal(val(m2, 0, 2, 1), "D2");
    assert_int_equal(m2->line, 6);
    tnode *dtm = tree_kid(m2->root, 1);
    assert_string_equal(dtm->name, "DTM");
    assert_int_equal(dtm->seq, 3);
    assert_int_equal(dtm->line, 8);
    assert_int_equal(dtm->col, 1);
    assert_int_equal(tree_kid(tree_kid(dtm, 0), 1)->col, 9);
    assert_int_equal(msg_at(f, 2)->root->nkids, 0);
}

static void test_multiple_interchanges(void **state)
{
    fx *f = *state;
    parse(f, "UNA:+.? '\nUNB+UNOY:3+A+B+240305:1430+R1'\n"
             "UNH+1+X:D:96A:UN'\nFTX+a:b+c'\nUNT+3+1'\nUNZ+1+R1'\n"
             "UNA|*.# !\nUNB*UNOY|3*C*D*240306|0915*R2!\n"
             "UNH*1*X|D|96A|UN!\nFTX*a:b#*|c!\nUNT*3*1!\nUNZ*1*R2!\n"
             "UNB+UNOC:3+E+F+240307:1000+R3'UNH+1+X:D:96A:UN'FTX+d'"
             "UNT+3+1'UNZ+1+R3'");
    /* the third interchange leaves out the line breaks: a slip outside
     * the message and one in it, no error */
    assert_int_equal(nplain(f), 0);
    assert_non_null(slip(f->b.diags, STRICT_LINE_ENDS));
    assert_non_null(slip(msg_at(f, 2)->diags, STRICT_LINE_ENDS));
    assert_null(msg_at(f, 0)->diags);
    assert_int_equal(f->b.nmsgs, 3);
    codec_msg *m1 = msg_at(f, 0), *m2 = msg_at(f, 1), *m3 = msg_at(f, 2);
    assert_string_equal(val(m1, 0, 1, 2), "b");
    assert_string_equal(val(m2, 0, 1, 1), "a:b*");
    assert_string_equal(val(m2, 0, 1, 2), "c");
    assert_string_equal(m2->meta.sender, "C");
    assert_string_equal(m2->meta.prepared, "2024-03-06T09:15");
    assert_string_equal(m2->meta.interchange_ref, "R2");
    /* the third has no UNA: default separators again */
    assert_string_equal(val(m3, 0, 1, 1), "d");
    assert_string_equal(m3->meta.syntax, "UNOC:3");
}

static void test_groups(void **state)
{
    fx *f = *state;
    parse(f, UNB3 "UNG+INVOIC+AS+AR+240305:1430+G1+UN+D:96A'"
                  "UNH+1+INVOIC:D:96A:UN'UNT+2+1'UNH+2+INVOIC:D:96A:UN'"
                  "UNT+2+2'UNE+2+G1'UNZ+1+IC1'");
    assert_int_equal(nplain(f), 0); /* UNB on a line of its own: a slip */
    assert_int_equal(f->b.nmsgs, 2);
    parse(f, UNB3 "UNG+INVOIC+AS+AR+240305:1430+G1+UN+D:96A'"
                  "UNH+1+INVOIC:D:96A:UN'UNT+2+1'UNE+3+G9'UNZ+2+IC1'");
    const codec_diag *d = f->b.diags;
    assert_int_equal(ndiags(d), 4);
    assert_int_equal(d->rule, STRICT_LINE_ENDS); /* after UNB: '\n' */
    d = d->next;
    assert_string_equal(d->msg, "segment 5 (UNE) element 1: message "
                                "count 3 does not match 1 messages");
    assert_int_equal(d->rule, STRICT_ENVELOPE_COUNTS);
    assert_string_equal(d->next->msg,
                        "segment 5 (UNE) element 2: group reference 'G9' does "
                        "not match UNG 'G1'");
    assert_int_equal(d->next->rule, STRICT_NONE);
    assert_string_equal(d->next->next->msg,
                        "segment 6 (UNZ) element 1: group count 2 does not "
                        "match 1 groups");
    assert_int_equal(d->next->next->rule, STRICT_ENVELOPE_COUNTS);
    assert_non_null(f->b.msgs->root);
}

static void test_unt_count_mismatch(void **state)
{
    fx *f = *state;
    parse(f, UNB3 "UNH+M1+X:D:96A:UN'\nBGM+1'\nUNT+3+M1'\n"
                  "UNH+M2+X:D:96A:UN'\nBGM+2'\nDTM+3'\nUNT+5+M2'\n"
                  "UNH+M3+X:D:96A:UN'\nBGM+3'\nUNT+3+M3'\nUNZ+3+IC1'\n");
    assert_int_equal(f->b.nmsgs, 3);
    codec_msg *bad = msg_at(f, 1);
    /* a miscount is a slip (envelope_counts): the tree is kept for a
     * lenient table, xlate refuses it for a strict one */
    assert_non_null(bad->root);
    assert_non_null(bad->diags);
    assert_null(bad->diags->next);
    assert_string_equal(bad->diags->msg, "segment 4 (UNT) element 1: segment "
                                         "count 5 does not match 4 segments");
    assert_int_equal(bad->diags->line, 8);
    assert_int_equal(bad->diags->col, 5);
    assert_int_equal(bad->diags->code, ERR_COUNT);
    assert_int_equal(bad->diags->rule, STRICT_ENVELOPE_COUNTS);
    assert_string_equal(bad->diags->msg + bad->diags->what,
                        "segment count 5 does not match 4 segments");
    assert_int_equal(bad->diags->warn, 0);
    assert_string_equal(val(bad, 1, 1, 1), "3");
    assert_null(msg_at(f, 0)->diags);
    assert_non_null(msg_at(f, 0)->root);
    assert_string_equal(val(msg_at(f, 2), 0, 1, 1), "3");
    assert_null(f->b.diags);
    /* a count that is no number is an error, not a slip */
    parse(f, "UNH+M1+X:D:96A:UN'UNT+2X+M1'");
    assert_null(f->b.msgs->root);
    assert_int_equal(f->b.msgs->diags->rule, STRICT_NONE);
    /* wrong reference */
    parse(f, "UNH+M1+X:D:96A:UN'UNT+2+M9'");
    assert_null(f->b.msgs->root);
    assert_string_equal(f->b.msgs->diags->msg,
                        "segment 2 (UNT) element 2: message reference 'M9' "
                        "does not match UNH 'M1'");
}

static void test_unz_mismatch(void **state)
{
    fx *f = *state;
    parse(f, UNB3 "UNH+1+X:D:96A:UN'UNT+2+1'UNH+2+X:D:96A:UN'UNT+2+2'"
                  "UNZ+3+IC2'");
    assert_int_equal(f->b.nmsgs, 2);
    assert_non_null(f->b.msgs->root);
    assert_non_null(f->b.msgs->next->root);
    const codec_diag *d = f->b.diags;
    assert_int_equal(ndiags(d), 3);
    assert_int_equal(d->rule, STRICT_LINE_ENDS); /* UNB3 ends with '\n' */
    d = d->next;
    assert_string_equal(d->msg, "segment 6 (UNZ) element 1: message "
                                "count 3 does not match 2 messages");
    assert_int_equal(d->code, ERR_COUNT);
    assert_int_equal(d->rule, STRICT_ENVELOPE_COUNTS);
    assert_string_equal(d->next->msg,
                        "segment 6 (UNZ) element 2: interchange reference "
                        "'IC2' does not match UNB 'IC1'");
}

static void test_unterminated_segment(void **state)
{
    fx *f = *state;
    parse(f, UNB3 "UNH+1+X:D:96A:UN'\nBGM+1'\nNAD+CZ+x:y");
    codec_msg *m = f->b.msgs;
    assert_null(m->root);
    assert_string_equal(m->diags->msg, "segment 3 (NAD): unterminated "
                                       "segment at end of input");
    assert_int_equal(m->diags->line, 4);
    assert_int_equal(m->diags->col, 1);
    assert_string_equal(f->b.diags->msg, "missing UNZ for interchange 'IC1'");
}

static void test_missing_unt_resync(void **state)
{
    fx *f = *state;
    parse(f, "UNH+M001+X:D:96A:UN'BGM+1'nad+2'UNH+M002+X:D:96A:UN'BGM+2'"
             "UNT+3+M002'UNH+M003+X:D:96A:UN'b@d+1'FTX+3'UNT+4+M003'"
             "UNH+M004+X:D:96A:UN'UNT+2+M004'");
    assert_int_equal(f->b.nmsgs, 4);
    codec_msg *m1 = msg_at(f, 0), *m3 = msg_at(f, 2);
    assert_null(m1->root);
    assert_int_equal(ndiags(m1->diags), 2);
    assert_string_equal(m1->diags->msg, "segment 3 (nad): segment tag is not "
                                        "three upper-case letters or digits");
    assert_string_equal(m1->diags->next->msg,
                        "missing UNT for message 'M001'");
    assert_string_equal(val(msg_at(f, 1), 0, 1, 1), "2");
    assert_null(m3->root);
    assert_string_equal(m3->diags->msg, "segment 2 (b@d): segment tag is not "
                                        "three upper-case letters or digits");
    assert_int_equal(ndiags(m3->diags), 1); /* the count still checks out */
    assert_non_null(msg_at(f, 3)->root);
}

static void test_unoa_bad_character(void **state)
{
    fx *f = *state;
    parse(f, "UNB+UNOA:2+S+R+240305:1430+IC1'\nUNH+1+X:D:96A:UN'\n"
             "NAD+CZ+CAF\xc9'\nUNT+3+1'\nUNH+2+X:D:96A:UN'\nUNT+2+2'\n"
             "UNZ+2+IC1'\n");
    codec_msg *m = f->b.msgs;
    assert_null(m->root);
    assert_string_equal(m->diags->msg, "segment 2 (NAD) element 2 component "
                                       "1: byte 0xC9 is not allowed by the "
                                       "syntax level");
    assert_int_equal(m->diags->line, 3);
    assert_int_equal(m->diags->col, 11);
    assert_int_equal(m->diags->code, ERR_CHARSET);
    assert_non_null(m->next->root);
    assert_null(f->b.diags);
}

static void test_unoc_latin1(void **state)
{
    fx *f = *state;
    codec_msg *m = parse(f, "UNB+UNOC:3+S+R+240305:1430+IC1'UNH+1+X:D:96A:UN'"
                            "NAD+CZ+M\xfcller:Stra\xdf" "e+x'UNT+3+1'"
                            "UNZ+1+IC1'");
    assert_int_equal(f->b.ndiags, 0);
    assert_string_equal(val(m, 0, 2, 1), "M\xc3\xbcller");
    assert_string_equal(val(m, 0, 2, 2), "Stra\xc3\x9f" "e");
    assert_string_equal(val(m, 0, 3, 1), "x");
    /* columns count bytes of the UTF-8 text: ü and ß take two */
    assert_int_equal(tree_kid(m->root, 0)->col, 49);
    assert_int_equal(tree_kid(tree_kid(m->root, 0), 2)->col, 72);
    /* UNOD is ISO 8859-2: 0xB1 is U+0105 */
    m = parse(f, "UNB+UNOD:3+S+R+240305:1430+IC1'UNH+1+X:D:96A:UN'"
                 "NAD+PL+\xb1'UNT+3+1'UNZ+1+IC1'");
    assert_string_equal(val(m, 0, 2, 1), "\xc4\x85");
}

static void test_gb18030_charset_option(void **state)
{
    fx *f = *state;
    const char in[] = "UNB+UNOC:3+S+R+240305:1430+IC1'UNH+1+X:D:96A:UN'"
                      "LOC+8+" CQ_GB ":139'UNT+3+1'UNZ+1+IC1'";
    codec_opts o = {.charset = "GB18030"};
    assert_int_equal(parse_o(f, in, sizeof in - 1, &o), 0);
    assert_int_equal(f->b.ndiags, 0);
    assert_string_equal(val(f->b.msgs, 0, 2, 1), CQ_UTF8);
    assert_string_equal(f->b.msgs->meta.syntax, "UNOC:3");
    /* a lone lead byte cannot be GB18030: the whole input is refused */
    const char bad[] = "UNH+1+X:D:96A:UN'\nLOC+8+\xd6'UNT+3+1'";
    assert_int_equal(parse_o(f, bad, sizeof bad - 1, &o), ERR_CHARSET);
    assert_non_null(f->b.diags);
    assert_int_equal(f->b.diags->line, 2);
    assert_int_equal(f->b.diags->col, 7);
    assert_non_null(strstr(f->e.msg, "2:7"));
}

static void test_utf8_levels(void **state)
{
    fx *f = *state;
    codec_msg *m = parse(f, UNB3 "UNH+1+X:D:96A:UN'LOC+8+" CQ_UTF8 "?+1'"
                                 "UNT+3+1'UNZ+1+IC1'");
    assert_int_equal(nplain(f), 0);
    assert_string_equal(val(m, 0, 2, 1), CQ_UTF8 "+1");
    m = parse(f, UNB3 "UNH+1+X:D:96A:UN'LOC+8+ab\xe9\x87'UNT+3+1'UNZ+1+IC1'");
    assert_null(m->root);
    assert_string_equal(plain(m->diags)->msg, "segment 2 (LOC) element 2 "
                        "component 1: byte 0xE9 is not valid UTF-8");
    assert_int_equal(plain(m->diags)->line, 2);
    assert_int_equal(plain(m->diags)->col, 26);
    /* a released byte is data and is checked like any other */
    m = parse(f, UNB3 "UNH+1+X:D:96A:UN'LOC+8+a?\xff'UNT+3+1'UNZ+1+IC1'");
    assert_null(m->root);
    assert_string_equal(plain(m->diags)->msg, "segment 2 (LOC) element 2 "
                        "component 1: byte 0xFF is not valid UTF-8");
    const char nul[] = "UNH+1+X:D:96A:UN'LOC+8+a?\0b'UNT+3+1'";
    assert_int_equal(parse_o(f, nul, sizeof nul - 1, NULL), 0);
    assert_null(f->b.msgs->root);
    assert_string_equal(f->b.msgs->diags->msg, "segment 2 (LOC) element 2 "
                        "component 1: byte 0x00 is not allowed in a value");
}

static void test_unknown_syntax(void **state)
{
    fx *f = *state;
    parse(f, "UNB+UNOX:3+S+R+240305:1430+IC1'UNH+1+X:D:96A:UN'UNT+2+1'"
             "UNZ+1+IC1'");
    assert_string_equal(f->b.diags->msg, "segment 1 (UNB) element 1: unknown "
                                         "syntax identifier 'UNOX'");
    assert_int_equal(f->b.diags->code, ERR_CODE);
    assert_int_equal(f->b.nmsgs, 1);
    assert_null(f->b.msgs->root);
}

static void test_meta_fields(void **state)
{
    fx *f = *state;
    codec_msg *m = parse(f, "UNB+UNOC:4+SND:ZZZ+RCP:ZZZ+20240305:1430+IC9'"
                            "UNH+M7+IFTMIN:D:04A:UN:EPORT1'UNT+2+M7'"
                            "UNZ+1+IC9'");
    assert_int_equal(f->b.ndiags, 0);
    const codec_meta *mm = &m->meta;
    assert_string_equal(mm->format, "edifact");
    assert_string_equal(mm->message_type, "IFTMIN");
    assert_string_equal(mm->version, "D:04A");
    assert_string_equal(mm->agency, "UN");
    assert_string_equal(mm->association, "EPORT1");
    assert_string_equal(mm->sender, "SND");
    assert_string_equal(mm->recipient, "RCP");
    assert_string_equal(mm->interchange_ref, "IC9");
    assert_string_equal(mm->message_ref, "M7");
    assert_string_equal(mm->prepared, "2024-03-05T14:30");
    assert_string_equal(mm->syntax, "UNOC:4");
    assert_null(mm->ns);
    assert_string_equal(m->root->name, "IFTMIN");
    /* no UNB: only what UNH says */
    m = parse(f, "UNH+9+APERAK:D:96A:UN'ERC+1'UNT+3+9'");
    assert_int_equal(f->b.ndiags, 0);
    assert_null(m->meta.sender);
    assert_null(m->meta.prepared);
    assert_string_equal(m->meta.message_type, "APERAK");
    assert_null(m->meta.association);
    /* a bad date is reported, the rest still parses */
    parse(f, "UNB+UNOY:3+S+R+241305:1430+IC1'UNZ+0+IC1'");
    assert_string_equal(f->b.diags->msg, "segment 1 (UNB) element 4 "
                                         "component 1: date '241305' is not "
                                         "YYMMDD or CCYYMMDD");
}

static void test_bom_crlf_and_no_newlines(void **state)
{
    fx *f = *state;
    const char *a = "\xef\xbb\xbfUNH+1+X:D:96A:UN'\r\nBGM+1+2'\r\nUNT+3+1'\r\n";
    const char *b = "UNH+1+X:D:96A:UN'BGM+1+2'UNT+3+1'";
    codec_msg *m = parse(f, a);
    /* the BOM is skipped: a slip (bom) outside the message, at 1:1 */
    assert_int_equal(f->b.ndiags, 1);
    assert_int_equal(f->b.diags->rule, STRICT_BOM);
    assert_int_equal(f->b.diags->line, 1);
    assert_int_equal(f->b.diags->col, 1);
    assert_string_equal(f->b.diags->msg, "UTF-8 byte order mark before the "
                                         "interchange");
    assert_int_equal(f->b.diags->what, 0);
    assert_null(m->diags); /* CRLF after every segment: one way */
    assert_int_equal(tree_kid(m->root, 0)->line, 2);
    char *da = strdup(dump(&f->out, m->root));
    m = parse(f, b);
    assert_string_equal(da, dump(&f->out, m->root));
    free(da);
}

static void test_trailing_omissions(void **state)
{
    fx *f = *state;
    codec_msg *m = parse(f, "UNH+1+X:D:96A:UN'NAD+CZ+a::b::++'DTM'TDT++'"
                            "UNT+5+1'");
    assert_int_equal(f->b.ndiags, 0);
    tnode *nad = tree_kid(m->root, 0);
    assert_int_equal(nad->nkids, 2);
    assert_int_equal(tree_kid(nad, 1)->nkids, 3);
    assert_string_equal(val(m, 0, 2, 2), "");
    assert_int_equal(tree_kid(m->root, 1)->nkids, 0);
    assert_int_equal(tree_kid(m->root, 2)->nkids, 0);
}

static void test_limits(void **state)
{
    fx *f = *state;
    size_t n = EDI_MAX_VALUE + 100;
    char *big = malloc(n + 64);
    assert_non_null(big);
    int k = sprintf(big, "UNH+1+X:D:96A:UN'FTX+");
    memset(big + k, 'A', EDI_MAX_VALUE + 1);
    strcpy(big + k + EDI_MAX_VALUE + 1, "'UNT+3+1'");
    parse(f, big);
    assert_null(f->b.msgs->root);
    assert_string_equal(f->b.msgs->diags->msg, "segment 2 (FTX) element 1: "
                                               "value longer than 65536 "
                                               "bytes");
    k = sprintf(big, "UNH+1+X:D:96A:UN'FTX");
    for (int i = 0; i < 300; i++)
        big[k++] = '+';
    strcpy(big + k, "x'UNT+3+1'");
    parse(f, big);
    assert_string_equal(f->b.msgs->diags->msg, "segment 2 (FTX): more than "
                                               "256 elements");
    free(big);
    assert_int_equal(parse_o(f, "UNH", (size_t)CODEC_MAX_INPUT + 1, NULL),
                     ERR_TOOBIG);
}

static void test_sniff_and_registry(void **state)
{
    (void)state;
    assert_ptr_equal(codec_find("edifact"), &codec_edifact_ops);
    assert_true(edi_sniff("UNA:+.? 'UNB+", 13) >= 90);
    assert_true(edi_sniff("\xef\xbb\xbf\r\n UNB+UNOC", 13) >= 90);
    assert_int_equal(edi_sniff("UNH+1+X'", 8), 60);
    assert_int_equal(edi_sniff("UNBELIEVABLE", 12), 0);
    assert_int_equal(edi_sniff("<xml/>", 6), 0);
    assert_int_equal(edi_sniff("UN", 2), 0);
}

/* A message built by hand, as a reverse mapping would. */
static tnode *seg(arena_t *a, tnode *root, const char *tag)
{
    return tree_add_new(a, root, tag, NULL);
}

static tnode *el(arena_t *a, tnode *s, const char *c1, const char *c2)
{
    tnode *e = tree_add_new(a, s, "", NULL);
    tree_add_new(a, e, "", c1);
    if (c2)
        tree_add_new(a, e, "", c2);
    return e;
}

static codec_msg *built(fx *f)
{
    codec_msg *m = arena_zalloc(&f->a, sizeof *m);
    m->root = tree_new(&f->a, "IFTMIN", NULL);
    m->meta = (codec_meta){.message_type = "IFTMIN", .version = "D:99B",
                           .agency = "UN", .sender = "S", .recipient = "R",
                           .interchange_ref = "REF", .message_ref = "M1",
                           .prepared = "2024-03-05T14:30"};
    tnode *s = seg(&f->a, m->root, "FTX");
    el(&f->a, s, "AAI", NULL);
    el(&f->a, s, "", NULL);
    el(&f->a, s, "", "");
    el(&f->a, s, "a+b:c'd?e", "");
    el(&f->a, s, "", NULL);
    s = seg(&f->a, m->root, "NAD");
    el(&f->a, s, "CZ", NULL);
    el(&f->a, s, "", "x");
    return m;
}

static void test_write_escaping_and_envelope(void **state)
{
    fx *f = *state;
    const codec_msg *m = built(f);
    codec_opts o = {.pretty = 1};
    assert_int_equal(edi_write(&m, 1, &o, &f->out, &f->e), 0);
    assert_string_equal(f->out.p,
                        /* level Y exists from syntax version 4, whose
                         * dates have the century */
                        "UNB+UNOY:4+S+R+20240305:1430+REF'\n"
                        "UNH+M1+IFTMIN:D:99B:UN'\n"
                        "FTX+AAI+++a?+b?:c?'d??e'\n"
                        "NAD+CZ+:x'\n"
                        "UNT+4+M1'\n"
                        "UNZ+1+REF'\n");
    /* custom separators, UNA first, no newlines */
    buf_reset(&f->out);
    codec_opts u = {.una = "|*.# !"};
    assert_int_equal(edi_write(&m, 1, &u, &f->out, &f->e), 0);
    assert_string_equal(f->out.p,
                        "UNA|*.# !UNB*UNOY|4*S*R*20240305|1430*REF!"
                        "UNH*M1*IFTMIN|D|99B|UN!FTX*AAI***a+b:c'd?e!"
                        "NAD*CZ*|x!UNT*4*M1!UNZ*1*REF!");
    /* a date from elsewhere (XML) with seconds and zone; year 1999 */
    codec_msg *mm = built(f);
    mm->meta.prepared = "1999-12-31T23:59:00+08:00";
    mm->meta.syntax = "UNOC:3";
    const codec_msg *mc = mm;
    buf_reset(&f->out);
    assert_int_equal(edi_write(&mc, 1, NULL, &f->out, &f->e), 0);
    assert_non_null(strstr(f->out.p, "UNB+UNOC:3+S+R+19991231:2359+REF'"));
    mm->meta.prepared = "31.12.1999";
    assert_int_equal(edi_write(&mc, 1, NULL, &f->out, &f->e), ERR_INVALID);
}

static void test_write_errors(void **state)
{
    fx *f = *state;
    codec_msg *m = built(f);
    buf_adds(&f->out, "keep");
    seg(&f->a, m->root, "UNT");
    const codec_msg *mc = m;
    assert_int_equal(edi_write(&mc, 1, NULL, &f->out, &f->e), ERR_INVALID);
    assert_string_equal(f->out.p, "keep");
    m->root->last->name = "nad";
    assert_int_equal(edi_write(&mc, 1, NULL, &f->out, &f->e), ERR_INVALID);
    m->root = NULL;
    assert_int_equal(edi_write(&mc, 1, NULL, &f->out, &f->e), ERR_INVALID);
    codec_opts u = {.una = "::.? '"};
    m = built(f);
    mc = m;
    assert_int_equal(edi_write(&mc, 1, &u, &f->out, &f->e), ERR_INVALID);
    /* UNOA cannot carry ü */
    m->meta.syntax = "UNOA:2";
    tree_kid(tree_kid(m->root->kids, 0), 0)->value = "M\xc3\xbcller";
    assert_int_equal(edi_write(&mc, 1, NULL, &f->out, &f->e), ERR_CHARSET);
    assert_string_equal(f->out.p, "keep");
}

static void test_unusual_separators_and_options(void **state)
{
    fx *f = *state;
    /* no release character (a space in the UNA): '?' is plain data */
    codec_msg *m = parse(f, "UNA:+.  'UNH+1+X:D:96A:UN'FTX+a?b'UNT+3+1'");
    assert_int_equal(f->b.ndiags, 0);
    assert_string_equal(val(m, 0, 1, 1), "a?b");
    /* the line break as terminator still counts lines */
    m = parse(f, "UNA:+.? \nUNH+1+X:D:96A:UN\nBGM+1\nDTM+2\nUNT+4+1\n");
    assert_int_equal(f->b.ndiags, 0);
    assert_int_equal(tree_kid(m->root, 1)->line, 4);
    /* an invalid UNA is reported and the defaults stay */
    parse(f, "UNA::.? 'UNH+1+X:D:96A:UN'UNT+2+1'");
    assert_non_null(strstr(f->b.diags->msg, "UNA service string advice: "));
    assert_non_null(f->b.msgs->root);
    codec_opts o = {.charset = "NO-SUCH-CHARSET"};
    assert_int_equal(parse_o(f, "UNH+1+X'UNT+2+1'", 16, &o), ERR_UNSUPPORTED);
}

static void test_write_charset_and_defaults(void **state)
{
    fx *f = *state;
    codec_msg *m = arena_zalloc(&f->a, sizeof *m);
    m->root = tree_new(&f->a, "IFTMIN", NULL);
    el(&f->a, seg(&f->a, m->root, "LOC"), "8", NULL);
    el(&f->a, m->root->kids, CQ_UTF8, "139");
    const codec_msg *mc = m;
    codec_opts gb = {.charset = "GB18030"};
    assert_int_equal(edi_write(&mc, 1, &gb, &f->out, &f->e), 0);
    assert_non_null(strstr(f->out.p, "LOC+8+" CQ_GB ":139'"));
    /* no meta at all: type from the root, refs and date made up */
    assert_non_null(strstr(f->out.p, "UNH+1+IFTMIN'"));
    assert_int_equal(parse_o(f, f->out.p, f->out.len, &gb), 0);
    assert_int_equal(f->b.ndiags, 0);
    codec_msg *r = f->b.msgs;
    assert_string_equal(val(r, 0, 2, 1), CQ_UTF8);
    assert_non_null(r->meta.interchange_ref);
    assert_int_equal(strlen(r->meta.prepared), 16);
    assert_string_equal(r->meta.syntax, "UNOY:4");
}

/* parse, write, parse again: trees and meta must be identical. */
static void round_trip(fx *f, const char *in, const codec_opts *wo)
{
    assert_int_equal(parse_o(f, in, strlen(in), NULL), 0);
    assert_int_equal(f->b.ndiags, 0);
    codec_batch first = f->b;
    const codec_msg *list[8];
    size_t n = 0;
    for (codec_msg *m = first.msgs; m && n < 8; m = m->next)
        list[n++] = m;
    buf_reset(&f->out2);
    assert_int_equal(edi_write(list, n, wo, &f->out2, &f->e), 0);
    assert_int_equal(parse_o(f, f->out2.p, f->out2.len, NULL), 0);
    assert_int_equal(f->b.ndiags, 0);
    assert_int_equal(f->b.nmsgs, n);
    codec_msg *b = f->b.msgs;
    for (size_t i = 0; i < n; i++, b = b->next) {
        char *d1 = strdup(dump(&f->out, list[i]->root));
        assert_string_equal(d1, dump(&f->out, b->root));
        free(d1);
        const char *const *x = (const char *const *)&list[i]->meta;
        const char *const *y = (const char *const *)&b->meta;
        for (size_t k = 0; k < sizeof(codec_meta) / sizeof(char *); k++) {
            if (!x[k] || !y[k])
                assert_ptr_equal(x[k], y[k]);
            else
                assert_string_equal(x[k], y[k]);
        }
    }
}

static void test_round_trip(void **state)
{
    fx *f = *state;
    round_trip(f, "UNA:+.? '\nUNB+UNOC:3+CZPRG:ZZZ+CNCKG:ZZZ+261119:0216+"
                  "14089101++IFTMIN'\nUNH+M1+IFTMIN:D:99B:UN:EP'\n"
                  "BGM+610+CZRW23?+01+9'\nFTX+AAI+++Handle?: glass??"
                  "?'x'\nNAD+CZ+CZ1::87++Novak ?+ Synove:M\xfcller+"
                  "Na Porici 12++11000+CZ'\nTDT+20+CR1+2+25+CA:172:20+++"
                  "ID:146:11:NAME'\nUNT+6+M1'\nUNH+M2+IFTMIN:D:99B:UN'\n"
                  "DTM+137:202611211215:203'\nUNT+3+M2'\nUNZ+2+14089101'\n",
               NULL);
    codec_opts una = {.una = "|*,# !", .pretty = 1};
    round_trip(f, "UNB+UNOY:4+S+R+19990305:2359+R1'UNH+1+X:D:96A:UN'"
                  "FTX+a|b*c#d!e:f+" CQ_UTF8 "'UNT+3+1'UNZ+1+R1'",
               &una);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_una_custom_separators, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_release_characters, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_multiple_messages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_multiple_interchanges, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unt_count_mismatch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unz_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unterminated_segment, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_unt_resync, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unoa_bad_character, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unoc_latin1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gb18030_charset_option, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_utf8_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bom_crlf_and_no_newlines, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_trailing_omissions, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test(test_sniff_and_registry),
        cmocka_unit_test_setup_teardown(test_write_escaping_and_envelope,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unusual_separators_and_options,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_charset_and_defaults,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
