// The README's performance figures are the bench's latest results: the table between the
// markers and the chart are what bench/report.ts renders from bench/results/bench.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { README_BEGIN, README_END, loadResults, renderReadme, renderSvg, repoRoot } from '../../bench/report.js';

test('README performance table and chart come from bench/results/bench.json', () => {
  const res = loadResults();
  assert.ok(res.sections.length > 0, 'bench/results/bench.json has results');
  for (const s of res.sections) {
    for (const r of s.rows) {
      assert.ok(r.rounds >= 7 && r.ratios.length === r.rounds, `${r.name}: at least 7 rounds`);
      assert.ok(r.p25 <= r.ratio && r.ratio <= r.p75, `${r.name}: median within its interquartile range`);
      assert.equal(r.met, r.ratio <= r.goal, `${r.name}: met says whether the goal is met`);
    }
  }
  const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  const a = readme.indexOf(README_BEGIN);
  const b = readme.indexOf(README_END);
  assert.ok(a >= 0 && b > a, 'README.md has the bench results markers');
  assert.equal(readme.slice(a, b + README_END.length), renderReadme(res));
  assert.equal(readFileSync(join(repoRoot(), 'bench', 'results', 'ratios.svg'), 'utf8'), renderSvg(res));
});
