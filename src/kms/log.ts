// Structured logs: one JSON object per line (time, level, node, event, then the event's fields).
// Lines written in one turn of the event loop go out in one write (the requests answered
// together log together); whatever is pending is written when the process exits.
import type { Writable } from 'node:stream';

export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

export const nullLogger: Logger = { info() {}, warn() {}, error() {} };

const pending = new Set<() => void>();
let exitHook = false;

export function jsonLogger(out: Writable, node: string, minLevel: 'info' | 'warn' | 'error' = 'info'): Logger {
  const rank = { info: 0, warn: 1, error: 2 } as const;
  let lines = '';
  const flush = () => {
    pending.delete(flush);
    if (!lines) return;
    const s = lines;
    lines = '';
    out.write(s);
  };
  const write = (level: keyof typeof rank) => (event: string, fields: Record<string, unknown> = {}) => {
    if (rank[level] < rank[minLevel]) return;
    if (!lines) {
      pending.add(flush);
      setImmediate(flush);
      if (!exitHook) { exitHook = true; process.once('exit', () => { for (const f of [...pending]) f(); }); }
    }
    lines += `${JSON.stringify({ ts: new Date().toISOString(), level, node, event, ...fields })}\n`;
  };
  return { info: write('info'), warn: write('warn'), error: write('error') };
}
