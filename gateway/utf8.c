/* utf8: see utf8.h. */
#include "utf8.h"

#include <stdint.h>

int utf8_printable(const unsigned char *s)
{
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    unsigned c = s[0];
    if (c < 0x80)
        return c >= 0x20 && c != 0x7f;
    int n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (!n || c > 0xf4)
        return 0;
    uint32_t cp = c & (0x3fu >> (n - 1));
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* the NUL ends a cut sequence here */
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
        cp <= 0x9f)
        return 0;
    return n;
}
