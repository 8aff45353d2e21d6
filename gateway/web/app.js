/* eport federation dashboard: reads the national center's JSON API
 * (v1/federation, v1/alerts, v1/movements, v1/movements/{ref}) every 2 s
 * with relative URLs (so it also works behind a path prefix) and renders
 * the federation graph, the counters, the movements table, a movement's
 * journey and the alerts. No dependencies, no build step. Every value
 * from the API may be missing or of the wrong type: each is checked
 * before use, and text is always set as text, never as HTML. */
'use strict';
(function () {
  const POLL_MS = 2000;
  const FETCH_TIMEOUT_MS = 5000;
  const HISTORY = 60; /* rate samples kept for the sparklines (2 min) */
  const MV_LIMIT = 200;
  const SVGNS = 'http://www.w3.org/2000/svg';

  /* Rough geography on a 640x370 canvas: SN north, SC west, CQ centre,
   * SH east, the national center at the top. label: where the names go. */
  const PLACES = {
    NC: { x: 470, y: 52, name: 'National center', label: 'right', national: true },
    SN: { x: 285, y: 150, name: 'Shaanxi · Xi\u2019an', label: 'left' },
    SC: { x: 105, y: 262, name: 'Sichuan · Chengdu', label: 'below' },
    CQ: { x: 290, y: 290, name: 'Chongqing', label: 'below' },
    SH: { x: 560, y: 238, name: 'Shanghai', label: 'below' },
  };
  /* Curved links (control point), by sorted pair: keeps NC-SC off SN. */
  const BENDS = { 'NC|SC': [70, 55] };
  const NODE_R = 24;
  const PHASES = ['declared', 'released', 'arrived', 'controlled', 'written_off', 'cancelled', 'rejected'];
  const SEVERITY_ORDER = { critical: 0, error: 1, warning: 2, warn: 2, info: 3 };

  const state = {
    fed: null, alerts: null, movements: null,
    selected: null, journey: null, journeyError: null,
    reachable: null, lastOk: 0, error: '',
    hist: [],
    mvSeq: 0, jSeq: 0,
  };

  /* ---- small helpers ---- */

  const $ = (sel, root) => (root || document).querySelector(sel);
  const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const obj = (v) => (isObj(v) ? v : {});
  const arr = (v) => (Array.isArray(v) ? v : []);
  const num = (v) => (typeof v === 'number' && isFinite(v) ? v : null);
  const str = (v) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

  function setAttrs(el, attrs) {
    if (!attrs) return;
    for (const k of Object.keys(attrs)) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') el.textContent = String(v);
      else if (k.slice(0, 2) === 'on' && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  function append(el, kids) {
    for (const k of kids.flat(Infinity)) {
      if (k === null || k === undefined || k === false || k === '') continue;
      el.appendChild(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return el;
  }
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    return append(el, kids);
  }
  function s(tag, attrs, ...kids) {
    const el = document.createElementNS(SVGNS, tag);
    setAttrs(el, attrs);
    return append(el, kids);
  }
  function replace(el, ...kids) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return append(el, kids);
  }

  function fmtInt(v) {
    v = num(v);
    return v === null ? '—' : Math.round(v).toLocaleString('en-US');
  }
  function fmtRate(v) {
    v = num(v);
    if (v === null) return '—';
    return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  }
  function fmtMs(v) {
    v = num(v);
    if (v === null) return '—';
    if (v < 1000) return Math.round(v) + ' ms';
    if (v < 60000) return (v / 1000).toFixed(v < 10000 ? 2 : 1) + ' s';
    if (v < 3600000) return (v / 60000).toFixed(1) + ' min';
    if (v < 86400000) return (v / 3600000).toFixed(1) + ' h';
    return (v / 86400000).toFixed(1) + ' d';
  }
  function fmtAge(sec) {
    sec = num(sec);
    if (sec === null) return '—';
    if (sec < 0) sec = 0;
    if (sec < 10) return sec.toFixed(1) + ' s';
    if (sec < 120) return Math.round(sec) + ' s';
    if (sec < 7200) return Math.round(sec / 60) + ' min';
    if (sec < 172800) return Math.round(sec / 3600) + ' h';
    return Math.round(sec / 86400) + ' d';
  }
  function parseTime(v) {
    if (typeof v !== 'string' || !v) return null;
    const t = Date.parse(v);
    return isNaN(t) ? null : t;
  }
  /* UTC, the date only when it is not today; ms for the journey steps. */
  function fmtTime(v, ms) {
    const t = parseTime(v);
    if (t === null) return v ? str(v) || '—' : '—';
    const iso = new Date(t).toISOString();
    const today = new Date().toISOString().slice(0, 10);
    return (iso.slice(0, 10) === today ? '' : iso.slice(0, 10) + ' ') +
      iso.slice(11, ms ? 23 : 19) + 'Z';
  }
  function timeEl(v, ms) {
    const t = parseTime(v);
    return h('time', t === null ? null : { datetime: new Date(t).toISOString(), title: new Date(t).toISOString() },
      fmtTime(v, ms));
  }
  function ago(v) {
    const t = parseTime(v);
    return t === null ? '' : fmtAge((Date.now() - t) / 1000) + ' ago';
  }
  function phaseLabel(p) {
    return str(p).replace(/_/g, ' ') || 'unknown';
  }
  function phaseBadge(p) {
    const name = str(p) || 'unknown';
    return h('span', { class: 'phase ph-' + name.replace(/[^a-z_]/gi, ''), 'data-phase': name }, phaseLabel(name));
  }
  function heldBadge(m) {
    return h('span', { class: 'phase held', title: m.holdWhy || 'on hold' }, 'on hold at ' + m.held);
  }
  function regionChip(r, extra) {
    const id = str(r) || '?';
    return h('span', { class: 'region rg-' + id.replace(/[^A-Z0-9]/gi, '') + (extra ? ' ' + extra : '') }, id);
  }
  function route(itin) {
    const out = [];
    arr(itin).forEach((r, i) => {
      if (i) out.push(h('span', { class: 'arrow', 'aria-hidden': 'true' }, '→'));
      out.push(regionChip(r));
    });
    return out.length ? h('span', { class: 'route', 'aria-label': arr(itin).map(str).join(' to ') }, out)
      : h('span', { class: 'muted' }, '—');
  }
  function sum(list, f) {
    let t = 0, any = false;
    for (const x of list) {
      const v = num(f(x));
      if (v !== null) { t += v; any = true; }
    }
    return any ? t : null;
  }

  /* The center's answers follow nc-api; a node's own API (docs/api.yaml)
   * spells some fields differently (itinerary, state.{phase,kind,...},
   * containers and documents as objects). Both are read. */
  function label(v) {
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    if (Array.isArray(v)) return v.map(str).filter(Boolean).join(':');
    if (isObj(v)) return str(v.number) ? (str(v.type) ? str(v.type) + ':' : '') + str(v.number) : str(v.id);
    return '';
  }
  function normMv(m) {
    const st = obj(m.state);
    const pick = (...vs) => vs.find((v) => v !== undefined && v !== null);
    return {
      ref: str(m.ref),
      phase: str(pick(m.phase, st.phase)),
      kind: str(pick(m.kind, st.kind)),
      itin: arr(pick(m.itin, m.itinerary, st.itin, st.itinerary)).map(str).filter(Boolean),
      containers: arr(pick(m.containers, st.containers)).map(label).filter(Boolean),
      docs: arr(pick(m.docs, m.documents, st.docs, st.documents)).map(label).filter(Boolean),
      declared: pick(m.declared, st.declared),
      updated: pick(m.updated, st.closed, st.arrived, st.released),
      held: str(pick(m.held, st.held)),
      holdWhy: str(pick(m.hold_why, st.hold_why)),
      steps: m.steps, refusals: m.refusals, verify: m.verify,
    };
  }

  /* ---- fetching ---- */

  async function getJSON(path) {
    const ctl = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = ctl ? setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS) : 0;
    try {
      let r;
      try {
        r = await fetch(path, { cache: 'no-store', headers: { Accept: 'application/json' }, signal: ctl ? ctl.signal : undefined });
      } catch (e) {
        throw new Error(e && e.name === 'AbortError' ? 'no answer in ' + FETCH_TIMEOUT_MS / 1000 + ' s' : 'connection failed');
      }
      let body = null;
      try { body = await r.json(); } catch (e) { body = null; }
      if (!r.ok) {
        const err = new Error((isObj(body) && str(body.error)) || 'HTTP ' + r.status);
        err.status = r.status;
        throw err;
      }
      if (body === null) throw new Error('not JSON');
      return body;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  function movementsPath() {
    const q = ['limit=' + MV_LIMIT];
    const ph = $('#f-phase').value, rg = $('#f-region').value;
    if (ph) q.push('phase=' + encodeURIComponent(ph));
    if (rg) q.push('region=' + encodeURIComponent(rg));
    return 'v1/movements?' + q.join('&');
  }
  function journeyPath(ref) {
    return 'v1/movements/' + encodeURIComponent(ref);
  }

  async function loadMovements() {
    const seq = ++state.mvSeq;
    try {
      const body = await getJSON(movementsPath());
      if (seq !== state.mvSeq) return;
      state.movements = arr(obj(body).movements).filter(isObj).map(normMv);
      state.mvError = '';
    } catch (e) {
      if (seq !== state.mvSeq) return;
      state.mvError = e.message;
    }
    renderMovements();
  }

  async function loadJourney() {
    const ref = state.selected;
    if (!ref) return;
    const seq = ++state.jSeq;
    try {
      const body = await getJSON(journeyPath(ref));
      if (seq !== state.jSeq || ref !== state.selected) return;
      state.journey = normMv(obj(body));
      state.journeyError = '';
    } catch (e) {
      if (seq !== state.jSeq || ref !== state.selected) return;
      state.journeyError = e.status === 404 ? 'movement ' + ref + ' is not known at the national center' : e.message;
    }
    renderJourney();
  }

  async function poll() {
    const [fed, alerts] = await Promise.all([
      getJSON('v1/federation').then((v) => ({ v }), (e) => ({ e })),
      getJSON('v1/alerts').then((v) => ({ v }), (e) => ({ e })),
      loadMovements(),
      loadJourney(),
    ]);
    if (fed.v !== undefined && isObj(fed.v)) {
      state.fed = fed.v;
      state.reachable = true;
      state.lastOk = Date.now();
      state.error = '';
      const nodes = arr(fed.v.nodes).map(obj);
      state.hist.push({
        in: sum(nodes, (n) => obj(n.rates).in_per_s),
        out: sum(nodes, (n) => obj(n.rates).out_per_s),
      });
      if (state.hist.length > HISTORY) state.hist.shift();
    } else {
      state.reachable = false;
      state.error = fed.e ? fed.e.message : 'unexpected answer';
    }
    if (alerts.v !== undefined) {
      state.alerts = arr(obj(alerts.v).alerts).filter(isObj);
      state.alertsError = '';
    } else {
      state.alertsError = alerts.e ? alerts.e.message : 'unexpected answer';
    }
    renderAll();
  }

  async function loop() {
    try {
      await poll();
    } catch (e) {
      /* a rendering bug must not stop the polling */
      if (window.console) console.error('dashboard:', e);
    }
    setTimeout(loop, POLL_MS);
  }

  /* ---- rendering ---- */

  function renderAll() {
    renderStatus();
    renderGraph();
    renderNodes();
    renderCounters();
    renderAlerts();
  }

  function renderStatus() {
    const live = $('#live'), banner = $('#banner');
    const fed = obj(state.fed);
    if (str(fed.node)) $('#center-id').textContent = str(fed.node);
    if (state.reachable) {
      live.dataset.state = 'live';
      $('#live-text').textContent = 'live';
      banner.hidden = true;
      document.body.classList.remove('stale');
    } else {
      live.dataset.state = 'down';
      $('#live-text').textContent = 'unreachable';
      banner.hidden = false;
      const last = state.lastOk ? ' Last contact ' + fmtAge((Date.now() - state.lastOk) / 1000) + ' ago.' : '';
      $('#banner-text').textContent = 'The national center does not answer (' + (state.error || 'no answer') + ').' + last;
      document.body.classList.toggle('stale', !!state.lastOk);
    }
    const at = str(fed.at) || (state.lastOk ? new Date(state.lastOk).toISOString() : '');
    replace($('#updated'), at ? fmtTime(at) : '—');
    const active = arr(state.alerts).filter((a) => a.active !== false && !a.cleared).length;
    const pill = $('#alert-pill');
    pill.hidden = active === 0;
    $('#alert-count').textContent = String(active);
    pill.lastChild.textContent = active === 1 ? ' active alert' : ' active alerts';
    document.title = (active ? '(' + active + ') ' : '') + 'eport federation · national center';
  }

  function linkState(l) {
    if (l.up === false) return 'down';
    const ob = num(l.outbox);
    if (l.up === true) return ob !== null && ob > 0 ? 'queued' : 'up';
    return 'unknown';
  }
  function nodeState(n) {
    if (!state.reachable && state.lastOk) return 'unknown';
    return n.up === true ? 'up' : n.up === false ? 'down' : 'unknown';
  }

  function quad(p0, c, p1, t) {
    const u = 1 - t;
    return [u * u * p0[0] + 2 * u * t * c[0] + t * t * p1[0], u * u * p0[1] + 2 * u * t * c[1] + t * t * p1[1]];
  }

  function renderGraph() {
    const svgEl = $('#graph');
    const fed = obj(state.fed);
    const center = str(fed.node) || 'NC';
    const nodes = new Map();
    for (const n of arr(fed.nodes)) {
      if (isObj(n) && str(n.id)) nodes.set(str(n.id), n);
    }
    if (state.fed && !nodes.has(center)) {
      /* the center answering is the center being up */
      nodes.set(center, { id: center, role: 'national', up: true });
    }
    const links = arr(fed.links).filter((l) => isObj(l) && str(l.from) && str(l.to));
    for (const l of links) {
      for (const id of [str(l.from), str(l.to)]) if (!nodes.has(id)) nodes.set(id, { id: id });
    }
    if (!state.fed) for (const id of Object.keys(PLACES)) nodes.set(id, { id: id });

    /* positions: the known places, others in a row at the bottom */
    const pos = new Map();
    let extra = 0;
    for (const id of nodes.keys()) {
      const p = PLACES[id] || (id === center ? PLACES.NC : null);
      if (p) pos.set(id, p);
      else {
        pos.set(id, { x: 430 + (extra % 3) * 70, y: 340 - Math.floor(extra / 3) * 60, name: '', label: 'below' });
        extra++;
      }
    }

    const gRiver = s('g', { class: 'geo', 'aria-hidden': 'true' },
      s('path', { class: 'river', d: 'M 20 318 C 110 300, 180 335, 290 322 S 420 300, 470 292 S 560 272, 628 266' }),
      s('text', { class: 'river-label', x: 420, y: 318 }, 'Yangtze'));

    const pairs = new Set(links.map((l) => str(l.from) + '>' + str(l.to)));
    const gLinks = s('g', { class: 'links' });
    const gLabels = s('g', { class: 'link-labels' });
    let down = 0, queued = 0;
    for (const l of links) {
      const from = str(l.from), to = str(l.to);
      const pa = pos.get(from), pb = pos.get(to);
      if (!pa || !pb || from === to) continue;
      const [a, b] = from < to ? [from, to] : [to, from];
      const A = pos.get(a), B = pos.get(b);
      const both = pairs.has(to + '>' + from);
      /* canonical geometry a->b, the two directions side by side */
      let dx = B.x - A.x, dy = B.y - A.y;
      const len = Math.hypot(dx, dy) || 1;
      const nx = -dy / len, ny = dx / len;
      const off = both ? (from === a ? -3.5 : 3.5) : 0;
      const bend = BENDS[a + '|' + b];
      const p0 = [A.x + nx * off, A.y + ny * off];
      const p1 = [B.x + nx * off, B.y + ny * off];
      const c = bend ? [bend[0] + nx * off, bend[1] + ny * off] : [(p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2];
      const d = 'M ' + p0.map((v) => v.toFixed(1)).join(' ') + ' Q ' + c.map((v) => v.toFixed(1)).join(' ') +
        ' ' + p1.map((v) => v.toFixed(1)).join(' ');
      let st = linkState(l);
      if (!state.reachable && state.lastOk) st = 'unknown';
      if (st === 'down') down++;
      if (st === 'queued') queued++;
      const feed = from === center || to === center;
      const ob = num(l.outbox);
      const tip = from + ' → ' + to + ': ' + st +
        (ob !== null ? ', outbox ' + ob : '') +
        (num(l.last_ack_age_s) !== null ? ', last receipt ' + fmtAge(l.last_ack_age_s) + ' ago' : '');
      gLinks.appendChild(s('g', {
        class: 'link ' + st + (feed ? ' feed' : ''), 'data-from': from, 'data-to': to, 'data-state': st,
        'data-outbox': ob === null ? null : ob,
      }, s('title', { text: tip }), s('path', { class: 'hit', d: d }), s('path', { class: 'line', d: d })));
      if (ob !== null && ob > 0) {
        const tt = Math.min(0.45, Math.max(0.22, (NODE_R + 36) / len));
        const t = from === a ? tt : 1 - tt;
        const m = quad(p0, c, p1, t);
        const side = off === 0 ? 1 : Math.sign(off);
        const lx = m[0] + nx * side * 11, ly = m[1] + ny * side * 11;
        const txt = ob + ' queued';
        const w = txt.length * 6.2 + 10;
        gLabels.appendChild(s('g', { class: 'link-label ' + st, transform: 'translate(' + lx.toFixed(1) + ' ' + ly.toFixed(1) + ')', 'aria-hidden': 'true' },
          s('rect', { x: -w / 2, y: -9, width: w, height: 18, rx: 9 }),
          s('text', { 'text-anchor': 'middle', dy: '0.35em' }, txt)));
      }
    }

    const gNodes = s('g', { class: 'nodes' });
    let nodesDown = 0;
    for (const [id, n] of nodes) {
      const p = pos.get(id);
      const st = nodeState(n);
      if (st === 'down') nodesDown++;
      const national = id === center || n.role === 'national' || p.national;
      const name = p.name || str(n.region) || '';
      const rates = obj(n.rates);
      const age = num(n.age_s);
      let statLine = st === 'up' ? 'up' : st === 'down' ? 'down' : '—';
      if (st === 'down' && age !== null) statLine = 'down · ' + fmtAge(age);
      else if (st === 'up' && num(rates.in_per_s) !== null) statLine = 'up · ' + fmtRate(rates.in_per_s) + '/s in';
      const tip = id + (name ? ' — ' + name : '') + ': ' + st +
        (str(n.last_seen) ? ', last seen ' + fmtTime(n.last_seen) : '') +
        (num(rates.in_per_s) !== null ? ', in ' + fmtRate(rates.in_per_s) + '/s' : '') +
        (num(rates.out_per_s) !== null ? ', out ' + fmtRate(rates.out_per_s) + '/s' : '');
      let lx = 0, ly = NODE_R + 17, anchor = 'middle';
      if (p.label === 'left') { lx = -NODE_R - 8; ly = -3; anchor = 'end'; }
      if (p.label === 'right') { lx = NODE_R + 8; ly = -3; anchor = 'start'; }
      const shape = national
        ? s('rect', { class: 'shape', x: -NODE_R, y: -NODE_R, width: NODE_R * 2, height: NODE_R * 2, rx: 9 })
        : s('circle', { class: 'shape', r: NODE_R });
      gNodes.appendChild(s('g', {
        class: 'node ' + st + (national ? ' national' : ''), 'data-id': id, 'data-state': st,
        transform: 'translate(' + p.x + ' ' + p.y + ')',
      },
      s('title', { text: tip }),
      shape,
      s('text', { class: 'nid', 'text-anchor': 'middle', dy: '0.35em' }, id),
      s('circle', { class: 'sdot', cx: NODE_R * 0.72, cy: -NODE_R * 0.72, r: 5.5 }),
      s('text', { class: 'nname', x: lx, y: ly, 'text-anchor': anchor }, name),
      s('text', { class: 'nstat', x: lx, y: ly + 14, 'text-anchor': anchor }, statLine)));
    }
    replace(svgEl, s('title', { id: 'graph-title' }, 'Federation graph: provinces and the national center with their link health'),
      s('desc', { id: 'graph-desc' }, state.fed
        ? nodes.size + ' nodes, ' + nodesDown + ' down; ' + links.length + ' links, ' + down + ' down, ' + queued + ' queued.'
        : 'Waiting for the national center.'),
      gRiver, gLinks, gLabels, gNodes);
  }

  function renderNodes() {
    const tbody = $('#nodes tbody');
    const nodes = arr(obj(state.fed).nodes).filter((n) => isObj(n) && str(n.id));
    if (!nodes.length) {
      replace(tbody, h('tr', { class: 'empty' }, h('td', { colspan: 8 }, state.fed ? 'No nodes reported.' : 'Waiting…')));
      return;
    }
    const order = ['SN', 'SC', 'CQ', 'SH', 'NC'];
    nodes.sort((a, b) => {
      const ia = order.indexOf(str(a.id)), ib = order.indexOf(str(b.id));
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || str(a.id).localeCompare(str(b.id));
    });
    replace(tbody, nodes.map((n) => {
      const st = nodeState(n);
      const q = obj(n.queues), r = obj(n.rates), c = obj(n.counters);
      const dlq = num(q.dlq), sig = num(c.sig_failures);
      return h('tr', { 'data-node': str(n.id) },
        h('th', { scope: 'row' }, regionChip(n.id), ' ', h('span', { class: 'muted small' }, (PLACES[str(n.id)] || {}).name || str(n.role))),
        h('td', null, h('span', { class: 'state st-' + st }, st)),
        h('td', null, num(n.age_s) !== null ? fmtAge(n.age_s) + ' ago' : str(n.last_seen) ? ago(n.last_seen) : '—'),
        h('td', { class: 'num' }, fmtRate(r.in_per_s)),
        h('td', { class: 'num' }, fmtRate(r.out_per_s)),
        h('td', { class: 'num' }, fmtInt(q.await)),
        h('td', { class: 'num' + (dlq ? ' warn' : '') }, fmtInt(dlq)),
        h('td', { class: 'num' + (sig ? ' bad' : '') }, fmtInt(c.refused) + ' / ' + fmtInt(sig)));
    }));
  }

  function sparkline(key) {
    const vals = state.hist.map((x) => x[key]).filter((v) => v !== null);
    const w = 120, ht = 28;
    if (vals.length < 2) return s('svg', { class: 'spark', viewBox: '0 0 ' + w + ' ' + ht, 'aria-hidden': 'true' });
    const max = Math.max(...vals, 1e-9);
    const pts = vals.map((v, i) => ((i / (vals.length - 1)) * w).toFixed(1) + ',' +
      (ht - 2 - (v / max) * (ht - 4)).toFixed(1));
    return s('svg', { class: 'spark', viewBox: '0 0 ' + w + ' ' + ht, 'aria-hidden': 'true', preserveAspectRatio: 'none' },
      s('polyline', { points: pts.join(' ') }));
  }

  function tile(key, label, value, opts) {
    opts = opts || {};
    return h('div', { class: 'tile' + (opts.cls ? ' ' + opts.cls : ''), 'data-counter': key, title: opts.title || null },
      h('div', { class: 'tile-label' }, label),
      h('div', { class: 'tile-value' }, h('span', { class: 'value' }, value), opts.unit ? h('span', { class: 'unit' }, opts.unit) : null),
      opts.extra || null);
  }

  function renderCounters() {
    const box = $('#counters');
    const fed = obj(state.fed);
    if (!state.fed) {
      replace(box, h('p', { class: 'placeholder' }, 'Waiting for the national center…'));
      return;
    }
    const nodes = arr(fed.nodes).map(obj);
    const mv = obj(fed.movements), byPhase = obj(mv.by_phase), counts = obj(fed.counts), cl = obj(fed.clearance);
    const rin = sum(nodes, (n) => obj(n.rates).in_per_s), rout = sum(nodes, (n) => obj(n.rates).out_per_s);
    const sig = sum(nodes, (n) => obj(n.counters).sig_failures);
    const refused = sum(nodes, (n) => obj(n.counters).refused);
    const attention = (v, cls) => (num(v) ? cls : '');

    /* movements by phase: one stacked bar and its legend */
    const phases = PHASES.concat(Object.keys(byPhase).filter((p) => PHASES.indexOf(p) < 0));
    const total = num(mv.total) !== null ? mv.total : sum(Object.keys(byPhase), (p) => byPhase[p]);
    const present = phases.filter((p) => num(byPhase[p]) !== null);
    const barTotal = sum(present, (p) => byPhase[p]) || 0;
    const bar = h('div', { class: 'phasebar', role: 'img', 'aria-label': present.map((p) => phaseLabel(p) + ' ' + byPhase[p]).join(', ') || 'no movements' },
      present.filter((p) => byPhase[p] > 0).map((p) => h('span', {
        class: 'seg ph-' + p.replace(/[^a-z_]/gi, ''), style: 'flex-grow:' + byPhase[p], title: phaseLabel(p) + ': ' + byPhase[p],
      })));
    if (!barTotal) bar.classList.add('empty');
    const legend = h('ul', { class: 'phase-legend' }, present.map((p) => h('li', { 'data-counter': 'phase-' + p },
      h('span', { class: 'sw ph-' + p.replace(/[^a-z_]/gi, ''), 'aria-hidden': 'true' }), phaseLabel(p), ' ', h('strong', null, fmtInt(byPhase[p])))));

    const byRegion = obj(mv.by_region);
    const regions = Object.keys(byRegion).sort();
    const regionRow = regions.length ? h('ul', { class: 'by-region', 'aria-label': 'Movements by region' },
      regions.map((r) => {
        const ph = obj(byRegion[r]);
        const t = sum(Object.keys(ph), (k) => ph[k]);
        return h('li', { 'data-counter': 'region-' + r, title: Object.keys(ph).map((k) => phaseLabel(k) + ' ' + ph[k]).join(', ') },
          regionChip(r), ' ', h('strong', null, fmtInt(t)));
      })) : null;

    const clRow = (key, label) => {
      const c = obj(cl[key]);
      return h('tr', { 'data-counter': 'clearance-' + key },
        h('th', { scope: 'row' }, label),
        h('td', { class: 'num' }, fmtInt(c.n)),
        h('td', { class: 'num' }, fmtMs(c.p50)),
        h('td', { class: 'num' }, fmtMs(c.p90)),
        h('td', { class: 'num' }, fmtMs(c.p99)));
    };

    replace(box,
      h('div', { class: 'tiles rates' },
        tile('in_rate', 'Messages in', fmtRate(rin), { unit: '/s', extra: sparkline('in'), title: 'sum over all nodes' }),
        tile('out_rate', 'Messages out', fmtRate(rout), { unit: '/s', extra: sparkline('out'), title: 'sum over all nodes' })),
      h('div', { class: 'block' },
        h('div', { class: 'block-head' }, h('h3', null, 'Movements'), h('span', { class: 'big', 'data-counter': 'movements_total' }, fmtInt(total))),
        bar, legend, regionRow),
      h('div', { class: 'block' },
        h('h3', null, 'Clearance time'),
        h('table', { class: 'pct' },
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'interval')),
            h('th', { scope: 'col', class: 'num' }, 'n'), h('th', { scope: 'col', class: 'num' }, 'p50'),
            h('th', { scope: 'col', class: 'num' }, 'p90'), h('th', { scope: 'col', class: 'num' }, 'p99'))),
          h('tbody', null,
            clRow('declared_to_released_ms', 'declared → released'),
            clRow('released_to_arrived_ms', 'released → arrived')))),
      h('div', { class: 'tiles small' },
        tile('discrepancies', 'Discrepancies', fmtInt(counts.discrepancies), { cls: attention(counts.discrepancies, 'warn') }),
        tile('conflicts', 'Conflicts', fmtInt(counts.conflicts), { cls: attention(counts.conflicts, 'warn'), title: 'double declarations' }),
        tile('enquiries', 'Enquiries', fmtInt(counts.enquiries), { cls: attention(counts.enquiries, 'warn'), title: 'time-limit enquiries' }),
        tile('dead_letters', 'Dead letters', fmtInt(counts.dead_letters), { cls: attention(counts.dead_letters, 'warn') }),
        tile('sig_failures', 'Signature failures', fmtInt(sig), { cls: attention(sig, 'bad') }),
        tile('refused', 'Refused', fmtInt(refused), { cls: attention(refused, 'warn'), title: 'envelopes refused by the nodes' })));
  }

  function renderMovements() {
    const tbody = $('#movements tbody');
    const note = $('#mv-count');
    const list = state.movements;
    if (!list) {
      replace(tbody, h('tr', { class: 'empty' }, h('td', { colspan: 7 }, state.mvError ? 'Movements unavailable: ' + state.mvError : 'Waiting for the national center…')));
      return;
    }
    const ph = $('#f-phase').value, rg = $('#f-region').value;
    const q = $('#f-text').value.trim().toUpperCase();
    const rows = list.filter((m) => {
      if (ph && str(m.phase) !== ph) return false;
      if (rg && m.itin.indexOf(rg) < 0) return false;
      if (q) {
        const hay = [m.ref].concat(m.containers, m.docs).join(' ').toUpperCase();
        if (hay.indexOf(q) < 0) return false;
      }
      return true;
    });
    rows.sort((a, b) => (parseTime(b.declared) || 0) - (parseTime(a.declared) || 0));
    note.textContent = rows.length + ' of ' + list.length + (list.length >= MV_LIMIT ? '+' : '') + (state.mvError ? ' · stale: ' + state.mvError : '');
    const focused = document.activeElement && document.activeElement.closest ? document.activeElement.closest('tr[data-ref]') : null;
    const focusRef = focused && tbody.contains(focused) ? focused.dataset.ref : null;
    if (!rows.length) {
      replace(tbody, h('tr', { class: 'empty' }, h('td', { colspan: 7 }, list.length ? 'No movement matches the filters.' : 'No movements yet.')));
      return;
    }
    replace(tbody, rows.map((m) => {
      const ref = str(m.ref);
      const sel = ref && ref === state.selected;
      const ctrs = m.containers;
      return h('tr', {
        'data-ref': ref || null, tabindex: ref ? 0 : null, class: sel ? 'selected' : null, 'aria-current': sel ? 'true' : null,
        title: ref ? 'Show the journey of ' + ref : null,
        onclick: ref ? () => select(ref) : null,
        onkeydown: ref ? (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); select(ref); } } : null,
      },
      h('td', { class: 'mono ref' }, ref || '—'),
      h('td', { class: 'kind' }, phaseLabel(m.kind)),
      h('td', { class: 'ph' }, phaseBadge(m.phase), m.held ? heldBadge(m) : null),
      h('td', null, route(m.itin)),
      h('td', { class: 'mono small' }, ctrs.length > 2 ? ctrs.slice(0, 2).join(', ') + ' +' + (ctrs.length - 2) : ctrs.join(', ') || '—'),
      h('td', { class: 'small' }, timeEl(m.declared)),
      h('td', { class: 'small' }, timeEl(m.updated)));
    }));
    if (focusRef) {
      const again = tbody.querySelector('tr[data-ref="' + cssEscape(focusRef) + '"]');
      if (again) again.focus();
    }
  }

  function cssEscape(v) {
    return window.CSS && CSS.escape ? CSS.escape(v) : v.replace(/["\\]/g, '\\$&');
  }

  function select(ref) {
    if (!ref) return;
    if (ref !== state.selected) {
      state.selected = ref;
      state.journey = null;
      state.journeyError = '';
      try { history.replaceState(null, '', '#mv=' + encodeURIComponent(ref)); } catch (e) { /* file: or sandboxed */ }
    }
    renderMovements();
    renderJourney();
    loadJourney();
  }

  function verifyBadge(ok, why, okText) {
    if (ok === true) return h('span', { class: 'badge verify-ok', title: 'signature, author and rules verified', 'aria-label': 'verified' }, '✓ ' + (okText || 'verified'));
    if (ok === false) return h('span', { class: 'badge verify-bad', title: why || 'verification failed', 'aria-label': 'verification failed' }, '✗ failed');
    return h('span', { class: 'badge verify-unknown', title: 'not checked' }, '? unchecked');
  }
  function stepVerdict(st) {
    const why = str(st.verify);
    if (st.verified === true) return { ok: true, why: '' };
    if (st.verified === false) return { ok: false, why: why && why !== 'ok' ? why : 'verification failed' };
    if (why === 'ok') return { ok: true, why: '' };
    if (why) return { ok: false, why: why };
    return { ok: null, why: '' };
  }

  function renderJourney() {
    const box = $('#journey');
    const ref = state.selected;
    if (!ref) {
      replace(box, h('p', { class: 'placeholder' }, 'Select a movement to see its journey across regions, each signed step and its verification.'));
      return;
    }
    const j = state.journey;
    if (!j) {
      replace(box, h('div', { class: 'j-head', 'data-ref': ref }, h('h3', { class: 'mono' }, ref)),
        h('p', { class: state.journeyError ? 'error' : 'placeholder' }, state.journeyError ? 'Journey unavailable: ' + state.journeyError : 'Loading the journey…'));
      return;
    }
    const steps = arr(j.steps).filter(isObj);
    const itin = j.itin;
    const authors = new Set(steps.map((x) => str(x.by)));
    const overall = str(j.verify);
    const t0 = steps.length ? parseTime(steps[0].at) : null;
    const bad = steps.filter((x) => stepVerdict(x).ok === false).length;

    const head = h('div', { class: 'j-head', 'data-ref': ref },
      h('div', { class: 'j-title' }, h('h3', { class: 'mono' }, j.ref || ref), phaseBadge(j.phase), j.held ? heldBadge(j) : null,
        overall ? verifyBadge(overall === 'ok', overall, 'history verified') : null),
      h('p', { class: 'j-meta' }, phaseLabel(j.kind), ' · ', steps.length + ' signed step' + (steps.length === 1 ? '' : 's'),
        bad ? h('span', { class: 'bad' }, ' · ' + bad + ' failed verification') : null),
      overall && overall !== 'ok' ? h('p', { class: 'error small' }, overall) : null,
      itin.length ? h('ol', { class: 'itin', 'aria-label': 'Itinerary' }, itin.map((r, i) => h('li', {
        class: authors.has(r) ? 'done' : '',
        title: i === 0 ? 'departure' : i === itin.length - 1 ? 'destination' : 'transit',
      }, regionChip(r), h('span', { class: 'itin-role' }, i === 0 ? 'departure' : i === itin.length - 1 ? 'destination' : 'transit')))) : null);

    const list = h('ol', { class: 'steps' }, steps.map((x, i) => {
      const v = stepVerdict(x);
      const at = parseTime(x.at);
      const by = str(x.by) || '?';
      const signer = str(x.signer);
      return h('li', { class: 'step' + (v.ok === false ? ' failed' : ''), 'data-n': num(x.n) !== null ? x.n : i + 1, 'data-type': str(x.type), 'data-by': by },
        h('span', { class: 'marker rgbg-' + by.replace(/[^A-Z0-9]/gi, ''), 'aria-hidden': 'true' }),
        h('div', { class: 'step-main' },
          h('div', { class: 'step-top' },
            h('span', { class: 'step-n' }, '#' + (num(x.n) !== null ? x.n : i + 1)),
            h('strong', { class: 'step-type' }, phaseLabel(x.type) || '?'),
            h('span', { class: 'muted' }, 'by'), regionChip(by),
            verifyBadge(v.ok, v.why)),
          h('div', { class: 'step-meta' },
            timeEl(x.at, true),
            t0 !== null && at !== null && i > 0 ? h('span', { class: 'delta' }, '+' + fmtMs(at - t0)) : null,
            signer ? h('span', null, 'signed by ', h('strong', null, signer)) : null,
            str(x.id) ? h('span', { class: 'mono msgid', title: 'message id' }, str(x.id)) : null),
          str(x.details) ? h('div', { class: 'details mono' }, str(x.details)) : null,
          v.ok === false ? h('div', { class: 'why' }, v.why) : null));
    }));

    const refusals = arr(j.refusals).filter((r) => isObj(r) || typeof r === 'string');
    replace(box, head,
      steps.length ? list : h('p', { class: 'placeholder' }, 'No steps recorded.'),
      refusals.length ? h('div', { class: 'refusals' }, h('h4', null, 'Refused here (' + refusals.length + ')'),
        h('ul', null, refusals.map((r) => h('li', { class: 'refusal' },
          isObj(r) && str(r.id) ? h('span', { class: 'mono small' }, str(r.id) + ' ') : null,
          isObj(r) ? str(r.msg) || str(r.message) : str(r))))) : null,
      state.journeyError ? h('p', { class: 'error small' }, 'Stale: ' + state.journeyError) : null);
  }

  function renderAlerts() {
    const ul = $('#alert-list');
    const note = $('#alerts-note');
    const list = state.alerts;
    if (!list) {
      replace(ul, h('li', { class: 'empty' }, state.alertsError ? 'Alerts unavailable: ' + state.alertsError : 'Waiting for the national center…'));
      note.textContent = '';
      return;
    }
    const isActive = (a) => a.active !== false && !a.cleared;
    const sorted = list.slice().sort((a, b) =>
      (isActive(b) - isActive(a)) ||
      ((SEVERITY_ORDER[str(a.severity)] !== undefined ? SEVERITY_ORDER[str(a.severity)] : 5) -
        (SEVERITY_ORDER[str(b.severity)] !== undefined ? SEVERITY_ORDER[str(b.severity)] : 5)) ||
      ((parseTime(b.since) || 0) - (parseTime(a.since) || 0)));
    const active = sorted.filter(isActive).length;
    note.textContent = active + ' active · ' + (sorted.length - active) + ' cleared' + (state.alertsError ? ' · stale: ' + state.alertsError : '');
    if (!sorted.length) {
      replace(ul, h('li', { class: 'empty ok' }, '✓ No alerts. Every node and link is within its limits.'));
      return;
    }
    replace(ul, sorted.map((a) => {
      const act = isActive(a);
      const sev = str(a.severity) || 'info';
      return h('li', {
        class: 'alert sev-' + sev.replace(/[^a-z]/gi, '') + (act ? ' active' : ' cleared'),
        'data-rule': str(a.rule) || 'unknown', 'data-id': str(a.id) || null, 'data-active': act ? 'true' : 'false',
      },
      h('div', { class: 'alert-top' },
        h('span', { class: 'sev' }, sev),
        h('strong', { class: 'rule' }, phaseLabel(a.rule)),
        str(a.subject) ? h('span', { class: 'subject' }, str(a.subject)) : null,
        h('span', { class: 'when' }, act ? 'active' : 'cleared')),
      h('p', { class: 'msg' }, str(a.message) || str(a.id) || ''),
      h('p', { class: 'alert-times' },
        'since ', timeEl(a.since), str(a.since) ? ' (' + ago(a.since) + ')' : '',
        !act && str(a.cleared) ? [' · cleared ', timeEl(a.cleared), ' (' + ago(a.cleared) + ')'] : null));
    }));
  }

  /* ---- start ---- */

  function init() {
    const refetch = () => { renderMovements(); loadMovements(); };
    $('#f-phase').addEventListener('change', refetch);
    $('#f-region').addEventListener('change', refetch);
    $('#f-text').addEventListener('input', renderMovements);
    $('#filters').addEventListener('submit', (ev) => ev.preventDefault());
    const m = /^#mv=([^&]+)/.exec(location.hash);
    if (m) {
      try { state.selected = decodeURIComponent(m[1]); } catch (e) { state.selected = null; }
    }
    renderAll();
    renderJourney();
    loop();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
}());
