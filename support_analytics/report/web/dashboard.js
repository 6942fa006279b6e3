/*
 * The overview's filters: region, issue type and period controls that recompute every number
 * on the page in the browser (web/slicer.js over the payload slices.py builds) and redraw the
 * value boxes, the charts and the leaderboard. The selection lives in the URL fragment (format
 * in slicer.js), so a link restores it, from file:// too.
 *
 * The page (charts.slicer_controls) holds a config element with the chart styles the Python
 * side uses (styles.py), the humanised labels and the no-data figure, and loads the payload as
 * window.SA_SLICES from a file beside the page. Names from the data are set with textContent
 * or escaped once for Plotly (which reads its strings as markup), never inserted as markup;
 * in charts they are cut to labels.CHART_LABEL_CHARS with an ellipsis, whole in the hover.
 *
 * The selection survives the page's own chrome: Quarto's dashboard script writes a nav link's
 * '#' into the URL (the Regions menu set overview.html#), and the title link is href="#";
 * neither may change the fragment. The page header names the selection.
 *
 * A plain classic script (module scripts are blocked on file://); needs Plotly, SupportTable
 * (web/tables.js), SupportSlicer and SupportPicker (web/picker.js) loaded before it.
 */
(function () {
  'use strict';

  var S = window.SupportSlicer;
  var LABEL_CHARS = 30; // labels.CHART_LABEL_CHARS

  /** labels.chart_text: Plotly decodes only &amp; &lt; &gt; and numeric entities. */
  function esc(text) {
    return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  }

  /** labels.template_text: a '%' in a name must not start a hovertemplate placeholder. */
  function escTemplate(text) {
    return esc(text).replace(/%/g, '&#37;');
  }

  /** labels.shorten: at most LABEL_CHARS characters (code points), the last an ellipsis. */
  function shorten(text) {
    var chars = Array.from(String(text));
    if (chars.length <= LABEL_CHARS) return String(text);
    return chars.slice(0, LABEL_CHARS - 1).join('').replace(/\s+$/, '') + '\u2026';
  }

  function clone(value) {
    return JSON.parse(JSON.stringify(value));
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ------------------------------------------------------------------------------------------
  // Figures: the same traces and layouts as report/charts/ builds from metrics' frames
  // ------------------------------------------------------------------------------------------
  function layout(cfg, extra) {
    var out = clone(cfg.layout);
    Object.keys(extra || {}).forEach(function (k) { out[k] = extra[k]; });
    return out;
  }

  function noData(cfg, message) {
    var fig = clone(cfg.no_data);
    fig.layout.annotations[0].text = esc(message);
    return fig;
  }

  function shiftDay(day, hours) {
    var t = Date.parse(day + 'T00:00:00Z') + hours * 3600000;
    return new Date(t).toISOString().slice(0, 19).replace('T', ' ');
  }

  /** labels.humanize: 'billing_issue' -> 'Billing issue'; blank -> 'Unknown'. */
  function humanize(code) {
    var text = String(code || '').trim().replace(/_/g, ' ');
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : 'Unknown';
  }

  var FIGURES = {
    daily: function (cfg, r) {
      var d = r.daily;
      var total = d.calls.reduce(function (a, v) { return a + (v || 0); }, 0);
      if (!d.dates.length || total === 0) return noData(cfg, 'No calls in the data yet');
      var c = cfg.colors;
      var x0 = shiftDay(r.period.from, -12), x1 = shiftDay(r.period.to, 12);
      return {
        data: [
          { type: 'bar', x: d.dates, y: d.calls, name: 'Calls per day',
            marker: { color: c.muted },
            hovertemplate: '%{x|%a %d %b %Y}: %{y:,} calls<extra></extra>' },
          { type: 'scatter', mode: 'lines', x: d.dates, y: d.avg_7d, name: '7-day average',
            line: { color: c.primary, width: 2.5 },
            hovertemplate: '%{x|%d %b %Y}: %{y:,.1f} calls/day (7-day avg)<extra></extra>' }
        ],
        layout: layout(cfg, {
          bargap: 0.1,
          yaxis: { title: { text: 'calls' }, rangemode: 'tozero', gridcolor: c.grid },
          xaxis: { showgrid: false },
          shapes: [{ type: 'rect', xref: 'x', yref: 'paper', x0: x0, x1: x1, y0: 0, y1: 1,
            fillcolor: c.period_fill, line: { width: 0 }, layer: 'below' }],
          annotations: [{ text: 'reporting period', x: x0, xref: 'x', y: 1, yref: 'paper',
            xanchor: 'left', yanchor: 'top', showarrow: false, font: { color: c.primary } }]
        })
      };
    },

    heatmap: function (cfg, r) {
      var total = r.heatmap.reduce(function (a, row) {
        return a + row.reduce(function (b, v) { return b + v; }, 0);
      }, 0);
      if (total === 0) return noData(cfg, cfg.no_data_message);
      var hours = [], labels = [];
      for (var h = 0; h < 24; h++) { hours.push(h); labels.push((h < 10 ? '0' : '') + h + ':00'); }
      return {
        data: [{ type: 'heatmap', z: r.heatmap, x: hours, y: cfg.weekdays,
          customdata: cfg.weekdays.map(function () { return labels; }),
          colorscale: cfg.colors.heatmap_scale,
          colorbar: { title: { text: 'calls' }, thickness: 12 },
          hovertemplate: '%{y} %{customdata} UTC: %{z:,} calls<extra></extra>',
          xgap: 1, ygap: 1 }],
        layout: layout(cfg, {
          yaxis: { autorange: 'reversed' },
          xaxis: { title: { text: 'hour of day (UTC)' }, tickangle: 0,
            range: [-0.5, 23.5] }
        })
      };
    },

    duration: function (cfg, r) {
      var rows = r.duration;
      if (!rows.length) return noData(cfg, cfg.no_data_message);
      var totals = {}, order = [], starts = {}, width = cfg.bin_minutes, openStart = null;
      rows.forEach(function (row) {
        if (!(row.issue_type in totals)) { totals[row.issue_type] = 0; order.push(row.issue_type); }
        totals[row.issue_type] += row.calls;
        starts[row.bin_start] = true;
        if (row.bin_end === null) openStart = row.bin_start;
      });
      order.sort(function (a, b) { return (totals[b] - totals[a]) || S.compareText(a, b); });
      var binLabel = function (a, b) {
        return b === null ? a + '+' : a + '\u2013' + b;
      };
      var data = order.map(function (issue, i) {
        var part = rows.filter(function (row) { return row.issue_type === issue; });
        var full = humanize(issue);
        return { type: 'bar', x: part.map(function (p) { return p.bin_start; }),
          y: part.map(function (p) { return p.calls; }), width: width, offset: 0,
          customdata: part.map(function (p) { return binLabel(p.bin_start, p.bin_end); }),
          name: esc(shorten(full)),
          marker: { color: cfg.colors.categorical[i % cfg.colors.categorical.length] },
          hovertemplate: escTemplate(full) + '<br>%{customdata} min: %{y:,} calls<extra></extra>' };
      });
      var keys = Object.keys(starts).map(Number);
      var top = Math.max.apply(null, keys), low = Math.min.apply(null, keys);
      var step = 4 * width, ticks = [];  // every 8 minutes: fits a phone
      for (var k = 0; k * step <= top; k++) ticks.push(k * step);
      if (openStart !== null && ticks.indexOf(openStart) < 0) ticks.push(openStart);
      return {
        data: data,
        layout: layout(cfg, {
          barmode: 'stack', bargap: 0.05,
          xaxis: { title: { text: 'call duration (minutes)' }, tickvals: ticks,
            ticktext: ticks.map(function (v) { return v === openStart ? v + '+' : String(v); }),
            tickangle: 0, range: [low, top + width] },
          yaxis: { title: { text: 'calls' }, gridcolor: cfg.colors.grid }
        })
      };
    },

    issues: function (cfg, r) {
      var rows = r.issues;
      if (!rows.length) return noData(cfg, cfg.no_data_message);
      var issues = [], byRes = {}, resTotals = {}, resOrder = [];
      rows.forEach(function (row) {
        if (issues.indexOf(row.issue_type) < 0) issues.push(row.issue_type);
        if (!(row.resolution in resTotals)) { resTotals[row.resolution] = 0; resOrder.push(row.resolution); }
        resTotals[row.resolution] += row.calls;
        byRes[row.resolution + '\u0000' + row.issue_type] = row;
      });
      resOrder.sort(function (a, b) { return (resTotals[b] - resTotals[a]) || S.compareText(a, b); });
      var yLabels = issues.map(function (i) { return esc(humanize(i)); });
      var yTicks = issues.map(function (i) { return esc(shorten(humanize(i))); });
      var data = resOrder.map(function (res, i) {
        var full = humanize(res);
        var color = cfg.colors.resolution[res] ||
          cfg.colors.categorical[i % cfg.colors.categorical.length];
        return { type: 'bar', orientation: 'h', y: yLabels, name: esc(shorten(full)),
          x: issues.map(function (iss) {
            var row = byRes[res + '\u0000' + iss]; return row ? row.calls : 0;
          }),
          customdata: issues.map(function (iss) {
            var row = byRes[res + '\u0000' + iss];
            return row ? S.roundHalfEven(100 * row.calls / row.issue_calls, 1) : 0;
          }),
          marker: { color: color },
          hovertemplate: '%{y} \u2013 ' + escTemplate(full) +
            ': %{x:,} calls (%{customdata}%)<extra></extra>' };
      });
      return {
        data: data,
        layout: layout(cfg, { barmode: 'stack',
          yaxis: { autorange: 'reversed', tickvals: yLabels, ticktext: yTicks },
          xaxis: { title: { text: 'calls' }, gridcolor: cfg.colors.grid } })
      };
    },

    regions: function (cfg, r) {
      var rows = r.regions;
      if (!rows.length) return noData(cfg, cfg.no_data_message);
      var names = rows.map(function (row) {
        return esc(row.region) + '<br>' + S.fmtKpi('calls', row.calls) + ' calls';
      });
      var ticks = rows.map(function (row) {
        return esc(shorten(row.region)) + '<br>' + S.fmtKpi('calls', row.calls) + ' calls';
      });
      var series = [['resolution_rate', cfg.colors.resolution.resolved],
        ['fcr', cfg.colors.primary], ['escalation_rate', cfg.colors.resolution.escalated]];
      return {
        data: series.map(function (s) {
          var label = cfg.kpi_labels[s[0]];
          return { type: 'bar', orientation: 'h', y: names, name: label,
            x: rows.map(function (row) { return row[s[0]] === null ? null : 100 * row[s[0]]; }),
            marker: { color: s[1] },
            hovertemplate: '%{y} \u2013 ' + label + ': %{x:.1f}%<extra></extra>' };
        }),
        layout: layout(cfg, { barmode: 'group', bargap: 0.25,
          yaxis: { autorange: 'reversed', automargin: true, tickvals: names, ticktext: ticks },
          xaxis: { ticksuffix: '%', rangemode: 'tozero', gridcolor: cfg.colors.grid, nticks: 3 } })
      };
    }
  };

  // ------------------------------------------------------------------------------------------
  // The page: value boxes, charts, leaderboard, status, header
  // ------------------------------------------------------------------------------------------
  function boxColor(cfg, kpi) {
    if (kpi.current === null) return cfg.box_colors.empty;
    if (kpi.good === true) return cfg.box_colors.good;
    if (kpi.good === false) return cfg.box_colors.bad;
    return cfg.box_colors.neutral;
  }

  /** charts.value_box's hover text for the change line. */
  function changeTitle(r) {
    var before = 'the previous ' + r.period.days + ' days';
    return r.previous_period.coverage === 'full' ? 'change against ' + before
      : 'no change shown: ' + before + ' are not all in the data';
  }

  function drawBoxes(cfg, r) {
    document.querySelectorAll('.sa-valuebox[data-kpi]').forEach(function (box) {
      var key = box.getAttribute('data-kpi');
      var kpi = r.kpis[key];
      if (!kpi) return;
      box.querySelector('.sa-kpi-value').textContent = S.fmtKpi(key, kpi.current);
      var change = box.querySelector('.sa-kpi-change');
      if (!change) {
        change = el('p', { class: 'sa-kpi-change' });
        box.appendChild(change);
      }
      change.hidden = kpi.current === null;
      change.textContent = S.fmtDelta(key, kpi.delta, kpi.delta_pct, kpi.coverage);
      change.title = changeTitle(r);
      box.className = box.className.replace(/\bbg-[a-z]+\b/, 'bg-' + boxColor(cfg, kpi));
    });
  }

  function drawCharts(cfg, r) {
    document.querySelectorAll('.sa-plot[data-sa-chart]').forEach(function (plot) {
      var build = FIGURES[plot.getAttribute('data-sa-chart')];
      if (!build) return;
      var fig = build(cfg, r);
      var config = cfg.plotly_config;
      var key = JSON.stringify(fig);
      if (key === plot._saKey) return; // this chart does not depend on what changed
      plot._saKey = key;
      if (plot.querySelector('.main-svg')) {
        Plotly.react(plot, fig.data, fig.layout, config);
      } else {
        plot._saFigure = fig; // drawn when its card gets a size (charts.WHEN_SIZED)
      }
    });
  }

  function drawLeaderboard(r) {
    var rows = r.leaderboard.map(function (row) {
      var d = S.leaderboardDisplay(row);
      return ['Agent', 'Region', 'Calls', 'AHT (min)', 'CSAT', 'Resolution %', 'FCR %',
        'Escalations'].map(function (k) { return d[k]; });
    });
    document.querySelectorAll('.sa-table-wrap[data-sa-table="leaderboard"]').forEach(function (w) {
      w._saRows = rows;
      if (w._saTable) w._saTable.setRows(rows);
    });
  }

  function namesPart(names, all, kind) {
    if (names === null) return all;
    if (!names.length) return 'no ' + kind;
    var shown = names.slice(0, 3).map(function (n) {
      return kind === 'issue types' ? humanize(n) : n;
    });
    return shown.join(', ') + (names.length > 3 ? ' +' + (names.length - 3) + ' more' : '');
  }

  function describe(sel, r) {
    var days = r.period.days;
    var compared = {
      full: 'compared with the ' + days + ' before',
      partial: 'the ' + days + ' before are partly before the data: no change shown',
      none: 'no data before it to compare with'
    }[r.previous_period.coverage];
    var text = namesPart(sel.regions, 'All regions', 'regions') + ' \u00b7 ' +
      namesPart(sel.issues, 'all issue types', 'issue types') + ' \u00b7 ' + r.period.from +
      ' to ' + r.period.to + ' (' + days + ' days, ' + compared + ')';
    if (r.empty) text = 'No calls for this selection. ' + text;
    return text;
  }

  /** The page header names the selection (it said "All regions" whatever was selected). */
  function drawHeader(sel) {
    var title = namesPart(sel.regions, 'All regions', 'regions');
    if (sel.issues !== null) title += ' \u00b7 ' + namesPart(sel.issues, '', 'issue types');
    document.querySelectorAll('#quarto-dashboard-header .navbar-title-text a, ' +
      '#quarto-dashboard-header .navbar-title-text').forEach(function (node) {
      if (!node.querySelector('a')) node.textContent = title;
    });
    var parts = document.title.split(' \u2013 ');
    document.title = parts.length > 1 ? title + ' \u2013 ' + parts.slice(1).join(' \u2013 ') : title;
  }

  // ------------------------------------------------------------------------------------------
  // The fragment belongs to the selection
  // ------------------------------------------------------------------------------------------
  /** Quarto's dashboard script writes a nav link's fragment into the URL on every click (the
   *  Regions menu toggle is href="#": the URL became overview.html#) and scrolls to the top;
   *  that is only meant for a dashboard's own page tabs, which this page has none of. Links
   *  to this very page without a fragment (the title's "#", the navbar's Overview) stay. */
  function keepFragment() {
    var U = window.QuartoDashboardUtils;
    if (U && typeof U.setLocation === 'function' && !U.saKeepsFragment) {
      var original = U.setLocation;
      U.setLocation = function (href) {
        var hash = U.urlHash(String(href));
        var page = false;
        try { page = hash.length > 1 && U.isPage(hash); } catch (e) { page = false; }
        if (page) return original.apply(U, arguments);
        return undefined;
      };
      U.saKeepsFragment = true;
    }
    document.addEventListener('click', function (e) {
      var a = e.target && e.target.closest ? e.target.closest('a[href]') : null;
      if (!a) return;
      var url;
      try { url = new URL(a.href, window.location.href); } catch (err) { return; }
      var here = window.location.href.split('#')[0];
      if (url.href.split('#')[0] === here && (url.hash === '' || url.hash === '#')) {
        e.preventDefault();
      }
    });
  }

  // ------------------------------------------------------------------------------------------
  // Controls
  // ------------------------------------------------------------------------------------------
  function start(root) {
    var cfgNode = root.querySelector('script.sa-slicer-config');
    var status = root.querySelector('.sa-status');
    var cfg = JSON.parse(cfgNode.textContent);
    var payload = window[cfg.data_global];
    if (!S || !payload || !window.Plotly || !window.SupportPicker) {
      status.textContent = 'Filters unavailable: the page data (' + cfg.data_file +
        ') did not load. Rebuild with `support-analytics report`.';
      return;
    }
    S.decode(payload).then(function (model) {
      cfg.bin_minutes = model.binWidth;
      S.setDefaultPeriod(model, cfg.default_period);
      var controls = root.querySelector('.sa-controls');
      var regions = window.SupportPicker.create({ label: 'Region', dim: 'regions',
        names: model.regions, display: function (n) { return n; } });
      var issues = window.SupportPicker.create({ label: 'Issue type', dim: 'issues',
        names: model.issues, display: humanize });
      controls.appendChild(regions.element);
      controls.appendChild(issues.element);
      var presetLabel = el('label', { class: 'sa-field' }, 'Period ');
      var preset = el('select', { class: 'form-select form-select-sm sa-preset' });
      S.presets(model).forEach(function (p) {
        var o = el('option', {}, p.label);
        o.value = p.name;
        preset.appendChild(o);
      });
      var custom = el('option', {}, 'Custom range');
      custom.value = 'custom';
      preset.appendChild(custom);
      presetLabel.appendChild(preset);
      controls.appendChild(presetLabel);
      var lo = model.firstDay !== null ? S.presets(model)[5].from : '';
      var hi = model.lastDay !== null ? S.presets(model)[5].to : '';
      var dates = {}, typing = { from: false, to: false };
      ['from', 'to'].forEach(function (k) {
        var lab = el('label', { class: 'sa-field' }, (k === 'from' ? 'From' : 'To') + ' ');
        var input = el('input', { type: 'date', class: 'form-control form-control-sm sa-' + k,
          'aria-describedby': 'sa-date-note' });
        if (lo) { input.min = lo; input.max = hi; }
        lab.appendChild(input);
        controls.appendChild(lab);
        dates[k] = input;
      });
      var reset = el('button', { type: 'button', class: 'btn btn-sm btn-outline-primary sa-reset' },
        'Reset all');
      controls.appendChild(reset);
      var note = el('p', { class: 'sa-date-note', id: 'sa-date-note', role: 'alert' });
      note.hidden = true;
      controls.appendChild(note);

      var sel = S.parseFragment(window.location.hash, model);

      function checked(picker) {
        var inputs = picker.panel.querySelectorAll('input[type=checkbox]');
        var on = [];
        inputs.forEach(function (i) { if (i.checked) on.push(i.value); });
        return on.length === inputs.length ? null : on;
      }

      function explain(problem) {
        note.textContent = problem;
        note.hidden = !problem;
        ['from', 'to'].forEach(function (k) {
          if (problem) dates[k].setAttribute('aria-invalid', 'true');
          else dates[k].removeAttribute('aria-invalid');
        });
      }

      function show() {
        [[regions, sel.regions], [issues, sel.issues]].forEach(function (pair) {
          var names = pair[1];
          pair[0].panel.querySelectorAll('input[type=checkbox]').forEach(function (i) {
            i.checked = names === null || names.indexOf(i.value) >= 0;
          });
          var n = names === null ? null : names.length;
          pair[0].button.querySelector('.sa-pick-value').textContent =
            n === null ? 'All' : n === 0 ? 'None' : n + ' selected';
        });
        preset.value = sel.preset || 'custom';
        // a date being typed is left alone: it is taken when complete (Enter or leaving it)
        if (!typing.from) dates.from.value = sel.from;
        if (!typing.to) dates.to.value = sel.to;
      }

      function apply(pushHash) {
        var t0 = performance.now();
        var r = S.compute(model, sel);
        var t1 = performance.now();
        drawBoxes(cfg, r);
        drawCharts(cfg, r);
        var t2 = performance.now();
        drawLeaderboard(r);
        var t3 = performance.now();
        status.textContent = describe(sel, r);
        drawHeader(sel);
        root.classList.toggle('sa-empty', r.empty);
        document.querySelectorAll('.sa-nodata').forEach(function (n) { n.hidden = true; });
        show();
        if (pushHash) {
          var hash = S.formatFragment(sel, model);
          var url = window.location.href.split('#')[0] + hash;
          if (url !== window.location.href) window.history.replaceState(null, '', url);
        }
        root.setAttribute('data-sa-ready', '1');
        root.setAttribute('data-sa-redraw-ms', String(Math.round(performance.now() - t0)));
        root.setAttribute('data-sa-phases-ms', JSON.stringify({ compute: t1 - t0,
          charts: t2 - t1, table: t3 - t2 }));
        root.dispatchEvent(new CustomEvent('sa-redrawn', { detail: r }));
      }

      function changed() { apply(true); }

      /** Take the typed or picked dates when they make a range; otherwise say why. */
      function takeDates() {
        typing.from = typing.to = false;
        var from = dates.from.value, to = dates.to.value;
        var problem = S.rangeProblem(model, from, to);
        explain(problem);
        if (problem || (from === sel.from && to === sel.to && !sel.preset)) return;
        sel.from = from;
        sel.to = to;
        sel.preset = S.presetMatching(sel, model);
        changed();
      }

      [regions, issues].forEach(function (picker) {
        var dim = picker.element.getAttribute('data-dim');
        picker.element.addEventListener('change', function () {
          sel[dim] = checked(picker);
          changed();
        });
        picker.panel.querySelectorAll('button[data-set]').forEach(function (b) {
          b.addEventListener('click', function () {
            sel[dim] = b.getAttribute('data-set') === 'all' ? null : [];
            changed();
          });
        });
      });
      preset.addEventListener('change', function () {
        explain('');
        if (preset.value === 'custom') {
          sel.preset = null; // the range stays, written as from/to: no period= left behind
          changed();
          preset.value = 'custom';
          return;
        }
        var r = S.resolvePreset(preset.value, model);
        sel.from = r.from;
        sel.to = r.to;
        sel.preset = preset.value;
        changed();
      });
      ['from', 'to'].forEach(function (k) {
        var input = dates[k];
        // Chrome fires 'change' on every keystroke that forms a date (typing 2026 gives
        // 0002, 0020, 0202, 2026): typed dates wait for Enter or blur; a date picked from
        // the calendar (no key pressed) is taken at once.
        input.addEventListener('keydown', function (e) {
          if (e.key === 'Enter') {
            e.preventDefault();
            takeDates();
          } else if (e.key !== 'Tab' && e.key !== 'Shift' && e.key !== 'Escape') {
            typing[k] = true;
          }
        });
        input.addEventListener('change', function () { if (!typing[k]) takeDates(); });
        input.addEventListener('blur', function () { if (typing[k]) takeDates(); });
      });
      reset.addEventListener('click', function () {
        typing.from = typing.to = false;
        explain('');
        sel = S.defaultSelection(model);
        changed();
      });
      window.addEventListener('hashchange', function () {
        sel = S.parseFragment(window.location.hash, model);
        apply(false);
      });
      apply(false);
    }).catch(function (err) {
      status.textContent = 'Filters unavailable: ' + err;
    });
  }

  function init() {
    var roots = document.querySelectorAll('.sa-slicer');
    if (roots.length) keepFragment();
    roots.forEach(start);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
