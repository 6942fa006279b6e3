// Unit tests of support_analytics/report/web/slicer.js on small hand-made payloads:
//   node --test tests/js/
// (tests/test_slices.py runs this too, and checks the same code against DuckDB on real data.)
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const zlib = require('node:zlib');
const S = require(path.join(__dirname, '..', '..', 'support_analytics', 'report', 'web', 'slicer.js'));

const MEASURES = ['calls', 'duration_cs', 'rated', 'rating_sum', 'rating_good', 'resolved',
  'escalated', 'repeated', 'fcr'];
const DIRECTIONS = { calls: null, aht: false, csat: true, csat_good_share: true,
  resolution_rate: true, fcr: true, repeat_rate: false, escalation_rate: false };

// --- a tiny payload writer: the same layout slices.py writes -------------------------------
function dayNum(text) {
  return Date.UTC(+text.slice(0, 4), +text.slice(5, 7) - 1, +text.slice(8, 10)) / 86400000;
}

function encodeColumn(values) {
  const top = values.reduce((a, b) => Math.max(a, b), 0);
  const [dtype, w] = top < 256 ? ['u8', 1] : top < 65536 ? ['u16', 2] : ['u32', 4];
  const out = Buffer.alloc(values.length * w);
  values.forEach((v, i) => {
    for (let b = 0; b < w; b++) out[b * values.length + i] = Math.floor(v / 2 ** (8 * b)) % 256;
  });
  return { dtype, bytes: out };
}

/**
 * calls: [{day, agent, issue, hour, dur (minutes, 2 decimals), rating|null, resolution,
 * repeated}] with agent an index into agents and issue a name. Aggregated into cells here;
 * the tests' expected numbers are worked out by hand, not from this.
 */
function makePayload({ first, last, regions, issues, resolutions, agents, calls }) {
  const days = dayNum(last) - dayNum(first) + 1;
  const nI = issues.length;
  const cubes = { agent: new Map(), hour: new Map(), duration: new Map(), resolution: new Map() };
  const add = (cube, key, vals) => {
    const cur = cubes[cube].get(key.join('|'));
    if (cur) vals.forEach((v, i) => { cur.vals[i] += v; });
    else cubes[cube].set(key.join('|'), { key, vals: vals.slice() });
  };
  for (const c of calls) {
    const d = dayNum(c.day) - dayNum(first);
    const ii = issues.indexOf(c.issue);
    const ri = agents[c.agent].region < 0 ? regions.length : agents[c.agent].region;
    const g = ri * nI + ii;
    const resolved = c.resolution === 'resolved' ? 1 : 0;
    add('agent', [d, c.agent, ii], [1, Math.round(c.dur * 100), c.rating === null ? 0 : 1,
      c.rating || 0, c.rating >= 4 ? 1 : 0, resolved, c.resolution === 'escalated' ? 1 : 0,
      c.repeated ? 1 : 0, resolved && !c.repeated ? 1 : 0]);
    add('hour', [d, g, c.hour], [1]);
    add('duration', [d, g, Math.min(Math.floor(c.dur / 2), 20)], [1]);
    add('resolution', [d, g, resolutions.indexOf(c.resolution)], [1]);
  }
  const parts = [];
  const columns = [];
  let offset = 0;
  const push = (cube, name, values) => {
    const { dtype, bytes } = encodeColumn(values);
    columns.push({ cube, name, dtype, length: values.length, offset });
    parts.push(bytes);
    offset += bytes.length;
  };
  for (const cube of ['agent', 'hour', 'duration', 'resolution']) {
    const cells = [...cubes[cube].values()].sort((a, b) =>
      a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.key[2] - b.key[2]);
    const perDay = new Array(days).fill(0);
    cells.forEach((c) => { perDay[c.key[0]] += 1; });
    push(cube, 'day_cells', perDay);
    if (cube === 'agent') {
      push(cube, 'agent', cells.map((c) => c.key[1]));
      push(cube, 'issue', cells.map((c) => c.key[2]));
      MEASURES.forEach((m, k) => push(cube, m, cells.map((c) => c.vals[k])));
    } else {
      push(cube, 'group', cells.map((c) => c.key[1]));
      push(cube, 'x', cells.map((c) => c.key[2]));
      push(cube, 'calls', cells.map((c) => c.vals[0]));
    }
  }
  return {
    format: 'support-analytics-slices', version: 1, first_day: first, last_day: last, days,
    default_end: last, calls: calls.length, regions, issues, resolutions,
    agents: { id: agents.map((a) => a.id), name: agents.map((a) => a.name),
      region: agents.map((a) => a.region) },
    duration_bins: { width: 2.0, last: 20 }, agent_measures: MEASURES,
    kpi_directions: DIRECTIONS, columns,
    blob: zlib.gzipSync(Buffer.concat(parts)).toString('base64'),
  };
}

