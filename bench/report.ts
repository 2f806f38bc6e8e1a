// The bench's results: bench/results/bench.json (every row, with its per-round ratios), an SVG
// chart of the ratios (one bar per row, its 25th-75th percentile, its goal), and the table of
// README.md's "Performance" section between its markers. A run of some sections replaces
// those sections' rows and keeps the others', so the files always hold the latest of each.
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RowResult } from './harness.js';

export interface SectionRun {
  title: string;
  /** When the section ran (ISO 8601), on which commit, machine and load. */
  date: string;
  commit: string;
  node: string;
  cpu: string;
  loadavg: number;
  rows: RowResult[];
}

export interface BenchResults {
  sections: SectionRun[];
}

export const README_BEGIN = '<!-- bench results: written by `npm run bench`, do not edit -->';
export const README_END = '<!-- end of bench results -->';

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'mikey') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root');
    dir = up;
  }
}

/**
 * The build of an earlier commit to bench beside this one: `given` (a prepared checkout), or
 * made once in the temporary folder (git archive + tsc, about a minute); `probe` is a file of
 * its dist that says the build is there.
 */
export function earlierBuild(rev: string, given: string | undefined, probe: string): string {
  if (given) return given;
  const dir = join(tmpdir(), `mikey-bench-base-${rev}`);
  if (existsSync(join(dir, 'dist', probe))) return dir;
  const root = repoRoot();
  console.log(`building ${rev} in ${dir} (once)`);
  mkdirSync(dir, { recursive: true });
  execSync(`git -C '${root}' archive ${rev} | tar -x -C '${dir}'`);
  if (!existsSync(join(dir, 'node_modules'))) symlinkSync(realpathSync(join(root, 'node_modules')), join(dir, 'node_modules'));
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { stdio: 'inherit' });
  return dir;
}

export const resultsDir = (): string => join(repoRoot(), 'bench', 'results');

