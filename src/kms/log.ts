// Structured logs: one JSON object per line (time, level, node, event, then the event's fields).
import type { Writable } from 'node:stream';

export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

export const nullLogger: Logger = { info() {}, warn() {}, error() {} };

export function jsonLogger(out: Writable, node: string, minLevel: 'info' | 'warn' | 'error' = 'info'): Logger {
  const rank = { info: 0, warn: 1, error: 2 } as const;
  const write = (level: keyof typeof rank) => (event: string, fields: Record<string, unknown> = {}) => {
    if (rank[level] < rank[minLevel]) return;
    out.write(`${JSON.stringify({ ts: new Date().toISOString(), level, node, event, ...fields })}\n`);
  };
  return { info: write('info'), warn: write('warn'), error: write('error') };
}
