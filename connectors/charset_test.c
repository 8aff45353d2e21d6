/* Tests for charset: the UTF-8 and ASCII checks at their edges, iconv
 * conversion both ways, and the EDIFACT syntax level table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "charset.h"

/* 重庆果园港 in UTF-8 and in GB18030 (checked with iconv(1)). */
#define CQ_UTF8 "\xe9\x87\x8d\xe5\xba\x86\xe6\x9e\x9c\xe5\x9b\xad\xe6\xb8\xaf"
#define CQ_GB "\xd6\xd8\xc7\xec\xb9\xfb\xd4\xb0\xb8\xdb"

static size_t u8(const char *s)
{
    return charset_utf8_valid(s, strlen(s));
}

static void test_utf8_valid_accepts(void **state)
{
    (void)state;
    assert_int_equal(u8(""), 0);
    assert_int_equal(u8("plain ASCII text, long enough for words"), 39);
    assert_int_equal(u8(CQ_UTF8), 15);
    assert_int_equal(u8("\xc2\x80"), 2);             /* U+0080 */
    assert_int_equal(u8("\xdf\xbf"), 2);             /* U+07FF */
    assert_int_equal(u8("\xe0\xa0\x80"), 3);         /* U+0800 */
    assert_int_equal(u8("\xed\x9f\xbf"), 3);         /* U+D7FF */
    assert_int_equal(u8("\xee\x80\x80"), 3);         /* U+E000 */
    assert_int_equal(u8("\xef\xbf\xbf"), 3);         /* U+FFFF */
    assert_int_equal(u8("\xf0\x90\x80\x80"), 4);     /* U+10000 */
    assert_int_equal(u8("\xf4\x8f\xbf\xbf"), 4);     /* U+10FFFF */
}

static void test_utf8_valid_rejects(void **state)
{
    (void)state;
    assert_int_equal(u8("ab\xc0\xaf"), 2);            /* overlong '/' */
    assert_int_equal(u8("\xc1\xbf"), 0);              /* overlong */
    assert_int_equal(u8("abc\xe0\x9f\xbf"), 3);       /* overlong 3-byte */
    assert_int_equal(u8("\xf0\x8f\xbf\xbf"), 0);      /* overlong 4-byte */
    assert_int_equal(u8("x\xed\xa0\x80"), 1);         /* surrogate D800 */
    assert_int_equal(u8("\xed\xbf\xbf"), 0);          /* surrogate DFFF */
    assert_int_equal(u8("\xf4\x90\x80\x80"), 0);      /* above 10FFFF */
    assert_int_equal(u8("\xf5\x80\x80\x80"), 0);
    assert_int_equal(u8("\xff"), 0);
    assert_int_equal(u8("ok\x80"), 2);                /* lone continuation */
    assert_int_equal(u8("12345678\xe9\x87"), 8);      /* truncated at end */
    assert_int_equal(u8("\xe9\x87z"), 0);             /* bad continuation */
    assert_int_equal(u8("\xf0\x90\x80"), 0);          /* truncated 4-byte */
    /* the first bad byte after a long ASCII run is found exactly */
    assert_int_equal(u8("0123456789abcdef0123456789\xa0"), 26);
}

