#!/usr/bin/env node
// The `mikey` command. Start-up loads only this file and ./args.js: each command's module (and
// with it the key service's drivers, X.509, the SRTP stack) is imported when that command runs.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DataError, EXIT, EXIT_HELP, UsageError, isSystemError, packageVersion, systemErrorText } from './args.js';

/** What a command's module exports. */
export interface CommandModule {
  /** The command's `--help` text (ends with the exit statuses). */
  help: string;
  /** Runs the command on its arguments; resolves to the exit status. */
  run(argv: string[]): number | Promise<number>;
}

export interface Command {
  /** Arguments shown in the command list. */
  args: string;
  /** One or two lines for the command list. */
  summary: string;
  load(): Promise<CommandModule>;
}

/** Every command, in the order the help lists them. A new command adds a row and a module. */
export const COMMANDS: Record<string, Command> = {
  decode: {
    args: '[--json] [--strict] [--keys FILE] [INPUT]',
    summary: 'show a MIKEY message as a field tree (like tshark -V) or JSON lines;\nwith --psk or --key, open its KEMAC and show the keys; with --keys\n(MCX key material), check a MIKEY-SAKKE message step by step;\n--strict refuses deployed senders\' deviations',
    load: () => import('./decode.js'),
  },
  demo: { args: '', summary: 'run every implemented method over UDP on loopback, with a table', load: () => import('./demo.js') },
  kms: {
    args: '<subcommand>',
    summary: 'the key management service (MIKEY-TICKET): serve, init, user,\ngroup, policy, tickets, audit, export, import',
    load: () => import('./kms.js'),
  },
  rtsp: {
    args: '<subcommand>',
    summary: 'RTSP cameras with MIKEY-keyed SRTP: probe URL, serve, profiles',
    load: async () => {
      const m = await import('./rtsp.js');
      return { help: m.RTSP_HELP, run: m.rtspCommand };
    },
  },
  samples: { args: '', summary: 'decode the bundled sample messages, a line each', load: () => import('./samples.js') },
  srtp: {
    args: '<subcommand>',
    summary: 'SRTP captures: decrypt IN.pcap OUT.pcap with the keys of their MIKEY messages',
    load: () => import('./srtp.js'),
  },
  start: {
    args: '',
    summary: 'the main job with embedded defaults (the demo)',
    load: async () => {
      const demo = await import('./demo.js');
      const help = `Usage: mikey start\n\nThe main job with embedded defaults (what 'npm start' runs): the demo.\n\n${demo.help}`;
      return { help, run: (argv: string[]) => demo.run(argv, help) };
    },
  },
};

function mainHelp(): string {
  const rows: Array<[string, string]> = Object.entries(COMMANDS).map(([name, c]) => [`${name}${c.args ? ` ${c.args}` : ''}`, c.summary]);
  rows.push(['help [COMMAND]', 'this text, or a command\'s help'], ['version', 'the version (also --version, -V)']);
  const w = Math.max(...rows.map(([a]) => a.length)) + 2;
  const list = rows.map(([a, s]) => `  ${a.padEnd(w)}${s.split('\n').join(`\n  ${' '.repeat(w)}`)}`).join('\n');
  return `mikey: MIKEY (RFC 3830 family) key management for SRTP

Usage: mikey <command> [options]

Commands:
${list}

Run 'mikey <command> --help' for a command's options.

${EXIT_HELP}`;
}

/** Runs `mikey ARGV...` and resolves to the exit status (0 success, 1 bad data, 2 usage). */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
      process.stderr.write(`${mainHelp()}\n`);
      return EXIT.usage;
    case '--help': case '-h':
      console.log(mainHelp());
      return EXIT.ok;
    case 'help': {
      if (rest.length > 1) return usage('help', `unexpected argument '${rest[1]}'`);
      const topic = rest[0];
      if (topic === undefined) {
        console.log(mainHelp());
        return EXIT.ok;
      }
      const c = COMMANDS[topic];
      if (!c) return usage('help', `unknown command '${topic}'`);
      console.log((await c.load()).help);
      return EXIT.ok;
    }
    case 'version': case '--version': case '-V':
      if (rest.length) return usage(cmd, `unexpected argument '${rest[0]}'`);
      console.log(`mikey ${packageVersion()}`);
      return EXIT.ok;
  }
  const c = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!c) return usage(undefined, `unknown ${cmd.startsWith('-') ? 'option' : 'command'} '${cmd}'`, "'mikey --help' lists the commands");
  try {
    return await (await c.load()).run(rest);
  } catch (e) {
    if (e instanceof UsageError) return usage(cmd, e.message);
    const data = dataErrorText(e);
    if (data === undefined) throw e;
    console.error(`mikey ${cmd}: ${data}`);
    return EXIT.data;
  }
}

function usage(cmd: string | undefined, message: string, hint = `see 'mikey ${cmd} --help'`): number {
  console.error(`mikey${cmd ? ` ${cmd}` : ''}: ${message} (${hint})`);
  return EXIT.usage;
}

/** The one line for an error in the data (input, file, key, store), or undefined for a bug. */
function dataErrorText(e: unknown): string | undefined {
  if (isSystemError(e)) return systemErrorText(e);
  // the commands' own data errors: input, capture, decode, key and store errors are named so
  if (e instanceof DataError || (e instanceof Error && /^(InputError|CaptureError|Mikey\w*Error|MasterKeyError|KeyMgmtSyntaxError)$/.test(e.name))) return e.message;
  return undefined;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
