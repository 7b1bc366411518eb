// Test harness: starts a real `oxbow serve --ephemeral` and Debian's chromium (never a downloaded browser).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = join(ROOT, 'target', 'browser-artifacts');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

export function oxbowBin() {
  const bin = process.env.OXBOW_BIN || 'target/debug/oxbow';
  return resolve(ROOT, bin);
}

/**
 * Starts `oxbow serve` on free ports and resolves once the `ready studio` line is printed (after one
 * `ready kafka` line per broker: three by default). Each call is a cluster of its own (its own data and
 * profiles file); `extraArgs` go after the harness's own flags. `kafka` is one broker's address (for
 * bootstrapping a client), `kafkaAll` every broker's, in the order printed.
 */
export function startServe({ timeoutMs = 90_000, extraArgs = [] } = {}) {
  const bin = oxbowBin();
  if (!existsSync(bin)) throw new Error(`oxbow binary not found at ${bin} (build it with \`cargo build -p oxbow\` or set OXBOW_BIN)`);
  // Connection profiles go to a file of this run, never the user's own config.
  const scratch = mkdtempSync(join(tmpdir(), 'oxbow-browser-'));
  const args = ['serve', '--ephemeral', '--kafka-port', '0', '--studio-port', '0', '--profiles-file', join(scratch, 'profiles.json'), ...extraArgs];
  const child = spawn(bin, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d.toString()).slice(-20_000);
  });
  return new Promise((resolvePromise, reject) => {
    let out = '';
    let kafka = null;
    let kafkaAll = [];
    let studio = null;
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`oxbow serve printed no "ready studio" line within ${timeoutMs / 1000}s.\nstdout:\n${out}\nstderr (tail):\n${stderr.slice(-3000)}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!studio) reject(new Error(`oxbow serve exited (${code}) before it was ready.\nstdout:\n${out}\nstderr (tail):\n${stderr.slice(-3000)}`));
    });
    child.stdout.on('data', (d) => {
      out += d.toString();
      kafkaAll = [];
      // Complete lines only: a chunk may end inside one.
      for (const line of out.split('\n').slice(0, -1)) {
        const k = line.match(/^ready kafka (\S+)/);
        if (k) kafkaAll.push(k[1]);
        const s = line.match(/^ready studio (http:\/\/\S+)/);
        if (s) studio = s[1];
      }
      kafka = kafkaAll[0] ?? null;
      if (kafka && studio) {
        clearTimeout(timer);
        const u = new URL(studio);
        const token = new URLSearchParams(u.hash.slice(1)).get('token');
        resolvePromise({
          child,
          kafka,
          kafkaAll,
          readyUrl: studio,
          origin: u.origin,
          token,
          stderr: () => stderr,
          stop: async () => {
            await stopChild(child);
            rmSync(scratch, { recursive: true, force: true });
          },
        });
      }
    });
  });
}

function stopChild(child) {
  return new Promise((res) => {
    if (child.exitCode !== null) return res();
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(t);
      res();
    });
    child.kill('SIGTERM');
  });
}

/** Launches Debian's chromium headless with a fresh profile directory. */
export async function launchBrowser({ colorScheme = 'light' } = {}) {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
  const profile = mkdtempSync(join(tmpdir(), 'oxbow-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1280, height: 800 },
    colorScheme,
    acceptDownloads: true,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Produces lines with Debian's kcat (librdkafka). `keyed` uses "key:value" lines. */
export function kcatProduce(broker, topic, lines, { keyed = false, headers = [], partition = null } = {}) {
  const args = ['-b', broker, '-t', topic, '-P', '-q'];
  if (keyed) args.push('-K', ':');
  for (const h of headers) args.push('-H', h);
  if (partition !== null) args.push('-p', String(partition));
  const r = spawnSync('kcat', args, { input: lines.join('\n') + '\n', encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`kcat failed (${r.status}): ${r.stderr}`);
}

/**
 * Empties a suite's screenshot folder and returns it: `sub` (e.g. `replication`) is a subfolder of the
 * artifacts folder; without it the suite owns the files at the top (subfolders of other suites are kept, so
 * the order the runner picks does not matter).
 */
export function freshArtifacts(sub = null) {
  const dir = sub ? join(ARTIFACTS, sub) : ARTIFACTS;
  if (sub) rmSync(dir, { recursive: true, force: true });
  else if (existsSync(dir)) {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (!e.isDirectory()) rmSync(join(dir, e.name), { force: true });
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Polls `fn` until it returns something truthy (errors count as not yet), or fails naming `what`. */
export async function until(what, fn, timeoutMs = 30_000, everyMs = 250) {
  const end = Date.now() + timeoutMs;
  let last;
  // Bounded by the deadline.
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

/** The number in a cell's text ("1,234 records" → 1234). */
export const num = (s) => Number(String(s).replace(/[^\d-]/g, ''));

/**
 * The helpers every browser test file needs, bound to its serve, artifacts directory and page. They are given as
 * getters because a test file sets them in `before`.
 * - `shot(page, name)`: a screenshot into the artifacts directory;
 * - `api(path, init)`: a studio API call with the serve's token (JSON unless `init.headers` says otherwise);
 * - `shooting(name, fn)`: wraps a test so a failure leaves a `FAILED-name` screenshot.
 */
export function testKit({ serve, artifacts, page }) {
  const shot = (p, name) => p.screenshot({ path: join(artifacts(), `${name}.png`), fullPage: false });
  const api = (path, init = {}) => fetch(serve().origin + path, {
    ...init,
    headers: { Authorization: `Bearer ${serve().token}`, 'Content-Type': 'application/json', ...(init.headers ?? {}) },
  });
  const shooting = (name, fn) => async (t) => {
    try {
      await fn(t);
    } catch (e) {
      await shot(page(), `FAILED-${name}`).catch(() => {});
      throw e;
    }
  };
  return { shot, api, shooting };
}
