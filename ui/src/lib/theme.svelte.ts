export type ThemeChoice = 'system' | 'light' | 'dark';
const KEY = 'oxbow.theme';

function systemDark(): boolean {
  return typeof matchMedia !== 'undefined' && matchMedia('(prefers-color-scheme: dark)').matches;
}

function load(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    if (v === 'light' || v === 'dark' || v === 'system') return v;
  } catch {
    /* storage unavailable */
  }
  return 'system';
}

export const theme = $state({ choice: load() as ThemeChoice, effective: 'light' as 'light' | 'dark' });

function apply() {
  theme.effective = theme.choice === 'system' ? (systemDark() ? 'dark' : 'light') : theme.choice;
  document.documentElement.dataset.theme = theme.effective;
}

export function initTheme(): void {
  apply();
  if (typeof matchMedia !== 'undefined') {
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', apply);
  }
}

export function setTheme(c: ThemeChoice): void {
  theme.choice = c;
  try {
    localStorage.setItem(KEY, c);
  } catch {
    /* ignore */
  }
  apply();
}
