// Export of loaded records as JSON or CSV. CSV cells are guarded against spreadsheet formula
// injection (OWASP "CSV Injection"): a cell that starts with = + - @ TAB or CR gets a leading
// single quote, so a spreadsheet shows it as text instead of evaluating it.

import { isNullPayload, type KRecord, type Payload } from './types';

const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r']);

export function guardFormula(cell: string): string {
  return cell.length > 0 && FORMULA_START.has(cell[0]) ? `'${cell}` : cell;
}

/** One CSV field: formula-guarded, then quoted (RFC 4180) when it holds a comma, quote or line break. */
export function csvField(value: unknown): string {
  let s: string;
  if (value === null || value === undefined) s = '';
  else if (typeof value === 'string') s = value;
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') s = String(value);
  else s = JSON.stringify(value);
  s = guardFormula(s);
  if (/[",\r\n]/.test(s) || s !== s.trim()) s = `"${s.replace(/"/g, '""')}"`;
  return s;
}

export function csvRow(cells: unknown[]): string {
  return cells.map(csvField).join(',');
}

/** The text shown for a key or value: decoded form if the decoder produced one, else null. */
export function payloadText(p: Payload | null | undefined): string | null {
  if (isNullPayload(p)) return null;
  if (p!.decoded === undefined || p!.decoded === null) return null;
  if (typeof p!.decoded === 'string') return p!.decoded;
  return JSON.stringify(p!.decoded);
}

export function isoTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '';
  try {
    return new Date(ms).toISOString();
  } catch {
    return '';
  }
}

export interface ExportRecord {
  partition: number;
  offset: number;
  timestamp_ms: number | null;
  timestamp: string;
  timestamp_type: string;
  compression: string | null;
  key: string | null;
  key_base64: string | null;
  key_size: number | null;
  value: string | null;
  value_base64: string | null;
  value_size: number | null;
  headers: { key: string; value: string | null; value_base64: string | null }[];
}

export function toExportRecord(r: KRecord): ExportRecord {
  return {
    partition: r.partition,
    offset: r.offset,
    timestamp_ms: r.timestamp_ms ?? null,
    timestamp: isoTime(r.timestamp_ms),
    timestamp_type: r.timestamp_type,
    compression: r.batch?.compression ?? null,
    key: payloadText(r.key),
    key_base64: isNullPayload(r.key) ? null : r.key!.base64,
    key_size: isNullPayload(r.key) ? null : r.key!.size,
    value: payloadText(r.value),
    value_base64: isNullPayload(r.value) ? null : r.value!.base64,
    value_size: isNullPayload(r.value) ? null : r.value!.size,
    headers: (r.headers ?? []).map((h) => ({ key: h.key, value: h.value_string ?? null, value_base64: h.value_base64 })),
  };
}

export const CSV_COLUMNS = [
  'partition', 'offset', 'timestamp', 'timestamp_ms', 'timestamp_type', 'compression',
  'key', 'value', 'headers', 'key_size', 'value_size', 'key_base64', 'value_base64',
] as const;

export function toCsv(records: KRecord[]): string {
  const lines = [csvRow([...CSV_COLUMNS])];
  for (const r of records) {
    const e = toExportRecord(r);
    const headers = e.headers.length
      ? JSON.stringify(Object.fromEntries(e.headers.map((h) => [h.key, h.value ?? h.value_base64])))
      : '';
    lines.push(csvRow([
      e.partition, e.offset, e.timestamp, e.timestamp_ms, e.timestamp_type, e.compression,
      e.key, e.value, headers, e.key_size, e.value_size, e.key_base64, e.value_base64,
    ]));
  }
  return lines.join('\r\n') + '\r\n';
}

export function toJson(records: KRecord[]): string {
  return JSON.stringify(records.map(toExportRecord), null, 2) + '\n';
}

/** A file name safe on every OS: topic name reduced to [A-Za-z0-9._-]. */
export function exportFileName(topic: string, ext: 'json' | 'csv', now = new Date()): string {
  const safe = topic.replace(/[^A-Za-z0-9._-]/g, '_') || 'topic';
  const stamp = now.toISOString().replace(/[:.]/g, '-').replace(/Z$/, 'Z');
  return `${safe}-${stamp}.${ext}`;
}