// Two regions, three known agents and one unknown agent (no region), 2026-01-01..2026-01-20;
// days without any call (01-02, 01-04..01-08, 01-10, 01-11, 01-13, 01-14...) are gaps.
const AGENTS = [
  { id: 'a1', name: 'Ann', region: 0 }, // East
  { id: 'a2', name: 'Bob', region: 1 }, // West
  { id: 'a3', name: 'Cy', region: 1 }, // West
  { id: 'zz9', name: null, region: -1 }, // unknown agent
];
function call(day, agent, issue, dur, rating, resolution, extra) {
  return Object.assign({ day, agent, issue, hour: 9, dur, rating, resolution, repeated: false },
    extra || {});
}
const CALLS = [
  // reporting period used below: 2026-01-15..2026-01-20 (6 days); previous 01-09..01-14
  call('2026-01-15', 0, 'billing', 10.25, 5, 'resolved', { repeated: true }),
  call('2026-01-15', 1, 'billing', 4.5, 4, 'resolved'),
  call('2026-01-16', 1, 'technical', 41.0, 2, 'escalated', { hour: 23 }),
  call('2026-01-18', 2, '', 3.0, null, 'unresolved'),
  call('2026-01-20', 3, 'billing', 6.0, 3, 'resolved', { hour: 0 }),
  // previous period
  call('2026-01-09', 0, 'technical', 8.0, 1, 'escalated'),
  call('2026-01-12', 1, 'billing', 2.0, null, 'resolved'),
  // earlier
  call('2026-01-01', 2, 'billing', 5.55, 4, 'resolved'),
  call('2026-01-03', 0, 'billing', 1.0, 5, 'resolved'),
];
const PAYLOAD = makePayload({
  first: '2026-01-01', last: '2026-01-20', regions: ['East', 'West'],
  issues: ['', 'billing', 'technical'], resolutions: ['escalated', 'resolved', 'unresolved'],
  agents: AGENTS, calls: CALLS,
});
const PERIOD = { from: '2026-01-15', to: '2026-01-20' };
let modelPromise;
function model() {
  modelPromise = modelPromise || S.decode(PAYLOAD);
  return modelPromise;
}
function sel(extra) {
  return Object.assign({ regions: null, issues: null }, PERIOD, extra || {});
}
const close = (a, b) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

// --- decode ---------------------------------------------------------------------------------
test('decode refuses a payload of another format or version', async () => {
  await assert.rejects(S.decode({ format: 'other', version: 1 }), /not support-analytics-slices/);
  await assert.rejects(S.decode(Object.assign({}, PAYLOAD, { version: 99 })), /version 1/);
  await assert.rejects(S.decode(null), /not support-analytics-slices/);
});

