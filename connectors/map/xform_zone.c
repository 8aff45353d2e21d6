/* xform_zone: the sender's declared zone (a table's `zone`), for formats
 * whose times carry none (EDIFACT 203/204, yyyyMMddHHmmss patterns, the
 * space form of Chinese systems). Read, a local date-time is taken as the
 * sender's; written, a time with another offset is first expressed in the
 * sender's zone, so that the local digits the format keeps are right. A
 * date alone has no zone either way. */
#include "xform.h"

#include <string.h>

#include "xform_int.h"

/* dt moved by one day, forwards (+1) or backwards (-1). */
static void zone__step(xform_dt *dt, int dir)
{
    dt->day += dir;
    if (dt->day < 1) {
        if (--dt->mon < 1)
            dt->mon = 12, dt->year--;
        dt->day = xform__dim(dt->year, dt->mon);
    } else if (dt->day > xform__dim(dt->year, dt->mon)) {
        dt->day = 1;
        if (++dt->mon > 12)
            dt->mon = 1, dt->year++;
    }
}

int xform_zone_parse(const char *text, int *minutes, err_t *e)
{
    xform_dt dt = {0};
    size_t i = 0, n = text ? strlen(text) : 0;
    /* an ISO date-time's zone, alone: the same reader as the times' */
    if (n && xform__iso_zone(text, n, &i, &dt) && i == n &&
        dt.zoff / 60 <= 14) {
        *minutes = dt.zsign == '-' ? -dt.zoff : dt.zoff;
        return 0;
    }
    return err_set(e, ERR_CONFIG, "zone '%s': want +hh:mm, -hh:mm or Z "
                   "(an offset from UTC, e.g. +08:00)", text ? text : "");
}

static void zone__set(xform_dt *dt, int minutes)
{
    dt->zone = minutes == 0 ? XFORM_ZUTC : XFORM_ZOFF;
    dt->zsign = minutes < 0 ? '-' : '+';
    dt->zoff = minutes < 0 ? -minutes : minutes;
}

int xform_zone_assume(const char *iso, int minutes, char *out, size_t outsz,
                      err_t *e)
{
    xform_dt dt;
    int rc = xform_iso_parse(iso, &dt, e);
    if (rc)
        return rc;
    if (dt.prec >= XFORM_MIN && dt.zone == XFORM_ZNONE)
        zone__set(&dt, minutes);
    return xform_iso_format(&dt, out, outsz);
}

int xform_zone_convert(const char *iso, int minutes, char *out, size_t outsz,
                       err_t *e)
{
    xform_dt dt;
    int rc = xform_iso_parse(iso, &dt, e);
    if (rc)
        return rc;
    if (dt.prec >= XFORM_MIN && dt.zone != XFORM_ZNONE) {
        int from = dt.zone == XFORM_ZUTC ? 0
                   : (dt.zsign == '-' ? -dt.zoff : dt.zoff);
        /* offsets are within 14 h of UTC: two days at most either way */
        int t = dt.hour * 60 + dt.min - from + minutes;
        for (; t < 0; t += 1440)
            zone__step(&dt, -1);
        for (; t >= 1440; t -= 1440)
            zone__step(&dt, 1);
        dt.hour = t / 60, dt.min = t % 60;
        zone__set(&dt, minutes);
    }
    return xform_iso_format(&dt, out, outsz);
}
