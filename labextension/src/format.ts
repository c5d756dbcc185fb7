/** How statuses, times and durations read in the sidebar (as `jetnb show` prints them). */

const SYMBOLS: Record<string, string> = {
  queued: '◷',
  running: '▶',
  waiting: '…',
  succeeded: '✓',
  failed: '✗',
  interrupted: '✗',
  cancelled: '⊘',
  skipped: '–',
  rejected: '⊘',
  not_run: '·',
  pending: '·'
};

export function symbol(status: string): string {
  return SYMBOLS[status] ?? '•';
}

/** `250ms`, `1.52s`, `2m05s`, `1h02m`; '' when unknown. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) {
    return '';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)}ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(2)}s`;
  }
  const total = Math.round(seconds);
  const minutes = Math.floor(total / 60);
  if (minutes < 60) {
    return `${minutes}m${String(total % 60).padStart(2, '0')}s`;
  }
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** An ISO time in the reader's time zone, short: `14:05:09` today, else `2026-11-26 14:05`. */
export function when(iso: string | null | undefined): string {
  if (!iso) {
    return '';
  }
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) {
    return iso;
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(moment.getHours())}:${pad(moment.getMinutes())}`;
  if (moment.toDateString() === new Date().toDateString()) {
    return `${time}:${pad(moment.getSeconds())}`;
  }
  return `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())} ${time}`;
}

export function firstLine(text: string | null | undefined): string {
  return (text ?? '').split('\n', 1)[0];
}

/** Values as compact JSON for one line, pretty JSON for a block. */
export function json(value: unknown, pretty = false): string {
  return JSON.stringify(value, null, pretty ? 2 : undefined) ?? String(value);
}