test('decode reads every width the payload writer uses', async () => {
  const wide = makePayload({
    first: '2026-01-01', last: '2026-01-01', regions: ['R'], issues: ['x'],
    resolutions: ['resolved'], agents: [{ id: 'a', name: 'A', region: 0 }],
    calls: Array.from({ length: 300 }, () => call('2026-01-01', 0, 'x', 999.99, 5, 'resolved')),
  });
  const m = await S.decode(wide);
  const r = S.compute(m, { regions: null, issues: null, from: '2026-01-01', to: '2026-01-01' });
  assert.equal(r.kpis.calls.current, 300); // u16 column
  close(r.kpis.aht.current, 999.99); // 29,999,700 hundredths: a u32 column
});

test('decode reports a damaged payload instead of computing garbage', async () => {
  const broken = Object.assign({}, PAYLOAD, {
    columns: PAYLOAD.columns.map((c) => Object.assign({}, c, { offset: c.offset + 1e6 })),
  });
  await assert.rejects(S.decode(broken), /damaged/);
});

// --- KPIs -----------------------------------------------------------------------------------
test('KPIs of the period, all regions and issues, unknown agents included', async () => {
  const r = S.compute(await model(), sel());
  const k = r.kpis;
  assert.equal(k.calls.current, 5);
  close(k.aht.current, (10.25 + 4.5 + 41 + 3 + 6) / 5);
  close(k.csat.current, (5 + 4 + 2 + 3) / 4);
  close(k.csat_good_share.current, 2 / 4);
  close(k.resolution_rate.current, 3 / 5);
  close(k.escalation_rate.current, 1 / 5);
  close(k.repeat_rate.current, 1 / 5);
  close(k.fcr.current, 2 / 5); // the first call was resolved but repeated
  assert.equal(r.totals.current.rated_calls, 4);
  assert.equal(r.totals.current.escalations, 1);
  assert.deepEqual(r.period, { from: '2026-01-15', to: '2026-01-20', days: 6 });
  assert.deepEqual(r.previous_period, { from: '2026-01-09', to: '2026-01-14',
    coverage: 'full' });
  assert.equal(r.empty, false);
});

test('previous period, deltas and whether the change is good', async () => {
  const k = S.compute(await model(), sel()).kpis;
  assert.equal(k.calls.previous, 2);
  assert.equal(k.calls.delta, 3);
  close(k.calls.delta_pct, 1.5);
  assert.equal(k.calls.good, null); // volume is neutral
  close(k.aht.previous, 5);
  close(k.aht.delta, 64.75 / 5 - 5);
  assert.equal(k.aht.good, false); // longer calls are worse
  assert.equal(k.csat.previous, 1); // one rated call
  assert.equal(k.csat.good, true);
  close(k.escalation_rate.previous, 0.5);
  assert.equal(k.escalation_rate.good, true); // fewer escalations
});

test('a previous period partly or wholly before the data is not compared with', async () => {
  const m = await model(); // the data starts 2026-01-01
  const partly = S.compute(m, sel({ from: '2026-01-03', to: '2026-01-08' }));
  assert.deepEqual(partly.previous_period,
    { from: '2025-12-28', to: '2026-01-02', coverage: 'partial' });
  assert.equal(partly.kpis.calls.current, 1);
  assert.equal(partly.kpis.calls.previous, 1); // one day of it holds data: 01-01
  for (const key of S.KPI_KEYS) {
    const k = partly.kpis[key];
    assert.equal(k.coverage, 'partial', key);
    assert.equal(k.delta, null, key);
    assert.equal(k.delta_pct, null, key);
    assert.equal(k.good, null, key); // no colour
  }
  const none = S.compute(m, sel({ from: '2026-01-01', to: '2026-01-20' }));
  assert.equal(none.previous_period.coverage, 'none');
  assert.equal(none.kpis.calls.delta, null);
  // the first full previous period: it starts on the data's first day
  const full = S.compute(m, sel({ from: '2026-01-04', to: '2026-01-06' }));
  assert.equal(full.previous_period.coverage, 'full');
  assert.equal(full.kpis.calls.delta, -2);
});

