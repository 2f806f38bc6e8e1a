// The README's examples run here, so the docs cannot drift from the code: every `console`
// block's commands must print exactly what the README shows, and every `js` block must run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.cwd();
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, body: m[2]! }));
const cli = join(root, 'dist', 'src', 'cli', 'main.js');

/** Split a console block into commands and the output each must print. */
function commands(body: string): Array<{ cmd: string; out: string }> {
  const out: Array<{ cmd: string; out: string }> = [];
  for (const line of body.replace(/\n$/, '').split('\n')) {
    if (line.startsWith('$ ')) out.push({ cmd: line.slice(2), out: '' });
    else out[out.length - 1]!.out += `${line}\n`;
  }
  return out;
}

test('README has examples to run', () => {
  assert.ok(blocks.filter((b) => b.lang === 'console').length >= 2);
  assert.ok(blocks.filter((b) => b.lang === 'js').length >= 1);
});

blocks.filter((b) => b.lang === 'console').forEach((b, i) => {
  for (const { cmd, out } of commands(b.body)) {
    test(`README console example ${i + 1}: ${cmd.slice(0, 60)}`, () => {
      assert.match(cmd, /^mikey /, 'examples run the mikey command');
      const r = spawnSync('bash', ['-c', `node ${JSON.stringify(cli)} ${cmd.slice(6)}`], { cwd: root, encoding: 'utf8' });
      assert.equal(r.stdout + r.stderr, out);
    });
  }
});

blocks.filter((b) => b.lang === 'js').forEach((b, i) => {
  test(`README js example ${i + 1} runs`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'mikey-readme-'));
    const file = join(dir, 'example.mjs');
    const index = pathToFileURL(join(root, 'dist', 'src', 'index.js')).href;
    writeFileSync(file, b.body.replace(/from 'mikey'/g, `from '${index}'`));
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
  });
});
