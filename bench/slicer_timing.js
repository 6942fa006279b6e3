// Times support_analytics/report/web/slicer.js under node for bench/bench_slices.py:
//   node bench/slicer_timing.js PAYLOAD.json SELECTIONS.json REPEATS
// prints JSON: decode_ms (each repeat, a fresh decode), first_compute_ms (the default
// selection right after the first decode: what opening the page costs) and compute_ms (each
// selection, on a warm model: what a control change costs before Plotly redraws).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const S = require(path.join(__dirname, '..', 'support_analytics', 'report', 'web', 'slicer.js'));

async function main() {
  const [payloadPath, selectionsPath, repeatsArg] = process.argv.slice(2);
  const payload = JSON.parse(fs.readFileSync(payloadPath, 'utf8'));
  const selections = JSON.parse(fs.readFileSync(selectionsPath, 'utf8'));
  const repeats = Number(repeatsArg || 5);
  const decodeMs = [];
  let model = null;
  let firstCompute = null;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    model = await S.decode(payload);
    decodeMs.push(performance.now() - t0);
    if (i === 0) {
      const t1 = performance.now();
      S.compute(model, S.defaultSelection(model));
      firstCompute = performance.now() - t1;
    }
  }
  const computeMs = selections.map((sel) => {
    const t0 = performance.now();
    S.compute(model, sel);
    return performance.now() - t0;
  });
  process.stdout.write(JSON.stringify({ decode_ms: decodeMs, first_compute_ms: firstCompute,
    compute_ms: computeMs }));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