static void test_utf8_next(void **state)
{
    (void)state;
    uint32_t cp = 7;
    assert_int_equal(charset_utf8_next("", 0, &cp), 0);
    assert_int_equal(cp, 7); /* untouched when there is no character */
    static const struct {
        const char *s;
        int n;
        uint32_t cp;
    } ok[] = {
        {"A", 1, 0x41},           {"\x7f", 1, 0x7F},
        {"\xc2\x80", 2, 0x80},    {"\xdf\xbf", 2, 0x7FF},
        {"\xe0\xa0\x80", 3, 0x800}, {"\xed\x9f\xbf", 3, 0xD7FF},
        {"\xee\x80\x80", 3, 0xE000}, {"\xef\xbf\xbf", 3, 0xFFFF},
        {"\xf0\x90\x80\x80", 4, 0x10000}, {"\xf4\x8f\xbf\xbf", 4, 0x10FFFF},
        {CQ_UTF8, 3, 0x91CD}, /* 重, and only the first character */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(charset_utf8_next(ok[i].s, strlen(ok[i].s), &cp),
                         ok[i].n);
        assert_int_equal(cp, ok[i].cp);
        assert_int_equal(charset_utf8_next(ok[i].s, strlen(ok[i].s), NULL),
                         ok[i].n);
    }
    assert_int_equal(charset_utf8_next("\0x", 2, &cp), 1); /* U+0000 */
    assert_int_equal(cp, 0);
    static const char *const bad[] = {
        "\x80", "\xbf", "\xc0\xaf", "\xc1\xbf", "\xe0\x9f\xbf",
        "\xf0\x8f\xbf\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xe9\x87z",
        "\xc3(", "\xf0\x90\x80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(charset_utf8_next(bad[i], strlen(bad[i]), &cp), 0);
    /* cut short by len, though the bytes go on */
    assert_int_equal(charset_utf8_next(CQ_UTF8, 2, &cp), 0);
    assert_int_equal(charset_utf8_next("\xc3\xa9", 1, &cp), 0);
}

/* UTF-8 of scalar value c into o; its length. */
static int enc(uint32_t c, unsigned char *o)
{
    int n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (int i = n - 1; i > 0; i--, c >>= 6)
        o[i] = (unsigned char)(0x80 | (c & 0x3F));
    o[0] = (unsigned char)(n == 1 ? c : lead[n] | c);
    return n;
}

/* Against the definition: every scalar value's (shortest) encoding
 * decodes to it, and whatever 1..4 bytes decode are such an encoding. */
static void test_utf8_next_definition(void **state)
{
    (void)state;
    unsigned char b[4];
    uint32_t cp;
    for (uint32_t c = 0; c <= 0x10FFFF; c++) {
        if (c >= 0xD800 && c <= 0xDFFF)
            continue;
        int n = enc(c, b);
        assert_int_equal(charset_utf8_next((const char *)b, (size_t)n, &cp), n);
        assert_int_equal(cp, c);
        assert_int_equal(charset_utf8_valid((const char *)b, (size_t)n), n);
    }
    /* after the 2nd byte only "continuation or not" matters */
    static const unsigned char tail[] = {0x00, 0x7F, 0x80, 0xBF, 0xC0};
    for (unsigned x = 0; x < 256 * 256; x++)
        for (size_t i = 0; i < sizeof tail * sizeof tail; i++) {
            const unsigned char in[4] = {(unsigned char)(x >> 8),
                                         (unsigned char)x,
                                         tail[i / sizeof tail],
                                         tail[i % sizeof tail]};
            for (size_t len = 1; len <= 4; len++) {
                int n = charset_utf8_next((const char *)in, len, &cp);
                size_t ok = charset_utf8_valid((const char *)in, len);
                assert_true(n == 0 || (cp < 0xD800 || cp > 0xDFFF));
                assert_true(n == 0 || (cp <= 0x10FFFF &&
                                       enc(cp, b) == n &&
                                       memcmp(b, in, (size_t)n) == 0));
                /* valid stops where next does */
                assert_true(n > 0 ? ok >= (size_t)n : ok == 0);
            }
        }
}

static void test_ascii_valid(void **state)
{
    (void)state;
    const char *ok = "UNB+UNOA:2+SENDER+RECIPIENT'\r\nUNH+1'\n ~";
    assert_int_equal(charset_ascii_valid(ok, strlen(ok)), strlen(ok));
    assert_int_equal(charset_ascii_valid("0123456789abcdef\x7f", 17), 16);
    assert_int_equal(charset_ascii_valid("0123456789\tab", 13), 10);
    assert_int_equal(charset_ascii_valid("abc\xc3\xa9", 5), 3);
    assert_int_equal(charset_ascii_valid("a\0b", 3), 1);
    assert_int_equal(charset_ascii_valid("", 0), 0);
}

static void test_to_utf8(void **state)
{
    (void)state;
    buf_t b;
    err_t e;
    buf_init(&b, 1 << 20);
    assert_int_equal(charset_to_utf8("GB18030", CQ_GB, 10, &b, &e), 0);
    assert_string_equal(b.p, CQ_UTF8);
    buf_reset(&b);
    assert_int_equal(charset_to_utf8("ISO-8859-1", "M\xfcller \xa9", 8, &b, &e),
                     0);
    assert_string_equal(b.p, "M\xc3\xbcller \xc2\xa9");
    buf_reset(&b);
    assert_int_equal(charset_to_utf8("ISO-8859-15", "\xa4", 1, &b, &e), 0);
    assert_string_equal(b.p, "\xe2\x82\xac"); /* euro sign */
    buf_reset(&b);
    assert_int_equal(charset_to_utf8("ISO-8859-2", "\xa9koda", 5, &b, &e), 0);
    assert_string_equal(b.p, "\xc5\xa0koda"); /* Czech S with caron */
    buf_reset(&b); /* the cached table gives the same the second time */
    assert_int_equal(charset_to_utf8("iso-8859-2", "\xa9", 1, &b, &e), 0);
    assert_string_equal(b.p, "\xc5\xa0");
    buf_reset(&b);
    assert_int_equal(charset_to_utf8("UTF-8", CQ_UTF8, 15, &b, &e), 0);
    assert_int_equal(b.len, 15);
    buf_free(&b);
}

static void test_to_utf8_errors(void **state)
{
    (void)state;
    buf_t b;
    err_t e;
    buf_init(&b, 1 << 20);
    buf_adds(&b, "kept");
    assert_int_equal(charset_to_utf8("GB18030", "ab\xd6\x27", 4, &b, &e),
                     ERR_CHARSET);
    assert_string_equal(e.msg, "byte 2: invalid GB18030 sequence");
    assert_int_equal(charset_to_utf8("GB18030", "abc\xd6", 4, &b, &e),
                     ERR_CHARSET);
    assert_string_equal(e.msg, "byte 3: truncated GB18030 sequence");
    assert_int_equal(charset_to_utf8("UTF-8", "a\xff", 2, &b, &e),
                     ERR_CHARSET);
    assert_string_equal(e.msg, "byte 1: invalid UTF-8 sequence");
    assert_int_equal(charset_to_utf8("ISO-8859-3", "ab\xa5", 3, &b, &e),
                     ERR_CHARSET);
    assert_string_equal(e.msg, "byte 2: invalid ISO-8859-3 sequence");
    assert_int_equal(charset_to_utf8("NO-SUCH-CHARSET", "a", 1, &b, &e),
                     ERR_UNSUPPORTED);
    assert_int_equal(charset_to_utf8("ISO-8859-99", "a", 1, &b, &e),
                     ERR_UNSUPPORTED);
    assert_string_equal(b.p, "kept");
    buf_t tiny;
    buf_init(&tiny, 4);
    assert_int_equal(charset_to_utf8("ISO-8859-1", "\xe9\xe9\xe9", 3, &tiny,
                                     &e), ERR_TOOBIG);
    assert_int_equal(tiny.len, 0);
    buf_free(&tiny);
    buf_free(&b);
}

static void test_from_utf8(void **state)
{
    (void)state;
    buf_t b;
    err_t e;
    buf_init(&b, 1 << 20);
    assert_int_equal(charset_from_utf8("GB18030", CQ_UTF8, 15, &b, &e), 0);
    assert_memory_equal(b.p, CQ_GB, 10);
    assert_int_equal(b.len, 10);
    buf_reset(&b);
    assert_int_equal(charset_from_utf8("ISO-8859-1", "M\xc3\xbcller", 7, &b,
                                       &e), 0);
    assert_string_equal(b.p, "M\xfcller");
    buf_reset(&b);
    assert_int_equal(charset_from_utf8("ISO-8859-1", "x" CQ_UTF8, 16, &b, &e),
                     ERR_CHARSET);
    assert_string_equal(e.msg, "byte 1: character U+91CD has no equivalent "
                               "in ISO-8859-1");
    assert_int_equal(b.len, 0);
    assert_int_equal(charset_from_utf8("ASCII", "\xed\xa0\x80", 3, &b, &e),
                     ERR_CHARSET);
    assert_string_equal(e.msg, "byte 0: invalid UTF-8 sequence");
    buf_free(&b);
}

static void test_large_conversion(void **state)
{
    (void)state;
    /* more than one 16 KiB staging chunk each way */
    enum { N = 20000 };
    static char gb[N * 10], utf[N * 15];
    for (int i = 0; i < N; i++) {
        memcpy(gb + i * 10, CQ_GB, 10);
        memcpy(utf + i * 15, CQ_UTF8, 15);
    }
    buf_t b;
    err_t e;
    buf_init(&b, 1 << 20);
    assert_int_equal(charset_to_utf8("GB18030", gb, sizeof gb, &b, &e), 0);
    assert_int_equal(b.len, sizeof utf);
    assert_memory_equal(b.p, utf, sizeof utf);
    buf_reset(&b);
    assert_int_equal(charset_from_utf8("GB18030", utf, sizeof utf, &b, &e), 0);
    assert_memory_equal(b.p, gb, sizeof gb);
    buf_free(&b);
}

static void test_charset_for_edifact(void **state)
{
    (void)state;
    assert_string_equal(charset_for_edifact("UNOA"), "ASCII");
    assert_string_equal(charset_for_edifact("UNOB"), "ASCII");
    assert_string_equal(charset_for_edifact("UNOC"), "ISO-8859-1");
    assert_string_equal(charset_for_edifact("UNOD"), "ISO-8859-2");
    assert_string_equal(charset_for_edifact("UNOE"), "ISO-8859-5");
    assert_string_equal(charset_for_edifact("UNOK"), "ISO-8859-9");
    assert_string_equal(charset_for_edifact("UNOW"), "UTF-8");
    assert_string_equal(charset_for_edifact("UNOY"), "UTF-8");
    assert_null(charset_for_edifact("UNOX"));
    assert_null(charset_for_edifact("unoc"));
    assert_null(charset_for_edifact(NULL));
    /* every name in the table must be one iconv knows */
    const char *ids[] = {"UNOB", "UNOC", "UNOD", "UNOE", "UNOF", "UNOG",
                         "UNOH", "UNOI", "UNOJ", "UNOK", "UNOL", "UNOY"};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        buf_t b;
        err_t e;
        buf_init(&b, 64);
        assert_int_equal(charset_to_utf8(charset_for_edifact(ids[i]), "A", 1,
                                         &b, &e), 0);
        assert_string_equal(b.p, "A");
        buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid_accepts),
        cmocka_unit_test(test_utf8_valid_rejects),
        cmocka_unit_test(test_utf8_next),
        cmocka_unit_test(test_utf8_next_definition),
        cmocka_unit_test(test_ascii_valid),
        cmocka_unit_test(test_to_utf8),
        cmocka_unit_test(test_to_utf8_errors),
        cmocka_unit_test(test_from_utf8),
        cmocka_unit_test(test_large_conversion),
        cmocka_unit_test(test_charset_for_edifact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
