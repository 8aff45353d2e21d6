/* codec_edifact_env: the EDIFACT envelope. UNA sets the separators; UNB,
 * UNG and UNH open an interchange, group and message and give their meta;
 * UNT, UNE and UNZ close them, their control counts and references checked
 * against what was seen; a missing closer is reported where it shows. */
#include "codec_edifact.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charset.h"
#include "codec_edifact_int.h"

int edi__nomem(edi__p *p)
{
    return err_set(p->e, ERR_NOMEM, "line %u: arena exhausted while parsing "
                   "EDIFACT", p->sline);
}

/* 1..18 digits, nothing else. */
static int edi__num(const char *s, uint64_t *v)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
        return 0;
    *v = strtoull(s, NULL, 10);
    return 1;
}

static const char *edi__join(edi__p *p, const char *x, const char *y)
{
    if (!x || !y)
        return x;
    size_t nx = strlen(x), ny = strlen(y);
    char *s = arena_alloc(p->a, nx + ny + 2);
    if (s) {
        memcpy(s, x, nx);
        s[nx] = ':';
        memcpy(s + nx + 1, y, ny + 1);
    }
    return s;
}

/* A diag with no "segment N" prefix (envelope segment missing). */
static void edi__missing(edi__p *p, const char *what, const char *fmt,
                         const char *ref)
{
    uint32_t segno = p->segno;
    p->segno = 0;
    edi__diag(p, ERR_SYNTAX, 0, 0, p->sline, p->scol, "missing %s for %s '%s'",
              what, fmt, ref ? ref : "");
    p->segno = segno;
}

void edi__msg_end(edi__p *p)
{
    codec_msg *m = p->m;
    m->root = p->broken ? NULL : p->root;
    p->m = NULL;
    p->root = NULL;
    if (!p->b->emit)
        return;
    /* streaming: the caller takes the message now; its memory is reused
     * for the next one, so a 10,000-message interchange stays small */
    int rc = p->b->emit(p->b->emit_ctx, p->b, m);
    p->b->nemitted++;
    arena_reset(p->ma);
    if (rc) {
        p->emit_rc = rc;
        p->stop = 1;
    }
}

void edi__close_msg(edi__p *p)
{
    if (!p->m)
        return;
    edi__missing(p, "UNT", "message", p->m->meta.message_ref);
    edi__msg_end(p);
}

/* Separators and syntax level fall back to the defaults between
 * interchanges: each one may have its own UNA and UNB. */
void edi__ic_reset(edi__p *p)
{
    p->in_ic = p->in_grp = 0;
    p->level = p->trusted ? EDI__TRUSTED : EDI__UTF8;
    p->icm = (codec_meta){.format = "edifact"};
}

void edi__close_ic(edi__p *p)
{
    if (p->in_grp)
        edi__missing(p, "UNE", "group", p->grp_ref);
    if (p->in_ic)
        edi__missing(p, "UNZ", "interchange", p->icm.interchange_ref);
    p->in_ic = p->in_grp = 0;
}

static void edi__sanitize(char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7E)
            *s = '?';
}

/* UNB element 1 decides how the rest of the interchange is checked. */
void edi__unb_level(edi__p *p)
{
    edi__ic_reset(p);
    p->in_ic = 1;
    p->ic_msgs = p->ic_groups = 0;
    /* read before the level's byte check, so made printable here */
    char *id = edi__field(p, 1, 1), *ver = edi__field(p, 1, 2);
    const char *cs = charset_for_edifact(id);
    edi__sanitize(id);
    edi__sanitize(ver);
    p->icm.syntax = edi__join(p, id, ver);
    if (p->trusted)
        return;
    if (!cs) {
        p->level = EDI__UNKNOWN;
        edi__sdiag(p, ERR_CODE, 1, 0, "unknown syntax identifier '%s'",
                   id ? id : "");
    } else if (strcmp(cs, "ASCII") == 0) {
        p->level = EDI__ASCII;
    } else if (strcmp(cs, "UTF-8") == 0) {
        p->level = EDI__UTF8;
    } else {
        p->level = EDI__CONVERT;
        p->cs = cs;
    }
}

static int edi__digits(const char *s, size_t n)
{
    return strlen(s) == n && strspn(s, "0123456789") == n;
}

static int edi__range(const char *s, int lo, int hi)
{
    int v = (s[0] - '0') * 10 + (s[1] - '0');
    return v >= lo && v <= hi;
}

/* The dates rule: syntax versions 1 to 3 write the UNB date YYMMDD and
 * version 4 CCYYMMDD. Either is read as written (edi__prepared), so a
 * slip loses nothing. (A time HHMMSS is no slip: our own writer puts the
 * seconds there when they are not zero.) */
