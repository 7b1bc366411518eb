/** Saves text as a file through a temporary object URL (works in browsers and the desktop webview). */
export function download(text: string, fileName: string, type: string): void {
  const blob = new Blob([text], { type: `${type};charset=utf-8` });
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = fileName;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}