test('a region filter leaves out calls of unknown agents; all regions keeps them', async () => {
  const m = await model();
  const west = S.compute(m, sel({ regions: ['West'] })).kpis;
  assert.equal(west.calls.current, 3);
  const both = S.compute(m, sel({ regions: ['East', 'West'] })).kpis;
  assert.equal(both.calls.current, 4); // zz9 has no region
  assert.equal(S.compute(m, sel()).kpis.calls.current, 5);
});

test('an issue filter, with the blank name for calls without an issue type', async () => {
  const m = await model();
  assert.equal(S.compute(m, sel({ issues: ['billing'] })).kpis.calls.current, 3);
  assert.equal(S.compute(m, sel({ issues: [''] })).kpis.calls.current, 1);
  const r = S.compute(m, sel({ issues: ['technical'], regions: ['West'] }));
  assert.equal(r.kpis.calls.current, 1);
  assert.equal(r.kpis.escalation_rate.current, 1);
});

test('an empty or unknown selection has no calls and no rates, never an error', async () => {
  const m = await model();
  for (const s of [sel({ regions: [] }), sel({ issues: [] }), sel({ regions: ['Nowhere'] })]) {
    const r = S.compute(m, s);
    assert.equal(r.empty, true);
    assert.equal(r.kpis.calls.current, 0);
    for (const key of S.KPI_KEYS.slice(1)) {
      assert.equal(r.kpis[key].current, null, key);
      assert.equal(r.kpis[key].delta, null, key);
      assert.equal(r.kpis[key].good, null, key);
    }
    assert.deepEqual(r.leaderboard, []);
    assert.deepEqual(r.regions, []);
    assert.equal(r.heatmap.flat().reduce((a, b) => a + b, 0), 0);
  }
});

test('compute refuses a start after the end, like metrics.segment', async () => {
  const m = await model();
  assert.throws(() => S.compute(m, sel({ from: '2026-01-20', to: '2026-01-01' })), /after/);
  assert.throws(() => S.compute(m, sel({ from: 'yesterday' })), /YYYY-MM-DD/);
  assert.throws(() => S.compute(m, sel({ regions: 'East' })), /array/);
});

// --- charts ---------------------------------------------------------------------------------
test('daily volume: a day without any call is a gap, a quiet day in the selection is 0',
  async () => {
    const d = S.compute(await model(), sel({ regions: ['East'] })).daily;
    assert.equal(d.dates.length, 20);
    assert.equal(d.dates[0], '2026-01-01');
    const at = (day) => d.dates.indexOf(day);
    assert.equal(d.calls[at('2026-01-10')], null); // nobody called that day
    assert.equal(d.avg_7d[at('2026-01-10')], null);
    assert.equal(d.calls[at('2026-01-01')], 0); // only West called
    assert.equal(d.calls[at('2026-01-03')], 1);
    // 01-09..01-15 has data on 01-09, 01-12 and 01-15 only; East called on 01-09 and 01-15.
    close(d.avg_7d[at('2026-01-15')], 2 / 3);
    assert.equal(d.calls[at('2026-01-12')], 0);
    assert.deepEqual(d.in_period.map((v, i) => (v ? d.dates[i] : null)).filter(Boolean),
      ['2026-01-15', '2026-01-16', '2026-01-17', '2026-01-18', '2026-01-19', '2026-01-20']);
  });

test('daily volume extends to a period beyond the data, as gaps', async () => {
  const d = S.compute(await model(), sel({ from: '2025-12-30', to: '2026-01-22' })).daily;
  assert.equal(d.dates[0], '2025-12-30');
  assert.equal(d.dates[d.dates.length - 1], '2026-01-22');
  assert.deepEqual(d.calls.slice(0, 3), [null, null, 1]);
  assert.deepEqual(d.calls.slice(-2), [null, null]);
});

