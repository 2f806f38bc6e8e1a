// The public surface, entry point by entry point: the package is imported by its name (a scratch
// folder's node_modules/mikey links to this checkout, so `mikey` and `mikey/…` resolve through
// package.json's `exports`, as for a user), and the sorted names each exports, values and types,
// must equal test/package/exports.txt. A change to the surface is made deliberately: regenerate the
// list with MIKEY_UPDATE_EXPORTS=1 and review its diff.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';

const root = process.cwd();
const listFile = join(root, 'test', 'package', 'exports.txt');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
const entries = Object.keys(pkg.exports).filter((k) => k !== './package.json').map((k) => (k === '.' ? 'mikey' : `mikey/${k.slice(2)}`));

/** Names exported by each entry point: at run time (values), and by its .d.ts (values and types). */
async function surface(): Promise<string> {
  const scratch = mkdtempSync(join(tmpdir(), 'mikey-exports-'));
  try {
    mkdirSync(join(scratch, 'node_modules'));
    symlinkSync(root, join(scratch, 'node_modules', 'mikey'), 'dir');
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ type: 'module' }));
    const file = join(scratch, 'entries.ts');
    writeFileSync(file, entries.map((e, i) => `import * as e${i} from '${e}';\nexport { e${i} };\n`).join(''));
    const program = ts.createProgram([file], {
      strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ['node'], typeRoots: [join(root, 'node_modules', '@types')], skipLibCheck: true,
    });
    const errors = ts.getPreEmitDiagnostics(program);
    assert.equal(ts.formatDiagnostics(errors, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => scratch, getNewLine: () => '\n' }), '');
    const checker = program.getTypeChecker();
    const source = program.getSourceFile(file)!;
    const lines: string[] = [];
    for (const [i, entry] of entries.entries()) {
      const ns = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!).find((s) => s.name === `e${i}`)!;
      const mod = checker.getAliasedSymbol(ns);
      const typed = checker.getExportsOfModule(mod).map((s) => s.name);
      // run time: the names a program can import as values (here by the package's self-reference)
      const values = new Set(Object.keys(await import(entry) as object));
      for (const v of values) assert.ok(typed.includes(v), `${entry}: ${v} exported at run time but not in its .d.ts`);
      lines.push(`# ${entry}`);
      for (const name of [...new Set(typed)].sort()) lines.push(values.has(name) ? name : `${name} (type)`);
    }
    return `${lines.join('\n')}\n`;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

test('every entry point exports exactly the names in test/package/exports.txt', async () => {
  const got = await surface();
  if (process.env.MIKEY_UPDATE_EXPORTS === '1') writeFileSync(listFile, got);
  assert.equal(got, readFileSync(listFile, 'utf8'), 'the public surface changed: if deliberate, run with MIKEY_UPDATE_EXPORTS=1 and review the diff');
});

test('internals are not exported, and no name means two things', async () => {
  const list = readFileSync(listFile, 'utf8');
  for (const internal of ['millerGeneric', 'finalExpFull', 'hashToRangeTrace', 'tgkLabel', 'pooledRandom', 'TokenBuckets', 'parseXml', 'UserRow', 'CredentialRow', 'TpkRow', 'TicketRow', 'AuditRow', 'identity']) {
    assert.doesNotMatch(list, new RegExp(`^${internal}( \\(type\\))?$`, 'm'), `${internal} is internal`);
  }
  // the codec's SakkeParams (the SAKKE payload's registry) and the curve parameters (SakkeParameterSet) are two names
  assert.match(list, /^SakkeParams$/m);
  assert.match(list, /^SakkeParameterSet \(type\)$/m);
});
