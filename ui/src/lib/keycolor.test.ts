import { describe, expect, it } from 'vitest';
import { hashColor, keyColor } from './keycolor';

describe('keyColor', () => {
  it('is stable per key and distinct for the first keys', () => {
    const keys = Array.from({ length: 12 }, (_, i) => `user-${i}`);
    const colours = keys.map(keyColor);
    expect(new Set(colours).size).toBe(12);
    expect(keys.map(keyColor)).toEqual(colours);
  });
  it('greys out keyless records and hashes later keys', () => {
    expect(keyColor(null)).toBe('var(--keyless)');
    expect(keyColor('late-key')).toBe(hashColor('late-key'));
    expect(hashColor('a')).not.toBe(hashColor('b'));
  });
});