test('hour x weekday grid: Monday is row 0, hours in UTC', async () => {
  const h = S.compute(await model(), sel()).heatmap;
  assert.equal(h.length, 7);
  assert.ok(h.every((row) => row.length === 24));
  assert.equal(h[3][9], 2); // 2026-01-15 is a Thursday: two calls at 9
  assert.equal(h[4][23], 1); // Friday 01-16 at 23
  assert.equal(h[6][9], 1); // Sunday 01-18
  assert.equal(h[1][0], 1); // Tuesday 01-20 at midnight
});

test('duration histogram: 2-minute bins, 40 minutes and more in the open last bin', async () => {
  const rows = S.compute(await model(), sel()).duration;
  assert.deepEqual(rows, [
    { issue_type: '', bin_start: 2, bin_end: 4, calls: 1 },
    { issue_type: 'billing', bin_start: 4, bin_end: 6, calls: 1 },
    { issue_type: 'billing', bin_start: 6, bin_end: 8, calls: 1 },
    { issue_type: 'billing', bin_start: 10, bin_end: 12, calls: 1 },
    { issue_type: 'technical', bin_start: 40, bin_end: null, calls: 1 },
  ]);
});

test('issue x resolution: biggest issue first, then by name', async () => {
  const rows = S.compute(await model(), sel()).issues;
  assert.deepEqual(rows.map((r) => [r.issue_type, r.resolution, r.calls, r.issue_calls]), [
    ['billing', 'resolved', 3, 3],
    ['', 'unresolved', 1, 1],
    ['technical', 'escalated', 1, 1],
  ]);
});

test('region comparison: the selected regions with calls, busiest first', async () => {
  const m = await model();
  const all = S.compute(m, sel()).regions;
  assert.deepEqual(all.map((r) => [r.region, r.calls]), [['West', 3], ['East', 1]]);
  close(all[0].aht, (4.5 + 41 + 3) / 3);
  const west = S.compute(m, sel({ regions: ['West'] })).regions;
  assert.deepEqual(west.map((r) => r.region), ['West']);
});

test('leaderboard: busiest first, ties by agent id, unknown agent without region',
  async () => {
    const rows = S.compute(await model(), sel()).leaderboard;
    assert.deepEqual(rows.map((r) => [r.agent_id, r.calls]),
      [['a2', 2], ['a1', 1], ['a3', 1], ['zz9', 1]]);
    const zz = rows[3];
    assert.equal(zz.region, null);
    assert.equal(zz.agent_name, null);
    assert.deepEqual(S.leaderboardDisplay(zz), {
      'Agent': 'zz9', 'Region': 'Unknown', 'Calls': 1, 'AHT (min)': 6, 'CSAT': 3,
      'Resolution %': 100, 'FCR %': 100, 'Escalations': 0,
    });
    const a3 = S.leaderboardDisplay(rows[2]);
    assert.equal(a3.CSAT, null); // no rated call: shown empty, not 0
  });

// --- presets --------------------------------------------------------------------------------
test('presets are relative to the data\'s last day', async () => {
  const m = await model();
  const byName = Object.fromEntries(S.presets(m).map((p) => [p.name, [p.from, p.to]]));
  assert.deepEqual(byName, {
    last_7_days: ['2026-01-14', '2026-01-20'],
    last_28_days: ['2025-12-24', '2026-01-20'],
    last_90_days: ['2025-10-23', '2026-01-20'],
    quarter_to_date: ['2026-01-01', '2026-01-20'],
    year_to_date: ['2026-01-01', '2026-01-20'],
    all_data: ['2026-01-01', '2026-01-20'],
  });
  assert.equal(S.resolvePreset('last_week', m), null);
  assert.equal(S.resolvePreset('__proto__', m), null);
  const d = S.defaultSelection(m);
  assert.deepEqual(d, { regions: null, issues: null, from: '2025-12-24', to: '2026-01-20',
    preset: 'last_28_days' });
});