export function loadResults(): BenchResults {
  const f = join(resultsDir(), 'bench.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as BenchResults) : { sections: [] };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Horizontal bars of the median ratio ours/anchor, whiskers at the 25th and 75th percentiles, a
 * red tick at the goal; one bar per row under its section's title.
 */
export function renderSvg(res: BenchResults): string {
  const rows = res.sections.flatMap((s) => s.rows);
  const labelW = Math.max(380, 16 + Math.ceil(6.2 * Math.max(0, ...rows.map((r) => r.name.length))));
  const plotW = 420;
  const rowH = 22;
  const top = 34;
  const max = Math.min(8, Math.max(2, ...rows.map((r) => Math.max(r.p75, r.goal) * 1.1)));
  const x = (v: number): number => labelW + (Math.min(v, max) / max) * plotW;
  const lines = res.sections.reduce((n, s) => n + (s.rows.length ? s.rows.length + 1 : 0), 0);
  const h = top + lines * rowH + 30;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 120}" height="${h}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="8" y="18" font-weight="bold">time ratio ours/anchor (median of rounds, bar = 25th-75th percentile; red = goal; lower is better; bars end at ${max.toFixed(1)})</text>`);
  for (let t = 0; t <= max + 1e-9; t += max > 4 ? 1 : 0.5) {
    out.push(`<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${h - 24}" stroke="#ddd"/>`);
    out.push(`<text x="${x(t)}" y="${h - 10}" text-anchor="middle">${t}</text>`);
  }
  out.push(`<line x1="${x(1)}" y1="${top - 6}" x2="${x(1)}" y2="${h - 24}" stroke="#888" stroke-dasharray="4 3"/>`);
  let i = 0;
  for (const s of res.sections) {
    if (!s.rows.length) continue;
    out.push(`<text x="8" y="${top + i * rowH + 15}" font-weight="bold">${esc(s.title)}</text>`);
    i++;
    for (const r of s.rows) {
      const y = top + i * rowH;
      i++;
      const fill = r.met ? '#4c9a5a' : '#d08a3a';
      out.push(`<text x="${labelW - 6}" y="${y + 14}" text-anchor="end">${esc(r.name)}</text>`);
      out.push(`<rect x="${labelW}" y="${y + 4}" width="${Math.max(1, x(r.ratio) - labelW)}" height="${rowH - 8}" fill="${fill}"/>`);
      out.push(`<line x1="${x(r.p25)}" y1="${y + rowH / 2}" x2="${x(r.p75)}" y2="${y + rowH / 2}" stroke="black" stroke-width="2"/>`);
      out.push(`<line x1="${x(r.p25)}" y1="${y + 6}" x2="${x(r.p25)}" y2="${y + rowH - 6}" stroke="black"/>`);
      out.push(`<line x1="${x(r.p75)}" y1="${y + 6}" x2="${x(r.p75)}" y2="${y + rowH - 6}" stroke="black"/>`);
      out.push(`<line x1="${x(r.goal)}" y1="${y + 1}" x2="${x(r.goal)}" y2="${y + rowH - 1}" stroke="red" stroke-width="2"/>`);
      out.push(`<text x="${labelW + plotW + 8}" y="${y + 14}">${r.ratio.toFixed(2)} ${r.met ? 'met' : 'not met'}</text>`);
    }
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

const fmtTime = (s: number): string => (s >= 1e-3 ? `${(s * 1e3).toFixed(2)} ms` : `${(s * 1e6).toFixed(2)} µs`);

/** The README's table: one line per row, grouped by section, with when and where it ran. */
export function renderReadme(res: BenchResults): string {
  const out: string[] = [README_BEGIN, '', '![time ratios ours/anchor](bench/results/ratios.svg)', ''];
  for (const s of res.sections) {
    out.push(`**${s.title}** (${s.date.slice(0, 16).replace('T', ' ')} UTC, commit ${s.commit}, Node ${s.node}, ${s.cpu}, load ${s.loadavg.toFixed(1)})`, '');
    out.push('| row | ours | anchor | ratio (IQR) | goal | |', '|---|---|---|---|---|---|');
    for (const r of s.rows) {
      out.push(`| ${r.name} | ${fmtTime(r.oursSec)} | ${r.anchor}: ${fmtTime(r.anchorSec)} | ${r.ratio.toFixed(2)} (${r.p25.toFixed(2)}–${r.p75.toFixed(2)}) | ≤ ${r.goal.toFixed(2)} | ${r.met ? 'met' : 'not met'} |`);
    }
    out.push('');
  }
  out.push(README_END);
  return out.join('\n');
}

/** Replace the README's results block (between the markers) with `block`. */
export function spliceReadme(readme: string, block: string): string {
  const a = readme.indexOf(README_BEGIN);
  const b = readme.indexOf(README_END);
  if (a < 0 || b < a) throw new Error('README.md has no bench results markers');
  return readme.slice(0, a) + block + readme.slice(b + README_END.length);
}

function commitId(): string {
  try {
    const id = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot(), encoding: 'utf8' }).trim();
    // "+": with uncommitted changes
    return execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot(), encoding: 'utf8' }).trim() ? `${id}+` : id;
  } catch {
    return 'unknown';
  }
}

/** File the rows of the sections that ran (replacing their earlier rows), then rewrite JSON, chart and README table. */
export function saveResults(runs: Array<{ title: string; rows: RowResult[] }>, opts: { readme?: boolean } = {}): void {
  const res = loadResults();
  const meta = { date: new Date().toISOString(), commit: commitId(), node: process.versions.node, cpu: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}`, loadavg: loadavg()[0]! };
  for (const run of runs) {
    if (run.rows.length === 0) continue;
    const s: SectionRun = { title: run.title, ...meta, rows: run.rows };
    const i = res.sections.findIndex((x) => x.title === run.title);
    if (i >= 0) res.sections[i] = s;
    else res.sections.push(s);
  }
  mkdirSync(resultsDir(), { recursive: true });
  writeFileSync(join(resultsDir(), 'bench.json'), `${JSON.stringify(res, null, 1)}\n`);
  writeFileSync(join(resultsDir(), 'ratios.svg'), renderSvg(res));
  if (opts.readme !== false) {
    const f = join(repoRoot(), 'README.md');
    writeFileSync(f, spliceReadme(readFileSync(f, 'utf8'), renderReadme(res)));
  }
}
