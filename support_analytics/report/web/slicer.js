/*
 * SupportSlicer: the overview's numbers for any selection, recomputed in the page.
 *
 * The payload is built by support_analytics/report/slices.py (build_slice_data): cells of integer
 * sums keyed by day x agent x issue (and day x region/issue group x hour, duration bin or
 * resolution). Every number here is a sum over the cells a selection covers, or the same
 * IEEE division of two such sums that support_analytics/report/metrics/ performs in DuckDB, so the
 * page shows what metrics shows for the same selection.
 *
 * A plain classic script (module scripts are blocked on file://) with no dependencies: it
 * defines the global SupportSlicer in a browser and module.exports under node. No DOM.
 *
 *   decode(payload) -> Promise<model>      inflate the arrays (DecompressionStream, no network)
 *   compute(model, selection) -> result    every number of the overview for a selection
 *   presets(model), resolvePreset(name, model), defaultSelection(model)
 *   parseFragment(hash, model), formatFragment(selection, model)
 *   fmtKpi, fmtDelta, formatFixed, roundHalfEven, leaderboardDisplay: the page's number formats
 *     (labels.fmt_kpi / fmt_delta and charts.leaderboard_frame, digit for digit)
 *
 * A selection is {regions: string[]|null, issues: string[]|null, from: 'YYYY-MM-DD',
 * to: 'YYYY-MM-DD', preset: name|null}. null means "all" (for regions that includes calls of
 * unknown agents, which have no region); [] selects nothing. The blank issue name '' stands
 * for calls without an issue type. from..to is inclusive; the previous period is the same
 * number of days just before it, compared with only when it lies wholly inside the data
 * (result.previous_period.coverage: 'full', 'partial' or 'none').
 *
 * URL fragment format (what formatFragment writes and parseFragment reads):
 *
 *   #region=Europe,Asia%20Pacific&issue=billing&from=2026-03-01&to=2026-03-28
 *   #period=last_7_days
 *
 * - Keys: region, issue, from, to, period; key=value pairs joined by '&'.
 * - region / issue: names joined by ','; each name is encodeURIComponent(name) with '~' also
 *   escaped (%7E), so ',', '&', '=' and '#' inside names are always escaped. A bare '~' is the
 *   blank name ''. An empty value ('region=') selects nothing; a missing key selects all.
 * - from / to: an inclusive custom range (both required, from <= to, valid calendar dates
 *   within a year of the data). period: one of PRESETS; the default preset is not written.
 * - The default selection (all regions, all issues, the default period: the last 28 days, or
 *   the range the page set with setDefaultPeriod) is the empty fragment; a preset or range
 *   other than the default is always written, also period=last_28_days.
 * - Anything unknown or malformed (unknown keys or names, bad escapes such as %E0%A4%A, a
 *   'from' after 'to', hostile text such as <img src=x onerror=alert(1)>) is ignored and the
 *   default used for that part; parseFragment never throws and only ever returns names that
 *   exist in the data (they are still data: the page must show them as text).
 */