test('quarter to date starts on the quarter\'s first day', async () => {
  const p = makePayload({ first: '2025-11-30', last: '2026-08-15', regions: ['R'],
    issues: ['x'], resolutions: ['resolved'], agents: [{ id: 'a', name: 'A', region: 0 }],
    calls: [call('2025-11-30', 0, 'x', 1, 5, 'resolved'),
      call('2026-08-15', 0, 'x', 1, 5, 'resolved')] });
  const m = await S.decode(p);
  assert.deepEqual(S.resolvePreset('quarter_to_date', m), { from: '2026-07-01', to: '2026-08-15' });
  assert.deepEqual(S.resolvePreset('year_to_date', m), { from: '2026-01-01', to: '2026-08-15' });
  assert.deepEqual(S.resolvePreset('all_data', m), { from: '2025-11-30', to: '2026-08-15' });
});

// --- the URL fragment ------------------------------------------------------------------------
test('the default selection is the empty fragment, and back', async () => {
  const m = await model();
  assert.equal(S.formatFragment(S.defaultSelection(m), m), '');
  for (const hash of ['', '#', null, undefined, 42, '#&&==&', '#=x']) {
    assert.deepEqual(S.parseFragment(hash, m), S.defaultSelection(m), String(hash));
  }
});

test('a default period set by the page is the empty fragment and what Reset means', async () => {
  const m = await S.decode(PAYLOAD); // its own model: the shared one keeps the 28 days
  assert.equal(S.setDefaultPeriod(m, { from: '2026-01-20', to: '2026-01-01' }), false);
  assert.equal(S.setDefaultPeriod(m, { from: '2026-02-30', to: '2026-03-01' }), false);
  assert.equal(S.setDefaultPeriod(m, null), false);
  assert.equal(S.defaultSelection(m).preset, 'last_28_days'); // nothing changed
  assert.equal(S.setDefaultPeriod(m, { from: '2026-01-05', to: '2026-01-12' }), true);
  const d = S.defaultSelection(m);
  assert.deepEqual(d, { regions: null, issues: null, from: '2026-01-05', to: '2026-01-12',
    preset: null }); // a custom range
  assert.equal(S.formatFragment(d, m), '');
  assert.deepEqual(S.parseFragment('', m), d);
  // the last 28 days are no longer the default: their link says so
  const month = Object.assign({}, d, S.resolvePreset('last_28_days', m), { preset: 'last_28_days' });
  assert.equal(S.formatFragment(month, m), '#period=last_28_days');
  assert.deepEqual(S.parseFragment('#period=last_28_days', m), month);
  // a default that is a preset's range reads as that preset
  S.setDefaultPeriod(m, S.resolvePreset('last_7_days', m));
  assert.equal(S.defaultSelection(m).preset, 'last_7_days');
});

test('the documented example parses', async () => {
  const p = makePayload({ first: '2026-01-01', last: '2026-03-31',
    regions: ['Asia Pacific', 'Europe', 'North'], issues: ['billing', 'technical'],
    resolutions: ['resolved'], agents: [{ id: 'a', name: 'A', region: 0 }],
    calls: [call('2026-01-01', 0, 'billing', 1, 5, 'resolved'),
      call('2026-03-31', 0, 'billing', 1, 5, 'resolved')] });
  const m = await S.decode(p);
  const hash = '#region=Europe,Asia%20Pacific&issue=billing&from=2026-03-01&to=2026-03-28';
  assert.deepEqual(S.parseFragment(hash, m), { regions: ['Asia Pacific', 'Europe'],
    issues: ['billing'], from: '2026-03-01', to: '2026-03-28', preset: null });
  assert.equal(S.formatFragment(S.parseFragment(hash, m), m),
    '#region=Asia%20Pacific,Europe&issue=billing&from=2026-03-01&to=2026-03-28');
});