static void edi__date_slip(edi__p *p, const char *d, int d8)
{
    const char *ver = edi__field(p, 1, 2);
    int v = ver && ver[0] >= '1' && ver[0] <= '9' && !ver[1] ? ver[0] - '0'
                                                              : 0;
    if (v && d8 != (v >= 4))
        edi__srule(p, STRICT_DATES, ERR_INVALID, 4, 1, "date '%.8s' is %s; "
                   "syntax version %d writes %s", d, d8 ? "CCYYMMDD" :
                   "YYMMDD", v, v >= 4 ? "CCYYMMDD" : "YYMMDD");
}

/* UNB S004 as ISO 8601: YYMMDD is taken as 20YY, CCYYMMDD as written. */
static const char *edi__prepared(edi__p *p)
{
    const char *d = edi__field(p, 4, 1), *t = edi__field(p, 4, 2);
    if (!d)
        return NULL;
    int d8 = edi__digits(d, 8);
    if ((!d8 && !edi__digits(d, 6)) || !edi__range(d + 2 + 2 * d8, 1, 12) ||
        !edi__range(d + 4 + 2 * d8, 1, 31)) {
        edi__sdiag(p, ERR_INVALID, 4, 1, "date '%.16s' is not YYMMDD or "
                   "CCYYMMDD", d);
        return NULL;
    }
    int t6 = t && edi__digits(t, 6);
    if (t && ((!t6 && !edi__digits(t, 4)) || !edi__range(t, 0, 23) ||
              !edi__range(t + 2, 0, 59) || (t6 && !edi__range(t + 4, 0, 59)))) {
        edi__sdiag(p, ERR_INVALID, 4, 2, "time '%.16s' is not HHMM", t);
        t = NULL;
    }
    edi__date_slip(p, d, d8);
    char iso[32];
    int k = snprintf(iso, sizeof iso, "%s%.*s-%.2s-%.2s", d8 ? "" : "20",
                     d8 ? 4 : 2, d, d + 2 + 2 * d8, d + 4 + 2 * d8);
    if (t)
        snprintf(iso + k, sizeof iso - (size_t)k, "T%.2s:%.2s%s%.*s", t,
                 t + 2, t6 ? ":" : "", t6 ? 2 : 0, t6 ? t + 4 : "");
    return arena_strdup(p->a, iso);
}

void edi__unb(edi__p *p)
{
    p->icm.sender = edi__field(p, 2, 1);
    p->icm.recipient = edi__field(p, 3, 1);
    p->icm.prepared = edi__prepared(p);
    p->icm.interchange_ref = edi__field(p, 5, 1);
    if (!p->icm.interchange_ref)
        edi__sdiag(p, ERR_REQUIRED, 5, 0, "interchange control reference "
                   "is missing");
}

/* A message record: linked into the batch, or (streaming) standing alone
 * in the message arena until it is emitted. */
static codec_msg *edi__msg_new(edi__p *p)
{
    if (!p->b->emit)
        return codec_msg_add(p->b, p->a);
    codec_msg *m = arena_zalloc(p->ma, sizeof *m);
    if (m)
        m->index = p->b->nmsgs++;
    return m;
}

int edi__unh_open(edi__p *p)
{
    if (p->b->nmsgs >= CODEC_MAX_MESSAGES) {
        edi__sdiag(p, ERR_TOOBIG, 0, 0, "more than %u messages in one input",
                   CODEC_MAX_MESSAGES);
        p->stop = 1;
        return 0;
    }
    codec_msg *m = edi__msg_new(p);
    tnode *root = arena_alloc(p->ma, sizeof *root);
    if (!m || !root)
        return edi__nomem(p);
    m->line = p->sline;
    m->meta = p->icm;
    *root = (tnode){.name = edi__empty, .line = p->sline, .col = p->scol,
                    .seq = 1};
    p->m = m;
    p->root = root;
    p->broken = p->stray = 0;
    p->m_rules = 0;
    p->ic_msgs++;
    p->grp_msgs += p->in_grp;
    return 0;
}

void edi__unh(edi__p *p)
{
    codec_meta *mm = &p->m->meta;
    mm->message_ref = edi__field(p, 1, 1);
    mm->message_type = edi__field(p, 2, 1);
    const char *v52 = edi__field(p, 2, 2), *v54 = edi__field(p, 2, 3);
    mm->version = edi__join(p, v52, v54);
    /* "D:04A" must split back into 0052 and 0054 when written */
    if ((v52 && strchr(v52, ':')) || (v54 && strchr(v54, ':')))
        edi__sdiag(p, ERR_INVALID, 2, v52 && strchr(v52, ':') ? 2 : 3,
                   "message version holds ':'");
    mm->agency = edi__field(p, 2, 4);
    mm->association = edi__field(p, 2, 5);
    if (mm->message_type)
        p->root->name = mm->message_type;
    if (!mm->message_ref)
        edi__sdiag(p, ERR_REQUIRED, 1, 0, "message reference is missing");
    if (!mm->message_type)
        edi__sdiag(p, ERR_REQUIRED, 2, 1, "message type is missing");
    if (p->level == EDI__UNKNOWN)
        edi__sdiag(p, ERR_CODE, 0, 0, "not parsed: the interchange's "
                   "syntax identifier is unknown");
}

