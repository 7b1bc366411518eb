import { describe, expect, it } from 'vitest';
import { csvField, csvRow, exportFileName, guardFormula, toCsv, toJson } from './csv';
import type { KRecord } from './types';

const rec = (over: Partial<KRecord> = {}): KRecord => ({
  partition: 1,
  offset: 42,
  timestamp_ms: 1_700_000_000_000,
  timestamp_type: 'CreateTime',
  key: { size: 2, base64: 'azE=', decoded: 'k1' },
  value: { size: 5, base64: 'aGVsbG8=', decoded: 'hello' },
  headers: [{ key: 'h', value_base64: 'dg==', value_string: 'v' }],
  batch: { compression: 'none' },
  ...over,
});

describe('formula injection guard', () => {
  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'])('prefixes %j with a quote', (s) => {
    expect(guardFormula(s)).toBe(`'${s}`);
  });
  it('leaves ordinary text alone', () => {
    expect(guardFormula('hello')).toBe('hello');
    expect(guardFormula('')).toBe('');
    expect(guardFormula('a=b')).toBe('a=b');
  });
  it('quotes after guarding', () => {
    expect(csvField('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvField('\r\n=1')).toBe(`"'\r\n=1"`);
  });
});

describe('csv', () => {
  it('quotes commas, quotes and newlines', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('l1\nl2')).toBe('"l1\nl2"');
    expect(csvField(null)).toBe('');
    expect(csvField(7)).toBe('7');
    expect(csvRow(['x', 1, null])).toBe('x,1,');
  });
  it('writes a header and one line per record', () => {
    const text = toCsv([rec(), rec({ offset: 43, key: null, value: { size: 4, base64: 'PTErMQ==', decoded: '=1+1' } })]);
    const lines = text.trimEnd().split('\r\n');
    expect(lines[0].split(',').slice(0, 8)).toEqual(['partition', 'offset', 'timestamp', 'timestamp_ms', 'timestamp_type', 'compression', 'key', 'value']);
    expect(lines[1]).toContain(',k1,hello,');
    expect(lines[1]).toContain('2023-11-14T22:13:20.000Z');
    expect(lines[2]).toContain(",,'=1+1,");
    expect(lines).toHaveLength(3);
  });
  it('json keeps decoded and raw forms', () => {
    const out = JSON.parse(toJson([rec({ value: { size: 7, base64: 'eyJhIjoxfQ==', decoded: { a: 1 } } })]));
    expect(out[0]).toMatchObject({ partition: 1, offset: 42, key: 'k1', value: '{"a":1}', value_base64: 'eyJhIjoxfQ==', headers: [{ key: 'h', value: 'v' }] });
  });
  it('builds safe file names', () => {
    expect(exportFileName('a/b c', 'csv', new Date(0))).toBe('a_b_c-1970-01-01T00-00-00-000Z.csv');
  });
});