test('hostile or malformed fragment values are ignored, never thrown', async () => {
  const m = await model();
  const def = S.defaultSelection(m);
  const cases = [
    '#region=<img src=x onerror=alert(1)>',
    '#region=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E',
    '#region=%E0%A4%A',
    '#issue=%',
    '#region=__proto__&issue=constructor',
    '#from=2026-01-20&to=2026-01-01', // from after to
    '#from=2026-02-30&to=2026-03-01', // no such day
    '#from=1900-01-01&to=2026-01-05', // far outside the data
    '#from=2026-01-05', // half a range
    '#period=last_century',
    '#region=East&region=West', // the first one wins
  ];
  for (const hash of cases) {
    let got;
    assert.doesNotThrow(() => { got = S.parseFragment(hash, m); }, hash);
    if (hash.includes('region=East')) {
      assert.deepEqual(got.regions, ['East']);
      continue;
    }
    assert.deepEqual(got, def, hash);
  }
  const mixed = S.parseFragment('#region=West,%E0%A4%A,Mars,<b>&issue=billing,nope', m);
  assert.deepEqual(mixed.regions, ['West']);
  assert.deepEqual(mixed.issues, ['billing']);
});

test('an empty value selects nothing; a bare ~ is the blank issue name', async () => {
  const m = await model();
  assert.deepEqual(S.parseFragment('#region=', m).regions, []);
  assert.deepEqual(S.parseFragment('#issue=~', m).issues, ['']);
  assert.deepEqual(S.parseFragment('#issue=~,billing', m).issues, ['', 'billing']);
  const s = Object.assign(S.defaultSelection(m), { regions: [], issues: [''] });
  assert.equal(S.formatFragment(s, m), '#region=&issue=~');
  assert.deepEqual(S.parseFragment(S.formatFragment(s, m), m), s);
});

test('names with commas, ampersands, tildes and markup survive the round trip', async () => {
  const regions = ['A, B & C', '~tilde', '<img src=x onerror=alert(1)>', 'Zürich #1', '😀'];
  const p = makePayload({ first: '2026-01-01', last: '2026-01-31', regions, issues: ['x=y'],
    resolutions: ['resolved'], agents: [{ id: 'a', name: 'A', region: 0 }],
    calls: [call('2026-01-02', 0, 'x=y', 1, 5, 'resolved')] });
  const m = await S.decode(p);
  const s = { regions: regions.slice(0, 4), issues: ['x=y'], from: '2026-01-03',
    to: '2026-01-09', preset: null };
  const hash = S.formatFragment(s, m);
  assert.ok(!/[<>& ]/.test(hash.replace(/&(region|issue|from|to)=/g, '')), hash);
  const back = S.parseFragment(hash, m);
  assert.deepEqual(back.regions.slice().sort(), s.regions.slice().sort());
  assert.deepEqual(back.issues, ['x=y']);
  assert.deepEqual([back.from, back.to, back.preset], ['2026-01-03', '2026-01-09', null]);
});

test('presets travel as period=name; a custom range equal to a preset is recognised',
  async () => {
    const m = await model();
    const week = Object.assign(S.defaultSelection(m), S.resolvePreset('last_7_days', m),
      { preset: 'last_7_days' });
    assert.equal(S.formatFragment(week, m), '#period=last_7_days');
    assert.deepEqual(S.parseFragment('#period=last_7_days', m), week);
    assert.equal(S.parseFragment('#from=2026-01-14&to=2026-01-20', m).preset, 'last_7_days');
  });

