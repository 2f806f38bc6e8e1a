// The README's examples run here, so the docs cannot drift from the code: every `console`
// block's commands must print exactly what the README shows, and every `ts` block must
// type-check as strict TypeScript and run. The blocks import the package by its name: a
// scratch folder's node_modules/mikey links to this checkout, so `mikey` resolves through
// package.json's `exports` to the built dist/ and its .d.ts, as it does for a user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';

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
  assert.ok(blocks.filter((b) => b.lang === 'ts').length >= 1);
  // code examples are TypeScript, checked below; no block in a language nothing checks
  assert.deepEqual(blocks.filter((b) => !['console', 'ts', 'sh'].includes(b.lang)).map((b) => b.lang), []);
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

const code = blocks.filter((b) => b.lang === 'ts');
const scratch = mkdtempSync(join(tmpdir(), 'mikey-readme-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));
mkdirSync(join(scratch, 'node_modules'));
symlinkSync(root, join(scratch, 'node_modules', 'mikey'), 'dir');
const files = code.map((b, i) => {
  const file = join(scratch, `example${i + 1}.mts`);
  writeFileSync(file, b.body);
  return file;
});

// one program for every block: strict, as a user's project would compile them; the JavaScript it emits is what runs
let emitted = false;
test('README ts examples type-check as strict TypeScript', () => {
  const program = ts.createProgram(files, {
    strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'], typeRoots: [join(root, 'node_modules', '@types')], skipLibCheck: true, outDir: scratch,
  });
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...program.emit().diagnostics];
  const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => scratch, getNewLine: () => '\n' };
  // example N is the README's Nth ts block
  assert.equal(ts.formatDiagnostics(diagnostics, host), '');
  emitted = true;
});

code.forEach((_, i) => {
  test(`README ts example ${i + 1} runs`, (t) => {
    if (!emitted) return t.skip('did not compile (see the type-check test)');
    const r = spawnSync(process.execPath, [join(scratch, `example${i + 1}.mjs`)], { cwd: scratch, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
  });
});
