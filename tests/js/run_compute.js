// Reads {"payload": ..., "selections": [...]} as JSON on stdin and writes, as JSON on stdout,
// the decoded model's compute() for each selection plus the display formats the page uses.
// The exactness test (tests/test_slices.py) compares these with support_analytics.report.metrics.
'use strict';
const path = require('node:path');
const S = require(path.join(__dirname, '..', '..', 'support_analytics', 'report', 'web', 'slicer.js'));

function display(result) {
  const boxes = {};
  for (const key of S.KPI_KEYS) {
    const k = result.kpis[key];
    boxes[key] = {
      current: S.fmtKpi(key, k.current),
      previous: S.fmtKpi(key, k.previous),
      delta: S.fmtDelta(key, k.delta, k.delta_pct, k.coverage),
    };
  }
  return { boxes, leaderboard: result.leaderboard.map(S.leaderboardDisplay) };
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const model = await S.decode(input.payload);
  const out = {
    presets: S.presets(model),
    fragments: (input.fragments || []).map((f) => S.parseFragment(f, model)),
    results: (input.selections || []).map((sel) => {
      const r = S.compute(model, sel);
      return { result: r, display: display(r) };
    }),
  };
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