test('random selections round-trip through the fragment', async () => {
  const m = await model();
  let seed = 12;
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const pick = (pool) => (rand() < 0.3 ? null : pool.filter(() => rand() < 0.5));
  for (let i = 0; i < 200; i++) {
    const from = 20454 + Math.floor(rand() * 30); // around 2026-01
    const to = from + Math.floor(rand() * 20);
    const s = { regions: pick(m.regions), issues: pick(m.issues),
      from: new Date(from * 864e5).toISOString().slice(0, 10),
      to: new Date(to * 864e5).toISOString().slice(0, 10), preset: null };
    const back = S.parseFragment(S.formatFragment(s, m), m);
    assert.deepEqual(back.regions, s.regions === null ? null : s.regions.slice().sort());
    assert.deepEqual(back.issues, s.issues === null ? null : s.issues.slice().sort());
    assert.deepEqual([back.from, back.to], [s.from, s.to]);
  }
});

// --- number formats ---------------------------------------------------------------------------
test('formatFixed rounds like Python\'s format: exact ties to even', () => {
  assert.equal(S.formatFixed(0.125, 2), '0.12'); // toFixed gives 0.13
  assert.equal(S.formatFixed(0.375, 2), '0.38');
  assert.equal(S.formatFixed(12.25, 1), '12.2');
  assert.equal(S.formatFixed(12.75, 1), '12.8');
  assert.equal(S.formatFixed(2.5, 0), '2');
  assert.equal(S.formatFixed(0.15, 1), '0.1'); // 0.15 is a little below, not a tie
  assert.equal(S.formatFixed(1.005, 2), '1.00');
  assert.equal(S.formatFixed(-0.04, 1), '-0.0');
  assert.equal(S.formatFixed(1234.5678, 1), '1234.6');
});

test('roundHalfEven is numpy.round: scale, round half to even, unscale', () => {
  assert.equal(S.roundHalfEven(0.125, 2), 0.12);
  assert.equal(S.roundHalfEven(2.675, 2), 2.68); // 2.675 * 100 is 267.5: numpy says 2.68
  assert.equal(S.roundHalfEven(0.285, 2), 0.28); // 28.499999999999996 after scaling
  assert.equal(S.roundHalfEven(0.5, 0), 0);
  assert.equal(S.roundHalfEven(1.5, 0), 2);
  assert.equal(S.roundHalfEven(-2.5, 0), -2);
  assert.equal(S.roundHalfEven(null, 1), null);
});

test('value boxes and deltas read as labels.fmt_kpi / fmt_delta write them', () => {
  assert.equal(S.fmtKpi('calls', 1234567), '1,234,567');
  assert.equal(S.fmtKpi('aht', 9.25), '9.2 min');
  assert.equal(S.fmtKpi('csat', 3.125), '3.12 / 5');
  assert.equal(S.fmtKpi('fcr', 0.5925), '59.2%');
  assert.equal(S.fmtKpi('fcr', null), '\u2013');
  assert.equal(S.fmtKpi('calls', null), '\u2013');
  assert.equal(S.fmtDelta('calls', 64, 64 / 731), '\u25b2 64 (8.8%)');
  assert.equal(S.fmtDelta('calls', -3, null), '\u25bc 3');
  assert.equal(S.fmtDelta('aht', -0.25, null), '\u25bc 0.2 min');
  assert.equal(S.fmtDelta('csat', 0, 0), '= 0.00');
  assert.equal(S.fmtDelta('escalation_rate', 0.013, 0.1), '\u25b2 1.3 pp');
  assert.equal(S.fmtDelta('fcr', null, null), 'no previous data');
  assert.equal(S.fmtDelta('calls', 203, 50.75, 'partial'), 'previous period partly before the data');
  assert.equal(S.fmtDelta('aht', null, null, 'none'), 'no data before this period');
});

test('text sorts by code point, as DuckDB sorts UTF-8 bytes; null last', () => {
  const names = ['b', null, 'B', '\uffff', '\u{1F600}', 'a', 'É'];
  assert.deepEqual(names.slice().sort(S.compareText),
    ['B', 'a', 'b', 'É', '\uffff', '\u{1F600}', null]);
  assert.equal(S.compareText('ab', 'a'), 1);
  assert.equal(S.compareText('a', 'ab'), -1);
});
