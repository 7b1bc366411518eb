// A colour per record key so "same key, same partition, in order" is visible at a glance.
// The first keys seen get colours from a palette of well-separated hues (stable for the session);
// after that, a hash of the key picks the hue.

const PALETTE = [
  '#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4',
  '#f032e6', '#9a6324', '#469990', '#bfef45', '#808000', '#7b68ee',
];

export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // Finalise (murmur3 fmix32) so keys that differ in one character get far-apart values.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const assigned = new Map<string, string>();

export function hashColor(key: string): string {
  const h = fnv1a(key);
  return `hsl(${h % 360} ${55 + ((h >>> 9) % 25)}% ${45 + ((h >>> 17) % 12)}%)`;
}

/** Colour for a key; null (keyless) gets a neutral grey. */
export function keyColor(key: string | null | undefined): string {
  if (key === null || key === undefined) return 'var(--keyless)';
  let c = assigned.get(key);
  if (c === undefined) {
    c = assigned.size < PALETTE.length ? PALETTE[assigned.size] : hashColor(key);
    assigned.set(key, c);
  }
  return c;
}