/* Checks the control count (element 1) and reference (element 2) of UNT,
 * UNE or UNZ against what was seen since the opening segment. */
static void edi__control(edi__p *p, const char *counted, uint32_t seen,
                         const char *opener, const char *ref)
{
    static const char *const refname[] = {"message", "group", "interchange"};
    const char *cnt = edi__field(p, 1, 1), *r = edi__field(p, 2, 1);
    const char *rn = refname[opener[2] == 'H' ? 0 : opener[2] == 'G' ? 1 : 2];
    uint64_t n;
    if (!cnt)
        edi__sdiag(p, ERR_REQUIRED, 1, 0, "%s count is missing", counted);
    else if (!edi__num(cnt, &n))
        edi__sdiag(p, ERR_COUNT, 1, 0, "%s count %.20s does not match %u %ss",
                   counted, cnt, seen, counted);
    else if (n != seen) /* a sender's miscount: a table may let it pass */
        edi__srule(p, STRICT_ENVELOPE_COUNTS, ERR_COUNT, 1, 0, "%s count "
                   "%.20s does not match %u %ss", counted, cnt, seen, counted);
    if (!r)
        edi__sdiag(p, ERR_REQUIRED, 2, 0, "%s reference is missing", rn);
    else if (!ref || strcmp(r, ref) != 0)
        edi__sdiag(p, ERR_INVALID, 2, 0, "%s reference '%.64s' does not "
                   "match %s '%.64s'", rn, r, opener, ref ? ref : "");
}

void edi__unt(edi__p *p)
{
    if (!p->m) {
        edi__sdiag(p, ERR_SYNTAX, 0, 0, "UNT without UNH");
        return;
    }
    edi__control(p, "segment", p->mseq, "UNH", p->m->meta.message_ref);
    edi__msg_end(p);
}

void edi__ung(edi__p *p)
{
    if (!p->in_ic)
        edi__sdiag(p, ERR_SYNTAX, 0, 0, "UNG outside an interchange");
    if (p->in_grp)
        edi__missing(p, "UNE", "group", p->grp_ref);
    p->in_grp = 1;
    p->grp_ref = edi__field(p, 5, 1);
    p->grp_msgs = 0;
    p->ic_groups++;
}

void edi__une(edi__p *p)
{
    if (!p->in_grp) {
        edi__sdiag(p, ERR_SYNTAX, 0, 0, "UNE without UNG");
        return;
    }
    edi__control(p, "message", p->grp_msgs, "UNG", p->grp_ref);
    p->in_grp = 0;
}

void edi__unz(edi__p *p)
{
    if (p->in_grp)
        edi__missing(p, "UNE", "group", p->grp_ref);
    if (!p->in_ic)
        edi__sdiag(p, ERR_SYNTAX, 0, 0, "UNZ without UNB");
    else if (p->ic_groups)
        edi__control(p, "group", p->ic_groups, "UNB", p->icm.interchange_ref);
    else
        edi__control(p, "message", p->ic_msgs, "UNB", p->icm.interchange_ref);
    edi__ic_reset(p);
    edi__seps_default(p);
}

/* UNA is not a segment: "UNA" and exactly six characters, the last being
 * the terminator. It ends whatever interchange was open. */
void edi__una(edi__p *p, const char **qp)
{
    const char *q = *qp;
    p->sline = p->line;
    p->scol = edi__col(p, q);
    edi__close_msg(p);
    edi__close_ic(p);
    p->segno = 0;
    err_t ue;
    edi_seps s;
    if (p->end - q < 9) {
        edi__diag(p, ERR_SYNTAX, 0, 0, p->sline, p->scol,
                  "UNA service string advice is truncated");
        *qp = p->end;
        return;
    }
    if (edi_seps_from_una(&s, q + 3, &ue) < 0)
        edi__diag(p, ERR_INVALID, 0, 0, p->sline, p->scol,
                  "UNA service string advice: %s", ue.msg);
    else
        p->seps = s;
    edi__classes(p);
    edi__skip_lines(p, q, q + 9);
    *qp = q + 9;
}