(function (root, factory) {
  'use strict';
  var api = factory();
  if (typeof module === 'object' && module.exports) {
    module.exports = api;
  } else {
    root.SupportSlicer = api;
  }
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  var FORMAT = 'support-analytics-slices';
  var VERSION = 1;
  var KPI_KEYS = ['calls', 'aht', 'csat', 'csat_good_share', 'resolution_rate', 'fcr',
    'repeat_rate', 'escalation_rate'];
  var PRESETS = ['last_7_days', 'last_28_days', 'last_90_days', 'quarter_to_date',
    'year_to_date', 'all_data'];
  var PRESET_LABELS = {
    last_7_days: 'Last 7 days',
    last_28_days: 'Last 28 days',
    last_90_days: 'Last 90 days',
    quarter_to_date: 'Quarter to date',
    year_to_date: 'Year to date',
    all_data: 'All data'
  };
  var DEFAULT_PRESET = 'last_28_days';
  var MISSING = '\u2013';
  var PARTLY_BEFORE = 'previous period partly before the data';
  var NONE_BEFORE = 'no data before this period';
  var DAY_MS = 86400000;
  var FRAGMENT_SLACK_DAYS = 366;
  var DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

  // ------------------------------------------------------------------------------------------
  // Dates as day numbers (days since 1970-01-01, UTC): no time zones involved.
  // ------------------------------------------------------------------------------------------
  function parseDay(text) {
    if (typeof text !== 'string') return null;
    var m = DATE_RE.exec(text);
    if (!m) return null;
    var y = +m[1], mo = +m[2], d = +m[3];
    var ms = Date.UTC(y, mo - 1, d);
    var back = new Date(ms);
    if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) {
      return null;
    }
    return Math.round(ms / DAY_MS);
  }

  function dayString(dn) {
    return new Date(dn * DAY_MS).toISOString().slice(0, 10);
  }

  function weekday(dn) {
    return (((dn + 3) % 7) + 7) % 7; // 1970-01-01 was a Thursday; Monday = 0 as isodow - 1
  }

  /** Code-point order, as DuckDB sorts strings (byte order of UTF-8); null last. */
  function compareText(a, b) {
    if (a === b) return 0;
    if (a === null || a === undefined) return 1;
    if (b === null || b === undefined) return -1;
    var i = 0, j = 0;
    while (i < a.length && j < b.length) {
      var ca = a.codePointAt(i), cb = b.codePointAt(j);
      if (ca !== cb) return ca < cb ? -1 : 1;
      i += ca > 0xffff ? 2 : 1;
      j += cb > 0xffff ? 2 : 1;
    }
    if (i < a.length) return 1;
    return j < b.length ? -1 : 0;
  }

  // ------------------------------------------------------------------------------------------
  // Decoding
  // ------------------------------------------------------------------------------------------
  function base64Bytes(text) {
    if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(text);
    if (typeof Buffer === 'function' && typeof Buffer.from === 'function') {
      return new Uint8Array(Buffer.from(text, 'base64')); // node: much faster than atob
    }
    if (typeof atob === 'function') {
      var bin = atob(text);
      var out = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
      return out;
    }
    throw new Error('no base64 decoder (atob) in this environment');
  }

  function gunzip(bytes) {
    if (typeof DecompressionStream !== 'function') {
      return Promise.reject(new Error('this browser cannot inflate the page data ' +
        '(DecompressionStream is missing); use a current Chrome, Edge, Firefox or Safari'));
    }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Response(stream).arrayBuffer().then(function (buf) {
      return new Uint8Array(buf);
    });
  }

  var WIDTH = { u8: 1, u16: 2, u32: 4, f64: 8 };

  function column(bytes, spec) {
    var n = spec.length, off = spec.offset, w = WIDTH[spec.dtype];
    if (!w || off + n * w > bytes.length) {
      throw new Error('page data is damaged: column ' + spec.cube + '.' + spec.name);
    }
    var i;
    if (w === 1) return bytes.slice(off, off + n);
    if (w === 2) {
      var a16 = new Uint16Array(n);
      for (i = 0; i < n; i++) a16[i] = bytes[off + i] | (bytes[off + n + i] << 8);
      return a16;
    }
    if (w === 4) {
      var a32 = new Uint32Array(n);
      for (i = 0; i < n; i++) {
        a32[i] = (bytes[off + i] | (bytes[off + n + i] << 8) | (bytes[off + 2 * n + i] << 16) |
          (bytes[off + 3 * n + i] << 24)) >>> 0;
      }
      return a32;
    }
    var view = new DataView(new ArrayBuffer(8 * n));
    for (i = 0; i < n; i++) {
      for (var b = 0; b < 8; b++) view.setUint8(8 * i + b, bytes[off + b * n + i]);
    }
    var f64 = new Float64Array(n);
    for (i = 0; i < n; i++) f64[i] = view.getFloat64(8 * i, true);
    return f64;
  }

  function startsFromCounts(counts) {
    var start = new Uint32Array(counts.length + 1);
    for (var d = 0; d < counts.length; d++) start[d + 1] = start[d] + counts[d];
    return start;
  }

  /** Inflate a payload into the model compute() reads. Rejects a payload of another format. */
  function decode(payload) {
    if (!payload || payload.format !== FORMAT || payload.version !== VERSION) {
      return Promise.reject(new Error('page data is not ' + FORMAT + ' version ' + VERSION));
    }
    return gunzip(base64Bytes(payload.blob)).then(function (bytes) {
      return buildModel(payload, bytes);
    });
  }

  function buildModel(p, bytes) {
    var cubes = {};
    p.columns.forEach(function (spec) {
      cubes[spec.cube] = cubes[spec.cube] || {};
      cubes[spec.cube][spec.name] = column(bytes, spec);
    });
    var firstDay = p.first_day ? parseDay(p.first_day) : null;
    var lastDay = p.last_day ? parseDay(p.last_day) : null;
    var nR = p.regions.length, nI = p.issues.length;
    var agentRegion = new Int32Array(p.agents.region.length);
    for (var a = 0; a < agentRegion.length; a++) {
      var r = p.agents.region[a];
      agentRegion[a] = r < 0 ? nR : r; // nR: the "no region" slot, as in the group index
    }
    var model = {
      firstDay: firstDay,
      lastDay: lastDay,
      days: p.days,
      defaultEnd: parseDay(p.default_end),
      regions: p.regions.slice(),
      issues: p.issues.slice(),
      resolutions: p.resolutions.slice(),
      agents: { id: p.agents.id.slice(), name: p.agents.name.slice(), region: agentRegion },
      binWidth: p.duration_bins.width,
      lastBin: p.duration_bins.last,
      measures: p.agent_measures.slice(),
      directions: p.kpi_directions,
      calls: p.calls,
      cubes: {}
    };
    if (firstDay === null) return model;
    ['agent', 'hour', 'duration', 'resolution'].forEach(function (name) {
      var c = cubes[name];
      if (!c || !c.day_cells || c.day_cells.length !== p.days) {
        throw new Error('page data is damaged: cube ' + name);
      }
      c.start = startsFromCounts(c.day_cells);
      model.cubes[name] = c;
    });
    var m = model.cubes.agent;
    m.values = model.measures.map(function (k) { return m[k]; });
    return model;
  }

  // ------------------------------------------------------------------------------------------
  // Selection
  // ------------------------------------------------------------------------------------------
  function indexMask(names, wanted, extraSlot) {
    var mask = new Uint8Array(names.length + (extraSlot ? 1 : 0));
    if (wanted === null || wanted === undefined) {
      mask.fill(1);
      return mask;
    }
    var pos = {};
    names.forEach(function (n, i) { pos['\u0000' + n] = i; });
    wanted.forEach(function (n) {
      var i = pos['\u0000' + n];
      if (i !== undefined) mask[i] = 1;
    });
    return mask;
  }

  function masks(model, sel) {
    var region = indexMask(model.regions, sel.regions, true);
    var issue = indexMask(model.issues, sel.issues, false);
    var nI = model.issues.length;
    var group = new Uint8Array((model.regions.length + 1) * nI);
    for (var g = 0; g < group.length; g++) group[g] = region[Math.floor(g / nI)] & issue[g % nI];
    var agent = new Uint8Array(model.agents.region.length);
    for (var a = 0; a < agent.length; a++) agent[a] = region[model.agents.region[a]];
    return { region: region, issue: issue, group: group, agent: agent };
  }

  /** The cell range [lo, hi) of a cube for the inclusive day numbers [from, to]. */
  function cellRange(model, cube, from, to) {
    var d0 = Math.max(from - model.firstDay, 0);
    var d1 = Math.min(to - model.firstDay, model.days - 1);
    if (d1 < d0) return [0, 0];
    return [cube.start[d0], cube.start[d1 + 1]];
  }

  // ------------------------------------------------------------------------------------------
  // KPIs, exactly as metrics.kpi_select / kpi_row
  // ------------------------------------------------------------------------------------------
  function kpiRow(t) {
    // t: calls, duration_cs, rated, rating_sum, rating_good, resolved, escalated, repeated, fcr
    var calls = t[0], rated = t[2];
    var row = { calls: calls, rated_calls: rated, escalations: t[6] };
    var none = calls === 0;
    row.aht = none ? null : t[1] / (100 * calls);
    row.csat = none || rated === 0 ? null : t[3] / rated;
    row.csat_good_share = none || rated === 0 ? null : t[4] / rated;
    row.resolution_rate = none ? null : t[5] / calls;
    row.fcr = none ? null : t[8] / calls;
    row.repeat_rate = none ? null : t[7] / calls;
    row.escalation_rate = none ? null : t[6] / calls;
    return row;
  }

  /** How much of the previous period [from, to] lies inside the data: 'full', 'partial' (it
   *  starts before the data's first day) or 'none' (it ends before it, or there is no data).
   *  Only a full previous period is compared with (metrics.kpis.previous_coverage). */
  function previousCoverage(model, from, to) {
    if (model.firstDay === null || to < model.firstDay) return 'none';
    return from < model.firstDay ? 'partial' : 'full';
  }

  function comparison(model, key, current, previous, coverage) {
    var comparable = coverage === 'full';
    var delta = !comparable || current === null || previous === null ? null : current - previous;
    var deltaPct = delta === null || !previous ? null : delta / previous;
    var direction = model.directions ? model.directions[key] : null;
    var good = null;
    if (direction !== null && direction !== undefined && delta !== null &&
        Math.abs(delta) >= 1e-12) {
      good = (delta > 0) === direction;
    }
    return { key: key, current: current, previous: previous, delta: delta,
      delta_pct: deltaPct, good: good, coverage: coverage };
  }

  function sumKpis(model, mk, from, to) {
    var t = new Float64Array(9);
    if (model.firstDay === null) return t;
    var c = model.cubes.agent, vals = c.values, nm = vals.length;
    var r = cellRange(model, c, from, to);
    for (var i = r[0]; i < r[1]; i++) {
      if (mk.agent[c.agent[i]] && mk.issue[c.issue[i]]) {
        for (var k = 0; k < nm; k++) t[k] += vals[k][i];
      }
    }
    return t;
  }

  /** Per-key totals (Float64Array of the 9 measures) over the period, for agents or regions. */
  function groupedTotals(model, mk, from, to, byRegion) {
    var c = model.cubes.agent, vals = c.values, nm = vals.length;
    var size = byRegion ? model.regions.length + 1 : model.agents.region.length;
    var acc = new Float64Array(size * nm);
    var r = cellRange(model, c, from, to);
    var agentRegion = model.agents.region;
    for (var i = r[0]; i < r[1]; i++) {
      var a = c.agent[i];
      if (mk.agent[a] && mk.issue[c.issue[i]]) {
        var base = (byRegion ? agentRegion[a] : a) * nm;
        for (var k = 0; k < nm; k++) acc[base + k] += vals[k][i];
      }
    }
    return { acc: acc, size: size, nm: nm };
  }

  function totalsAt(g, index) {
    return g.acc.subarray(index * g.nm, (index + 1) * g.nm);
  }

  // ------------------------------------------------------------------------------------------
  // compute
  // ------------------------------------------------------------------------------------------
  function checkSelection(model, sel) {
    if (!sel || typeof sel !== 'object') throw new TypeError('selection must be an object');
    var from = parseDay(sel.from), to = parseDay(sel.to);
    if (from === null || to === null) {
      throw new RangeError('selection needs from and to as YYYY-MM-DD dates');
    }
    if (from > to) throw new RangeError('start_date ' + sel.from + ' is after end_date ' + sel.to);
    ['regions', 'issues'].forEach(function (k) {
      if (sel[k] !== null && sel[k] !== undefined && !Array.isArray(sel[k])) {
        throw new TypeError('selection.' + k + ' must be an array of names or null');
      }
    });
    return { from: from, to: to };
  }

  /** Every number of the overview for one selection (see the header for its shape). */
  function compute(model, sel) {
    var p = checkSelection(model, sel);
    var mk = masks(model, sel);
    var days = p.to - p.from + 1;
    var prevFrom = p.from - days, prevTo = p.from - 1;
    var now = kpiRow(sumKpis(model, mk, p.from, p.to));
    var before = kpiRow(sumKpis(model, mk, prevFrom, prevTo));
    var coverage = previousCoverage(model, prevFrom, prevTo);
    var kpis = {};
    KPI_KEYS.forEach(function (k) { kpis[k] = comparison(model, k, now[k], before[k], coverage); });
    return {
      period: { from: dayString(p.from), to: dayString(p.to), days: days },
      previous_period: { from: dayString(prevFrom), to: dayString(prevTo), coverage: coverage },
      empty: now.calls === 0,
      kpis: kpis,
      totals: { current: now, previous: before },
      daily: daily(model, mk, p.from, p.to),
      heatmap: heatmap(model, mk, p.from, p.to),
      duration: durationHistogram(model, mk, p.from, p.to),
      issues: issueBreakdown(model, mk, p.from, p.to),
      regions: regionComparison(model, mk, p.from, p.to),
      leaderboard: leaderboard(model, mk, p.from, p.to)
    };
  }

  /** metrics.daily_volume: every day from the data's (or period's) first to last; a day
   *  without a single call in the whole data is a gap (null), a day without calls in the
   *  selection is 0; the 7-day average is over the window's days that have data. */
  function daily(model, mk, from, to) {
    var out = { dates: [], calls: [], avg_7d: [], in_period: [] };
    if (model.firstDay === null) return out;
    var lo = Math.min(model.firstDay, from), hi = Math.max(model.lastDay, to);
    var n = hi - lo + 1;
    var counts = new Array(n);
    var c = model.cubes.resolution, d, i;
    for (d = 0; d < n; d++) {
      var dd = lo + d - model.firstDay;
      if (dd < 0 || dd >= model.days || c.day_cells[dd] === 0) {
        counts[d] = null;
        continue;
      }
      var sum = 0;
      for (i = c.start[dd]; i < c.start[dd + 1]; i++) {
        if (mk.group[c.group[i]]) sum += c.calls[i];
      }
      counts[d] = sum;
    }
    var winSum = 0, winCount = 0;
    for (d = 0; d < n; d++) {
      if (counts[d] !== null) { winSum += counts[d]; winCount += 1; }
      if (d >= 7 && counts[d - 7] !== null) { winSum -= counts[d - 7]; winCount -= 1; }
      out.dates.push(dayString(lo + d));
      out.calls.push(counts[d]);
      out.avg_7d.push(counts[d] === null ? null : winSum / winCount);
      out.in_period.push(lo + d >= from && lo + d <= to);
    }
    return out;
  }

  /** metrics.hour_weekday as a 7 x 24 grid: [weekday (0 = Monday)][hour (UTC)] -> calls. */
  function heatmap(model, mk, from, to) {
    var grid = [];
    for (var w = 0; w < 7; w++) grid.push(new Array(24).fill(0));
    if (model.firstDay === null) return grid;
    var c = model.cubes.hour;
    var d0 = Math.max(from - model.firstDay, 0);
    var d1 = Math.min(to - model.firstDay, model.days - 1);
    for (var d = d0; d <= d1; d++) {
      var row = grid[weekday(model.firstDay + d)];
      for (var i = c.start[d]; i < c.start[d + 1]; i++) {
        if (mk.group[c.group[i]]) row[c.x[i]] += c.calls[i];
      }
    }
    return grid;
  }

  function groupedCounts(model, cube, mk, from, to, width) {
    var nI = model.issues.length;
    var acc = new Float64Array(nI * width);
    if (model.firstDay === null) return acc;
    var c = model.cubes[cube];
    var r = cellRange(model, c, from, to);
    for (var i = r[0]; i < r[1]; i++) {
      var g = c.group[i];
      if (mk.group[g]) acc[(g % nI) * width + c.x[i]] += c.calls[i];
    }
    return acc;
  }

  function issueOrder(model) {
    return model.issues.map(function (_, i) { return i; });
  }

  /** metrics.duration_histogram: rows (issue_type, bin_start, bin_end, calls) with calls. */
  function durationHistogram(model, mk, from, to) {
    var width = model.lastBin + 1;
    var acc = groupedCounts(model, 'duration', mk, from, to, width);
    var rows = [];
    issueOrder(model).forEach(function (ii) {
      for (var b = 0; b < width; b++) {
        var n = acc[ii * width + b];
        if (n > 0) {
          rows.push({
            issue_type: model.issues[ii],
            bin_start: b * model.binWidth,
            bin_end: b >= model.lastBin ? null : (b + 1) * model.binWidth,
            calls: n
          });
        }
      }
    });
    return rows;
  }

  /** metrics.issue_breakdown: rows (issue_type, resolution, calls, issue_calls), largest
   *  issue first, then by name. */
  function issueBreakdown(model, mk, from, to) {
    var width = model.resolutions.length;
    var acc = groupedCounts(model, 'resolution', mk, from, to, width);
    var rows = [];
    model.issues.forEach(function (issue, ii) {
      var total = 0, x;
      for (x = 0; x < width; x++) total += acc[ii * width + x];
      for (x = 0; x < width; x++) {
        var n = acc[ii * width + x];
        if (n > 0) {
          rows.push({ issue_type: issue, resolution: model.resolutions[x], calls: n,
            issue_calls: total });
        }
      }
    });
    rows.sort(function (a, b) {
      return (b.issue_calls - a.issue_calls) || compareText(a.issue_type, b.issue_type) ||
        compareText(a.resolution, b.resolution);
    });
    return rows;
  }

  /** metrics.region_comparison: every KPI per selected region with calls, busiest first. */
  function regionComparison(model, mk, from, to) {
    if (model.firstDay === null) return [];
    var g = groupedTotals(model, mk, from, to, true);
    var rows = [];
    model.regions.forEach(function (name, ri) {
      var t = totalsAt(g, ri);
      if (t[0] > 0) {
        var row = kpiRow(t);
        row.region = name;
        rows.push(row);
      }
    });
    rows.sort(function (a, b) { return (b.calls - a.calls) || compareText(a.region, b.region); });
    return rows;
  }

  /** metrics.agent_leaderboard: every KPI per agent with calls, ordered as DuckDB orders it
   *  (calls descending, then agent_id, agent_name, region with nulls last). */
  function leaderboard(model, mk, from, to) {
    if (model.firstDay === null) return [];
    var g = groupedTotals(model, mk, from, to, false);
    var rows = [];
    for (var a = 0; a < g.size; a++) {
      var t = totalsAt(g, a);
      if (t[0] > 0) {
        var row = kpiRow(t);
        var ri = model.agents.region[a];
        row.agent_id = model.agents.id[a];
        row.agent_name = model.agents.name[a];
        row.region = ri < model.regions.length ? model.regions[ri] : null;
        rows.push(row);
      }
    }
    rows.sort(function (x, y) {
      return (y.calls - x.calls) || compareText(x.agent_id, y.agent_id) ||
        compareText(x.agent_name, y.agent_name) || compareText(x.region, y.region);
    });
    return rows;
  }

  // ------------------------------------------------------------------------------------------
  // Presets (relative to the data's last day, as the CLI's default period) and the fragment
  // ------------------------------------------------------------------------------------------
  function presetRange(name, model) {
    var end = model.lastDay !== null ? model.lastDay : model.defaultEnd;
    var date = new Date(end * DAY_MS);
    var y = date.getUTCFullYear();
    switch (name) {
      case 'last_7_days': return [end - 6, end];
      case 'last_28_days': return [end - 27, end];
      case 'last_90_days': return [end - 89, end];
      case 'quarter_to_date':
        return [Math.round(Date.UTC(y, 3 * Math.floor(date.getUTCMonth() / 3), 1) / DAY_MS), end];
      case 'year_to_date': return [Math.round(Date.UTC(y, 0, 1) / DAY_MS), end];
      case 'all_data': return [model.firstDay !== null ? model.firstDay : end, end];
      default: return null;
    }
  }

  /** {from, to} of a preset, or null for an unknown name. */
  function resolvePreset(name, model) {
    var r = typeof name === 'string' && PRESETS.indexOf(name) >= 0 ? presetRange(name, model)
      : null;
    return r ? { from: dayString(r[0]), to: dayString(r[1]) } : null;
  }

  /** The presets in display order: [{name, label, from, to}]. */
  function presets(model) {
    return PRESETS.map(function (name) {
      var r = resolvePreset(name, model);
      return { name: name, label: PRESET_LABELS[name], from: r.from, to: r.to };
    });
  }

  /** The page's default period {from, to}: the one setDefaultPeriod gave (the report's
   *  --start-date/--end-date), else the last 28 days. */
  function defaultPeriod(model) {
    return model.defaultPeriod || resolvePreset(DEFAULT_PRESET, model);
  }

  /** Make {from, to} the model's default period (what the empty fragment and Reset all mean).
   *  Returns false, changing nothing, for a missing or invalid range. */
  function setDefaultPeriod(model, range) {
    var from = range ? parseDay(range.from) : null, to = range ? parseDay(range.to) : null;
    if (from === null || to === null || from > to) return false;
    model.defaultPeriod = { from: dayString(from), to: dayString(to) };
    return true;
  }

  /** All regions, all issues, the default period (the last 28 days unless the page set one). */
  function defaultSelection(model) {
    var r = defaultPeriod(model);
    var sel = { regions: null, issues: null, from: r.from, to: r.to, preset: null };
    sel.preset = presetMatching(sel, model.defaultPeriod ? null : DEFAULT_PRESET, model);
    return sel;
  }

  function decodePart(text) {
    if (text === '~') return '';
    try {
      return decodeURIComponent(text);
    } catch (e) {
      return null; // a malformed escape: this name is ignored
    }
  }

  function encodePart(name) {
    return name === '' ? '~' : encodeURIComponent(name).replace(/~/g, '%7E');
  }

  function parseNames(value, known) {
    if (value === '') return [];
    var have = {};
    known.forEach(function (n) { have['\u0000' + n] = true; });
    var out = [], seen = {};
    value.split(',').forEach(function (part) {
      var name = decodePart(part);
      if (name !== null && have['\u0000' + name] && !seen['\u0000' + name]) {
        seen['\u0000' + name] = true;
        out.push(name);
      }
    });
    return out.length ? out.sort(compareText) : null; // nothing recognised: the default (all)
  }

  /** The selection a URL fragment describes; anything unknown or malformed falls back to the
   *  default for that part. Never throws. */
  function parseFragment(hash, model) {
    var sel = defaultSelection(model);
    try {
      var text = typeof hash === 'string' ? hash.replace(/^#/, '') : '';
      if (!text) return sel;
      var fields = {};
      text.split('&').forEach(function (pair) {
        var eq = pair.indexOf('=');
        if (eq <= 0) return;
        var key = pair.slice(0, eq);
        if (!Object.prototype.hasOwnProperty.call(fields, key)) fields[key] = pair.slice(eq + 1);
      });
      if (typeof fields.region === 'string') sel.regions = parseNames(fields.region, model.regions);
      if (typeof fields.issue === 'string') sel.issues = parseNames(fields.issue, model.issues);
      var from = parseDay(decodePart(fields.from || '') || '');
      var to = parseDay(decodePart(fields.to || '') || '');
      var lo = (model.firstDay !== null ? model.firstDay : model.defaultEnd) - FRAGMENT_SLACK_DAYS;
      var hi = (model.lastDay !== null ? model.lastDay : model.defaultEnd) + FRAGMENT_SLACK_DAYS;
      if (from !== null && to !== null && from <= to && from >= lo && to <= hi) {
        sel.from = dayString(from);
        sel.to = dayString(to);
        sel.preset = presetMatching(sel, fields.period, model);
      } else if (typeof fields.period === 'string' && PRESETS.indexOf(fields.period) >= 0) {
        var r = resolvePreset(fields.period, model);
        sel.from = r.from;
        sel.to = r.to;
        sel.preset = fields.period;
      }
    } catch (e) {
      return defaultSelection(model);
    }
    return sel;
  }

  /** Why a typed range cannot be shown, in words for the page ('' when it can): an incomplete
   *  date, From after To, or a date more than a year outside the data (a link could not hold
   *  it: parseFragment ignores such dates). */
  function rangeProblem(model, from, to) {
    var f = parseDay(from), t = parseDay(to);
    if (f === null) return 'From is not a complete date.';
    if (t === null) return 'To is not a complete date.';
    if (f > t) return 'From (' + from + ') is after To (' + to + '): pick an earlier From or a later To.';
    var lo = (model.firstDay !== null ? model.firstDay : model.defaultEnd) - FRAGMENT_SLACK_DAYS;
    var hi = (model.lastDay !== null ? model.lastDay : model.defaultEnd) + FRAGMENT_SLACK_DAYS;
    if (f < lo || t > hi) {
      var span = model.firstDay !== null
        ? ' (the data runs from ' + dayString(model.firstDay) + ' to ' + dayString(model.lastDay) + ')'
        : '';
      return 'Pick dates within a year of the data' + span + '.';
    }
    return '';
  }

  function presetMatching(sel, hint, model) {
    var names = PRESETS.indexOf(hint) >= 0 ? [hint].concat(PRESETS) : PRESETS;
    for (var i = 0; i < names.length; i++) {
      var r = resolvePreset(names[i], model);
      if (r.from === sel.from && r.to === sel.to) return names[i];
    }
    return null;
  }

  /** The URL fragment (with '#', or '' for the default selection) for a selection. */
  function formatFragment(sel, model) {
    var parts = [];
    ['region', 'issue'].forEach(function (key) {
      var names = sel[key === 'region' ? 'regions' : 'issues'];
      if (names === null || names === undefined) return;
      var known = key === 'region' ? model.regions : model.issues;
      var kept = names.filter(function (n) { return known.indexOf(n) >= 0; });
      kept = kept.filter(function (n, i) { return kept.indexOf(n) === i; }).sort(compareText);
      parts.push(key + '=' + kept.map(encodePart).join(','));
    });
    var preset = sel.preset && PRESETS.indexOf(sel.preset) >= 0 ? sel.preset : null;
    var r = preset ? resolvePreset(preset, model) : null;
    var def = defaultPeriod(model);
    if (sel.from !== def.from || sel.to !== def.to) {
      if (r && r.from === sel.from && r.to === sel.to) parts.push('period=' + preset);
      else parts.push('from=' + sel.from, 'to=' + sel.to);
    }
    return parts.length ? '#' + parts.join('&') : '';
  }

  // ------------------------------------------------------------------------------------------
  // Number formats: labels.fmt_kpi / fmt_delta and charts.leaderboard_frame, digit for digit
  // ------------------------------------------------------------------------------------------
  /** x with d decimals as Python's format(x, '.df'): exact ties round to even (toFixed
   *  rounds them away from zero). */
  function formatFixed(x, d) {
    var neg = x < 0 || (x === 0 && 1 / x < 0);
    var ax = Math.abs(x);
    var s = ax.toFixed(d);
    var longer = ax.toFixed(Math.min(100, d + 40));
    var tail = longer.slice(longer.length - 40);
    if (/^50*$/.test(tail)) {
      var down = longer.slice(0, longer.length - 40);
      if (down.charAt(down.length - 1) === '.') down = down.slice(0, -1);
      var lastDigit = +down.charAt(down.length - 1);
      if (lastDigit % 2 === 0) s = down; // round half to even: keep the even digit
    }
    return (neg ? '-' : '') + s;
  }

  function rint(y) {
    var r = Math.round(y);
    if (Math.abs(y - Math.trunc(y)) === 0.5) r = 2 * Math.round(y / 2);
    return r;
  }

  /** numpy.round(x, d) (what pandas' Series.round does): scale, round half to even, unscale. */
  function roundHalfEven(x, d) {
    if (x === null || x === undefined) return null;
    var f = Math.pow(10, d);
    return rint(x * f) / f;
  }

  function groupThousands(n) {
    var s = String(Math.abs(n));
    var out = '';
    while (s.length > 3) {
      out = ',' + s.slice(-3) + out;
      s = s.slice(0, -3);
    }
    return (n < 0 ? '-' : '') + s + out;
  }

  function fmtInt(v) {
    return v === null || v === undefined ? MISSING : groupThousands(rint(v));
  }

  /** A KPI value as the value box shows it (labels.fmt_kpi). */
  function fmtKpi(key, v) {
    if (key === 'calls') return fmtInt(v);
    if (v === null || v === undefined) return MISSING;
    if (key === 'aht') return formatFixed(v, 1) + ' min';
    if (key === 'csat') return formatFixed(v, 2) + ' / 5';
    return formatFixed(100 * v, 1) + '%';
  }

  /** A change against the previous period (labels.fmt_delta); a previous period that is not
   *  wholly inside the data gets a note instead of a change. */
  function fmtDelta(key, delta, deltaPct, coverage) {
    if (coverage === 'partial') return PARTLY_BEFORE;
    if (coverage === 'none') return NONE_BEFORE;
    if (delta === null || delta === undefined) return 'no previous data';
    var arrow = delta > 0 ? '\u25b2' : delta < 0 ? '\u25bc' : '=';
    var size = Math.abs(delta);
    if (key === 'calls') {
      return arrow + ' ' + fmtInt(size) + (deltaPct !== null && deltaPct !== undefined
        ? ' (' + formatFixed(100 * Math.abs(deltaPct), 1) + '%)' : '');
    }
    if (key === 'aht') return arrow + ' ' + formatFixed(size, 1) + ' min';
    if (key === 'csat') return arrow + ' ' + formatFixed(size, 2);
    return arrow + ' ' + formatFixed(100 * size, 1) + ' pp';
  }

  function pct(v) {
    return v === null ? null : roundHalfEven(100 * v, 1);
  }

  /** A leaderboard row as charts.leaderboard_frame displays it (numbers rounded, still
   *  numbers; null where pandas shows NaN). Names are data: show them as text. */
  function leaderboardDisplay(row) {
    return {
      'Agent': row.agent_name !== null ? row.agent_name
        : row.agent_id !== null ? row.agent_id : 'Unknown agent',
      'Region': row.region !== null ? row.region : 'Unknown',
      'Calls': row.calls,
      'AHT (min)': roundHalfEven(row.aht, 1),
      'CSAT': roundHalfEven(row.csat, 2),
      'Resolution %': pct(row.resolution_rate),
      'FCR %': pct(row.fcr),
      'Escalations': row.escalations
    };
  }

  return {
    FORMAT: FORMAT,
    VERSION: VERSION,
    KPI_KEYS: KPI_KEYS,
    PRESETS: PRESETS,
    PRESET_LABELS: PRESET_LABELS,
    DEFAULT_PRESET: DEFAULT_PRESET,
    decode: decode,
    compute: compute,
    presets: presets,
    resolvePreset: resolvePreset,
    defaultSelection: defaultSelection,
    defaultPeriod: defaultPeriod,
    setDefaultPeriod: setDefaultPeriod,
    previousCoverage: previousCoverage,
    parseFragment: parseFragment,
    presetMatching: function (sel, model) { return presetMatching(sel, null, model); },
    rangeProblem: rangeProblem,
    formatFragment: formatFragment,
    formatFixed: formatFixed,
    roundHalfEven: roundHalfEven,
    fmtKpi: fmtKpi,
    fmtDelta: fmtDelta,
    leaderboardDisplay: leaderboardDisplay,
    compareText: compareText
  };
});
