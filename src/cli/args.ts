// The conventions every `mikey` command follows: one argument parser (unknown options refused),
// one set of exit statuses, one way to report errors. Only node built-ins here: `main.ts` loads
// this at start-up, and a command's own dependencies only when it runs.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Exit statuses of every command. */
export const EXIT = {
  /** it did what was asked */
  ok: 0,
  /** bad data: input that does not decode, a missing file or store, a check that failed */
  data: 1,
  /** usage: unknown command or option, a missing or extra argument, an option value out of range */
  usage: 2,
} as const;

/** The paragraph every `--help` ends with. */
export const EXIT_HELP = `Exit status: 0 success; 1 bad data (input that does not decode, a missing file or store,
a check that fails); 2 usage (unknown command or option, a missing or extra argument).`;

/** A command line the command cannot run: exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Data the command cannot use (input, file, store): exit status 1. */
export class DataError extends Error {
  override readonly name: string = 'DataError';
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}
export type OptionSpecs = Record<string, OptionSpec>;

type Value<S extends OptionSpec> = S['type'] extends 'string' ? (S['multiple'] extends true ? string[] : string) : (S['multiple'] extends true ? boolean[] : boolean);
export type Values<O extends OptionSpecs> = { -readonly [K in keyof O]?: Value<O[K]> } & { help?: boolean };

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/**
 * Parses `argv` against `options` (plus `-h`/`--help`). Refuses, as a UsageError, an unknown
 * option, a string option without a value, a value given to a boolean option, and more
 * positional arguments than `maxPositionals` (when given).
 */
export function parseCommand<O extends OptionSpecs>(argv: string[], options: O, o: { maxPositionals?: number } = {}): { values: Values<O>; positionals: string[] } {
  const all: OptionSpecs = { ...HELP_OPTION, ...options };
  // strict mode's messages are Node's (with a hint about '--' in broken quoting): check the tokens ourselves
  const { values, positionals, tokens } = parseArgs({ args: argv, options: all, allowPositionals: true, strict: false, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const spec = all[t.name];
    if (!spec) throw new UsageError(`unknown option ${t.rawName}`);
    if (spec.type === 'string' && typeof t.value !== 'string') throw new UsageError(`option ${t.rawName} needs a value`);
    if (spec.type === 'boolean' && t.inlineValue) throw new UsageError(`option ${t.rawName} takes no value`);
  }
  if (o.maxPositionals !== undefined && positionals.length > o.maxPositionals && !values['help']) {
    throw new UsageError(`unexpected argument${positionals.length - o.maxPositionals > 1 ? 's' : ''} ${positionals.slice(o.maxPositionals).map((p) => `'${p}'`).join(' ')}`);
  }
  return { values: values as Values<O>, positionals };
}

/** Whether an error is Node's for a file (no such file, a directory, no permission, ...). */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException & { code: string } {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((e as NodeJS.ErrnoException).code!);
}

const SYSTEM_REASONS: Record<string, string> = {
  ENOENT: 'no such file', EISDIR: 'is a directory, not a file', EACCES: 'permission denied', ENOTDIR: 'a path component is not a directory',
  EPERM: 'operation not permitted', EMFILE: 'too many open files', ECONNREFUSED: 'connection refused', EADDRINUSE: 'address in use',
};

/** One line for a file or network error: the path and the reason in words. */
export function systemErrorText(e: NodeJS.ErrnoException): string {
  const reason = SYSTEM_REASONS[e.code ?? ''] ?? e.message;
  const where = e.path ?? (e as { address?: string }).address;
  return where ? `${where}: ${reason}` : reason;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The package root, from dist/src/cli. */
export const PACKAGE_ROOT = resolve(here, '..', '..', '..');

/** The package version (package.json). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(resolve(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Writes one JSON value on one line (NDJSON: a line per record). */
export function jsonLine(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v)}\n`);
}
