// The studio benchmark: a benchmark, not a test. It reports figures and asserts no timings.
//
//   1. tail:   a live tail in the message browser while a separate load generator (a small Python
//              confluent-kafka producer) writes keyed JSON records at a steady rate (default 20,000/s for
//              60 s) into a 6-partition topic: oxbow's memory, the page's frame times and JS heap, rows the
//              UI received and showed versus records produced, and how fast a record's detail opens.
//   2. topics: a fresh cluster with many single-partition topics (default 10,000, created with
//              AdminClient in batches of 500): oxbow's memory, GET /api/topics, the topics page (first
//              rows, search, scroll frames) and the cluster overview's load time.
//
// Usage: node tests/browser/bench-studio.mjs [--duration=60] [--rate=20000] [--topics=10000] [--parts=tail,topics]
// (or BENCH_DURATION_S, BENCH_RATE, BENCH_TOPICS, BENCH_PARTS). OXBOW_BIN picks the binary (default
// target/release/oxbow), BENCH_PYTHON the Python with confluent-kafka (default .venv/bin/python),
// CHROMIUM_BIN the browser (as in harness.mjs). Output: target/bench-studio/ (results.json, results.md,
// screenshots). Every wait is bounded; every process it starts is stopped at the end. All traffic stays
// on 127.0.0.1.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

process.env.OXBOW_BIN ||= 'target/release/oxbow';
const { ROOT, launchBrowser, startServe } = await import('./harness.mjs');

function opt(name, env, def) {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  if (a) return a.slice(name.length + 3);
  return process.env[env] || def;
}
const DURATION_S = Number(opt('duration', 'BENCH_DURATION_S', '60'));
const RATE = Number(opt('rate', 'BENCH_RATE', '20000'));
const TOPICS = Number(opt('topics', 'BENCH_TOPICS', '10000'));
const PARTS = opt('parts', 'BENCH_PARTS', 'tail,topics').split(',').map((s) => s.trim());
const PYTHON = resolve(ROOT, process.env.BENCH_PYTHON || '.venv/bin/python');
const OUT = join(ROOT, 'target', 'bench-studio');
const TAIL_PARTITIONS = 6;
const CREATE_BATCH = 500;
const PRODUCE_EVERY = 10; // one record to every 10th topic
// When the broker refuses topics (e.g. out of file descriptors) this many of the newest are deleted again,
// so that the studio in the same process can accept the browser's connections for the measurements.
const HEADROOM_TOPICS = 100;
const IDLE_S = 8;
const AFTER_S = 10;
// The whole run is bounded: a watchdog kills everything this long after the start.
const WATCHDOG_MS = (DURATION_S + 25 * 60) * 1000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const num = (s) => Number(String(s ?? '').replace(/[^\d-]/g, '')) || 0;
const round = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').trim().split(/\s+/).slice(0, 3).map(Number);
const log = (...a) => console.log(`[bench-studio ${new Date().toISOString().slice(11, 19)}]`, ...a);

// ---- processes: everything started here is stopped at the end, also on a signal or the watchdog ----
const children = new Set();
function killAll() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}
process.on('exit', killAll);
const watchdog = setTimeout(() => {
  console.error(`bench-studio: watchdog after ${WATCHDOG_MS / 1000}s; killing everything`);
  killAll();
  process.exit(2);
}, WATCHDOG_MS);
watchdog.unref();

// ---- /proc ----
function procStatus(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => num(s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'))?.[1]);
    return { rss_mib: round(kb('VmRSS') / 1024), hwm_mib: round(kb('VmHWM') / 1024), threads: num(s.match(/^Threads:\s+(\d+)/m)?.[1]) };
  } catch {
    return null;
  }
}
function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}
function openFileLimit(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/limits`, 'utf8').match(/^Max open files\s+(\S+)\s+(\S+)/m);
    return m ? { soft: m[1], hard: m[2] } : null;
  } catch {
    return null;
  }
}
/** Memory of Chromium: this node process's descendants except the ones listed (oxbow, python). */
function chromiumMemory(exclude = []) {
  const parent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const mine = new Set([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, pp] of parent) if (!mine.has(pid) && mine.has(pp)) { mine.add(pid); grew = true; }
  }
  mine.delete(process.pid);
  const skip = new Set(exclude);
  let pss = 0, rss = 0, rendererPss = 0, n = 0;
  for (const pid of mine) {
    if (skip.has(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!/chrom/i.test(cmd)) continue;
      const roll = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const p = num(roll.match(/^Pss:\s+(\d+)/m)?.[1]) / 1024;
      pss += p;
      rss += num(roll.match(/^Rss:\s+(\d+)/m)?.[1]) / 1024;
      if (cmd.includes('--type=renderer')) rendererPss += p;
      n++;
    } catch { /* gone */ }
  }
  return { processes: n, pss_mib: round(pss), rss_sum_mib: round(rss), renderer_pss_mib: round(rendererPss) };
}

/** Samples oxbow's VmRSS/VmHWM (and open fds) every second, labelled with the current phase. */
class Sampler {
  constructor(pid) {
    this.pid = pid;
    this.t0 = Date.now();
    this.phase = 'start';
    this.samples = [];
    this.timer = setInterval(() => this.sample(), 1000);
  }
  sample() {
    const s = procStatus(this.pid);
    if (s) this.samples.push({ t_s: round((Date.now() - this.t0) / 1000), phase: this.phase, ...s, fds: fdCount(this.pid) });
  }
  setPhase(p) {
    this.phase = p;
    this.sample();
  }
  stats(phase) {
    const xs = this.samples.filter((s) => s.phase === phase);
    if (!xs.length) return null;
    return {
      samples: xs.length,
      rss_avg_mib: round(xs.reduce((a, s) => a + s.rss_mib, 0) / xs.length),
      rss_max_mib: Math.max(...xs.map((s) => s.rss_mib)),
      rss_last_mib: xs.at(-1).rss_mib,
      hwm_mib: Math.max(...xs.map((s) => s.hwm_mib)),
      fds_max: Math.max(...xs.map((s) => s.fds ?? 0)),
    };
  }
  stop() {
    clearInterval(this.timer);
  }
}

function frameStats(frames) {
  if (!frames?.length) return null;
  const xs = [...frames].sort((a, b) => a - b);
  const q = (p) => round(xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]);
  const total = xs.reduce((a, b) => a + b, 0);
  return {
    frames: xs.length,
    fps: round((xs.length * 1000) / total),
    p50_ms: q(0.5),
    p95_ms: q(0.95),
    p99_ms: q(0.99),
    max_ms: round(xs.at(-1)),
    over_50ms_pct: round((100 * xs.filter((x) => x > 50).length) / xs.length, 2),
    over_50ms_time_pct: round((100 * xs.filter((x) => x > 50).reduce((a, b) => a + b, 0)) / total, 1),
  };
}

// Injected into every page: a requestAnimationFrame loop recording frame intervals while switched on,
// and a count of WebSocket messages and characters received (no parsing: that would cost frames).
const PAGE_SCRIPT = () => {
  const rec = { on: false, last: 0, n: 0, buf: new Float64Array(1 << 18), ws: { messages: 0, chars: 0 } };
  window.__bench = rec;
  const loop = (t) => {
    if (rec.on) {
      if (rec.last && rec.n < rec.buf.length) rec.buf[rec.n++] = t - rec.last;
      rec.last = t;
    }
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  rec.start = () => {
    rec.n = 0;
    rec.last = 0;
    rec.on = true;
  };
  rec.stop = () => {
    rec.on = false;
    return Array.from(rec.buf.subarray(0, rec.n));
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        rec.ws.messages++;
        rec.ws.chars += typeof e.data === 'string' ? e.data.length : e.data?.byteLength ?? e.data?.size ?? 0;
      });
    }
  };
};

async function heapMetrics(cdp, { gc = false } = {}) {
  if (gc) await cdp.send('HeapProfiler.collectGarbage').catch(() => {});
  const { metrics } = await cdp.send('Performance.getMetrics');
  const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
  return {
    js_heap_used_mib: round(m.JSHeapUsedSize / 2 ** 20),
    js_heap_total_mib: round(m.JSHeapTotalSize / 2 ** 20),
    dom_nodes: m.Nodes,
    task_s: m.TaskDuration,
    script_s: m.ScriptDuration,
    layout_s: m.LayoutDuration,
    style_s: m.RecalcStyleDuration,
  };
}

async function withTimeout(p, ms, what) {
  let t;
  try {
    return await Promise.race([p, new Promise((_, rej) => (t = setTimeout(() => rej(new Error(`${what}: no answer within ${ms / 1000}s`)), ms)))]);
  } finally {
    clearTimeout(t);
  }
}

// ---- load generators (Python confluent-kafka, written to a temp file) ----
const PRODUCER_PY = String.raw`
import json, sys, time
from confluent_kafka import Producer

bootstrap, topic, rate, duration = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
TICK = 0.01                  # produce what is due every 10 ms
BACKLOG_MAX = rate // 10     # at most 100 ms of records are caught up; beyond that they are counted as missed
st = {"sent": 0, "acked": 0, "errors": 0, "missed": 0, "bytes": 0, "queue_full": 0}
last_error = [None]

def delivered(err, msg):
    if err is None:
        st["acked"] += 1
    else:
        st["errors"] += 1
        last_error[0] = str(err)

p = Producer({"bootstrap.servers": bootstrap, "client.id": "oxbow-bench-studio", "linger.ms": 5,
              "queue.buffering.max.messages": 1000000, "queue.buffering.max.kbytes": 524288})
p.list_topics(topic, timeout=20)
EVENTS = ["page_view", "add_to_cart", "checkout", "search", "login"]
def value(i):
    return ('{"seq":%d,"user":"user-%d","event":"%s","amount":%d.%02d,"path":"/shop/item/%d",'
            '"session":"%08x%08x","ok":true}' % (i, i % 1000, EVENTS[i % 5], i % 500, i % 100, i % 9973,
                                                  (i * 2654435761) & 0xffffffff, i))
print(json.dumps({"event": "start"}), flush=True)
start = time.monotonic()
tick = 0
next_report = 1.0
while True:
    el = time.monotonic() - start
    if el >= duration:
        break
    target = int(rate * el) - st["missed"]
    if target - st["sent"] > BACKLOG_MAX:
        st["missed"] += target - st["sent"] - BACKLOG_MAX
        target = st["sent"] + BACKLOG_MAX
    while st["sent"] < target:
        i = st["sent"]
        v = value(i)
        try:
            p.produce(topic, v, key="user-%d" % (i % 1000), on_delivery=delivered)
        except BufferError:
            st["queue_full"] += 1
            break
        st["sent"] += 1
        st["bytes"] += len(v)
    p.poll(0)
    if el >= next_report:
        print(json.dumps({"event": "tick", "t": round(el, 3), **st}), flush=True)
        next_report += 1.0
    tick += 1
    time.sleep(max(0.0, start + tick * TICK - time.monotonic()))
window = time.monotonic() - start
acked_in_window = st["acked"]
left = p.flush(60)
print(json.dumps({"event": "done", "window_s": round(window, 3), "acked_in_window": acked_in_window,
                  "unflushed": left, "flush_s": round(time.monotonic() - start - window, 3),
                  "last_error": last_error[0], **st}), flush=True)
`;

const TOPICS_PY = String.raw`
import json, re, sys, time
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, prefix, count, batch, every, headroom = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
a = AdminClient({"bootstrap.servers": bootstrap, "client.id": "oxbow-bench-studio-admin"})
created, batches, errors = [], [], {}
def error_key(e):
    # one key per kind of error, not per topic
    return re.sub(r"\S*%s\d+\S*" % re.escape(prefix), "<topic>", str(e))[:300]
def note(d, k, n=1):
    if k in d or len(d) < 20:
        d[k] = d.get(k, 0) + n
t0 = time.monotonic()
for b in range(0, count, batch):
    names = ["%s%05d" % (prefix, i) for i in range(b, min(count, b + batch))]
    bt = time.monotonic()
    ok = 0
    try:
        fs = a.create_topics([NewTopic(n, num_partitions=1, replication_factor=1) for n in names],
                             operation_timeout=120, request_timeout=180)
        for n, f in fs.items():
            try:
                f.result(timeout=240)
                created.append(n)
                ok += 1
            except Exception as e:
                note(errors, error_key(e))
    except Exception as e:
        note(errors, "request: " + error_key(e), len(names))
    rec = {"from": b, "ok": ok, "failed": len(names) - ok, "seconds": round(time.monotonic() - bt, 3)}
    batches.append(rec)
    print(json.dumps({"event": "batch", "created": len(created), **rec}), flush=True)
    if ok < len(names):
        break  # refused: the broker is at a limit; measure with what exists
create_s = time.monotonic() - t0
created.sort()
# When the broker refused topics it may be out of file descriptors, and then it cannot accept the
# browser's connections either: delete the newest few (over this admin connection, still open) so the
# studio can be measured, with that many fewer topics.
deleted, delete_errors = [], {}
if len(created) < count and headroom > 0 and created:
    victims = created[-headroom:]
    try:
        fs = a.delete_topics(victims, operation_timeout=120, request_timeout=180)
        for n, f in fs.items():
            try:
                f.result(timeout=240)
                deleted.append(n)
            except Exception as e:
                note(delete_errors, error_key(e))
    except Exception as e:
        note(delete_errors, "request: " + error_key(e), len(victims))
    gone = set(deleted)
    created = [n for n in created if n not in gone]
    time.sleep(2)
sample = created[::every]
acked = [0]
failed = {}
def delivered(err, msg):
    if err is None:
        acked[0] += 1
    else:
        failed[str(err)[:200]] = failed.get(str(err)[:200], 0) + 1
pt = time.monotonic()
p = Producer({"bootstrap.servers": bootstrap, "client.id": "oxbow-bench-studio-sample", "linger.ms": 20})
for n in sample:
    while True:
        try:
            p.produce(n, '{"topic":"%s","hello":"bench"}' % n, key="k", on_delivery=delivered)
            break
        except BufferError:
            p.poll(0.05)
    p.poll(0)
left = p.flush(180)
print(json.dumps({"event": "done", "requested": count, "created": len(created) + len(deleted), "kept": len(created),
                  "deleted_for_headroom": len(deleted), "delete_errors": delete_errors, "create_s": round(create_s, 2),
                  "batches": batches, "errors": errors, "sampled": len(sample), "sample_acked": acked[0],
                  "sample_failed": failed, "sample_unflushed": left, "kept_names": created,
                  "produce_s": round(time.monotonic() - pt, 2)}), flush=True)
`;

/** Runs a Python script; `onLine` gets each JSON line; resolves with the last "done" line. */
function runPython(script, args, { onLine = () => {}, timeoutMs }) {
  const child = spawn(PYTHON, ['-u', script, ...args.map(String)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let buf = '';
  let err = '';
  let done = null;
  child.stdout.on('data', (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const m = JSON.parse(line);
        if (m.event === 'done') done = m;
        onLine(m);
      } catch { /* not ours */ }
    }
  });
  child.stderr.on('data', (d) => (err = (err + d.toString()).slice(-4000)));
  const finished = new Promise((res, rej) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`python ${script} did not finish within ${timeoutMs / 1000}s; stderr: ${err}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      children.delete(child);
      if (done) res(done);
      else rej(new Error(`python ${script} exited ${code} without a result; stderr: ${err}`));
    });
  });
  finished.catch(() => {}); // awaited later; a failure is reported there
  return { child, finished, exited: () => child.exitCode !== null || child.signalCode !== null };
}

async function apiFetch(serve, path, init = {}) {
  return fetch(serve.origin + path, { ...init, signal: AbortSignal.timeout(120_000), headers: { Authorization: `Bearer ${serve.token}`, ...(init.headers ?? {}) } });
}

async function openStudio(browser, serve) {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(30_000);
  await page.addInitScript(PAGE_SCRIPT);
  await page.goto(serve.readyUrl, { timeout: 60_000 });
  await page.getByRole('heading', { name: 'Cluster', exact: true }).waitFor({ timeout: 60_000 });
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Performance.enable');
  return { page, cdp };
}

// ---------------------------------------------------------------------------------------------
// Part 1: live tail at RATE records/s
// ---------------------------------------------------------------------------------------------
async function benchTail(tmp) {
  const r = { rate_target: RATE, duration_s: DURATION_S, partitions: TAIL_PARTITIONS, loadavg_start: loadavg() };
  let serve, browser, sampler, producer;
  const pageErrors = [];
  try {
    serve = await startServe();
    children.add(serve.child);
    r.oxbow_pid = serve.child.pid;
    sampler = new Sampler(serve.child.pid);
    const topic = `bench-tail-${Date.now().toString(36)}`;
    r.topic = topic;
    const created = await apiFetch(serve, '/api/topics', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: topic, partitions: TAIL_PARTITIONS, replication_factor: 1, configs: {} }),
    });
    if (created.status !== 201) throw new Error(`creating ${topic}: ${created.status} ${await created.text()}`);
    sampler.setPhase('before_browser');
    await sleep(5000);

    browser = await launchBrowser();
    browser.context.on('weberror', (e) => pageErrors.push(e.error().message));
    const { page, cdp } = await openStudio(browser, serve);
    await page.goto(`${serve.origin}/#/topics/${topic}/messages`);
    const sw = page.getByRole('switch', { name: 'Live tail' });
    await sw.waitFor({ timeout: 30_000 });
    sampler.setPhase('idle_page_open');
    await page.evaluate(() => window.__bench.start());
    await sleep(IDLE_S * 1000);
    r.idle_frames = frameStats(await page.evaluate(() => window.__bench.stop()));

    await sw.check({ timeout: 10_000 });
    await page.getByText('tailing').first().waitFor({ timeout: 10_000 });
    await sleep(1500); // let the tail's subscription start before producing
    r.heap_start = await heapMetrics(cdp, { gc: true });
    r.chromium_start = chromiumMemory([serve.child.pid]);

    const script = join(tmp, 'producer.py');
    writeFileSync(script, PRODUCER_PY);
    const ticks = [];
    let started = false;
    producer = runPython(script, [serve.kafka, topic, RATE, DURATION_S], {
      timeoutMs: (DURATION_S + 180) * 1000,
      onLine: (m) => {
        if (m.event === 'start') started = true;
        if (m.event === 'tick') ticks.push(m);
      },
    });
    const startDeadline = Date.now() + 30_000;
    while (!started && !producer.exited() && Date.now() < startDeadline) await sleep(20);
    if (!started) throw new Error('the producer did not start within 30 s');
    await page.evaluate(() => window.__bench.start());
    sampler.setPhase('tail');
    const tailT0 = Date.now();
    const busyStart = await heapMetrics(cdp);
    log(`tail: producing ${RATE} records/s for ${DURATION_S}s into ${topic}`);

    // Once a second: the page's row count (and the round trip of that evaluate, a responsiveness
    // signal); every 5 s Chromium's memory; three times a record's detail panel is opened.
    const ui = [];
    const detail = [];
    const clickAt = [0.25, 0.5, 0.75].map((f) => f * DURATION_S * 1000);
    let shotDone = false;
    while (!producer.exited() && Date.now() - tailT0 < (DURATION_S + 120) * 1000) {
      await sleep(1000 - ((Date.now() - tailT0) % 1000));
      const el = Date.now() - tailT0;
      const t0 = performance.now();
      const u = await withTimeout(page.evaluate(readUi), 30_000, 'reading the page').catch((e) => ({ error: e.message }));
      const entry = { t_s: round(el / 1000), eval_rtt_ms: round(performance.now() - t0), ...u };
      if (Math.round(el / 1000) % 5 === 0) entry.chromium = chromiumMemory([serve.child.pid, producer.child.pid]);
      ui.push(entry);
      if (clickAt.length && el >= clickAt[0] && el < DURATION_S * 1000) {
        clickAt.shift();
        detail.push(await openDetail(page).catch((e) => ({ error: e.message.split('\n')[0] })));
      }
      if (!shotDone && el >= DURATION_S * 500) {
        shotDone = true;
        await page.screenshot({ path: join(OUT, 'tail-during.png'), timeout: 30_000 }).catch(() => {});
      }
    }
    const done = await producer.finished;
    const frames = await page.evaluate(() => window.__bench.stop());
    r.heap_end = await heapMetrics(cdp);
    const tailS = (Date.now() - tailT0) / 1000;
    sampler.setPhase('after_stop');
    log(`tail: producer done (${done.acked} acked); ${AFTER_S}s after`);
    await sleep(AFTER_S * 1000);
    const final = await page.evaluate(readUi);
    sampler.sample();
    r.chromium_end = chromiumMemory([serve.child.pid]);
    r.heap_end_after_gc = await heapMetrics(cdp, { gc: true });
    await page.screenshot({ path: join(OUT, 'tail-after.png'), timeout: 30_000 }).catch(() => {});

    const busy = (k) => round(((r.heap_end[k] - busyStart[k]) / tailS) * 100, 1);
    r.main_thread_busy_pct = { task: busy('task_s'), script: busy('script_s'), layout: busy('layout_s'), style: busy('style_s') };
    const rates = ticks.map((t, i) => (i ? t.acked - ticks[i - 1].acked : t.acked));
    r.producer = {
      ...done,
      achieved_rate: round(done.acked_in_window / done.window_s, 0),
      sent_rate: round(done.sent / done.window_s, 0),
      acked_per_s_min: rates.length > 2 ? Math.min(...rates.slice(1, -1)) : null,
      acked_per_s_max: rates.length ? Math.max(...rates) : null,
      value_bytes_avg: round(done.bytes / Math.max(1, done.sent), 0),
    };
    r.frames_during_tail = frameStats(frames);
    r.ui = {
      rows_shown: final.rows,
      rows_dropped_from_view: final.droppedLocal,
      rows_skipped_by_studio: final.droppedServer,
      rows_received: final.rows + final.droppedLocal,
      records_produced: done.acked,
      received_pct: round((100 * (final.rows + final.droppedLocal)) / Math.max(1, done.acked), 1),
      skipped_pct: round((100 * final.droppedServer) / Math.max(1, done.acked), 1),
      unaccounted: done.acked - (final.rows + final.droppedLocal + final.droppedServer),
      dom_rows: final.domRows,
      notices: final.notices,
      ws_messages: final.ws.messages,
      ws_mib: round(final.ws.chars / 2 ** 20),
      eval_rtt_ms_max: Math.max(...ui.map((u) => u.eval_rtt_ms)),
      eval_rtt_ms_median: frameStats(ui.map((u) => u.eval_rtt_ms))?.p50_ms,
    };
    r.detail_open = detail;
    r.ui_timeline = ui;
    r.producer_timeline = ticks;
    r.memory = {
      before_browser: sampler.stats('before_browser'),
      idle_page_open: sampler.stats('idle_page_open'),
      tail: sampler.stats('tail'),
      after_stop_10s: sampler.stats('after_stop'),
    };
    await browser.close();
    browser = null;
    sampler.setPhase('browser_closed');
    await sleep(5000);
    r.memory.browser_closed_5s = sampler.stats('browser_closed');
    r.memory_samples = sampler.samples;
    r.page_errors = pageErrors;
  } catch (e) {
    r.error = e.stack ?? String(e);
    console.error(`bench-studio tail: ${r.error}`);
    if (sampler) r.memory_samples = sampler.samples;
  } finally {
    sampler?.stop();
    if (producer && !producer.exited()) producer.child.kill('SIGKILL');
    await browser?.close();
    await serve?.stop();
    r.loadavg_end = loadavg();
  }
  return r;
}

// Read in the page: what the message browser shows (row count, the dropped/skipped notices).
function readUi() {
  const n = (s) => Number(String(s ?? '').replace(/[^\d]/g, '')) || 0;
  const notices = [...document.querySelectorAll('.browser .alert')].map((a) => a.textContent.trim().replace(/\s+/g, ' '));
  const local = notices.map((t) => t.match(/; ([\d,]+) older rows were dropped/)).find(Boolean);
  const server = notices.map((t) => t.match(/skipped ([\d,]+) records/)).find(Boolean);
  return {
    rows: n(document.querySelector('[data-testid="row-count"]')?.textContent),
    droppedLocal: local ? n(local[1]) : 0,
    droppedServer: server ? n(server[1]) : 0,
    domRows: document.querySelectorAll('.vrow').length,
    notices,
    ws: { ...window.__bench.ws },
  };
}

/** Clicks a row in the middle of the grid while the tail runs; time until the detail panel shows. */
async function openDetail(page) {
  const grid = page.getByRole('grid', { name: 'Messages' });
  const box = await grid.boundingBox({ timeout: 10_000 });
  const t0 = performance.now();
  await page.mouse.click(box.x + box.width * 0.6, box.y + Math.min(box.height / 2, 120));
  const panel = page.getByRole('complementary', { name: 'Record detail' });
  await panel.waitFor({ timeout: 20_000 });
  const ms = performance.now() - t0;
  const offset = await panel.getByTestId('detail-offset').textContent({ timeout: 5_000 }).catch(() => null);
  const t1 = performance.now();
  await page.getByRole('button', { name: 'Close record detail' }).click({ timeout: 10_000 });
  await panel.waitFor({ state: 'detached', timeout: 10_000 });
  return { open_ms: round(ms), close_ms: round(performance.now() - t1), offset: offset?.trim() ?? null };
}

// ---------------------------------------------------------------------------------------------
// Part 2: many topics
// ---------------------------------------------------------------------------------------------
async function benchTopics(tmp) {
  const r = { topics_requested: TOPICS, batch: CREATE_BATCH, loadavg_start: loadavg() };
  let serve, browser, sampler;
  const pageErrors = [];
  const prefix = 'bench-t-';
  try {
    serve = await startServe();
    children.add(serve.child);
    r.oxbow_pid = serve.child.pid;
    r.open_file_limit = openFileLimit(serve.child.pid);
    sampler = new Sampler(serve.child.pid);
    sampler.setPhase('empty');
    await sleep(3000);
    sampler.setPhase('creating');
    const script = join(tmp, 'topics.py');
    writeFileSync(script, TOPICS_PY);
    log(`topics: creating ${TOPICS} topics in batches of ${CREATE_BATCH}`);
    const run = runPython(script, [serve.kafka, prefix, TOPICS, CREATE_BATCH, PRODUCE_EVERY, HEADROOM_TOPICS], {
      timeoutMs: 20 * 60_000,
      onLine: (m) => {
        if (m.event === 'batch') {
          if (m.created % 2000 === 0 || m.failed) log(`topics: ${m.created} created (batch at ${m.from}: ${m.ok} ok, ${m.failed} failed, ${m.seconds}s)`);
        }
      },
    });
    const done = await run.finished;
    r.creation = { ...done, kept_names: undefined };
    const N = done.kept;
    r.topics_created = done.created;
    r.topics_measured = N;
    r.all_created = done.created === TOPICS;
    if (!r.all_created) {
      log(`topics: only ${done.created} of ${TOPICS} topics were created (${Object.keys(done.errors)[0] ?? '?'}); ` +
        `${done.deleted_for_headroom} deleted again for file-descriptor headroom; measuring with ${N}`);
    }
    r.oxbow_alive = serve.child.exitCode === null && serve.child.signalCode === null;
    if (!r.oxbow_alive) throw new Error(`oxbow exited during topic creation (${serve.child.exitCode ?? serve.child.signalCode}); stderr tail: ${serve.stderr().slice(-2000)}`);
    r.fds_after_create = fdCount(serve.child.pid);
    sampler.setPhase('settled');
    await sleep(5000);

    // GET /api/topics: three spaced past the studio's 1 s list cache, then three back to back.
    const calls = [];
    for (let i = 0; i < 6; i++) {
      if (i < 3) await sleep(1500);
      const t0 = performance.now();
      const res = await apiFetch(serve, '/api/topics');
      const body = Buffer.from(await res.arrayBuffer());
      const ms = performance.now() - t0;
      let count = null;
      try {
        count = JSON.parse(body.toString('utf8')).length;
      } catch { /* reported as null */ }
      calls.push({ status: res.status, ms: round(ms), bytes: body.length, topics: count, gzip: res.headers.get('content-encoding') });
    }
    r.api_topics = calls;
    {
      const t0 = performance.now();
      const res = await apiFetch(serve, '/api/cluster');
      const c = await res.json();
      r.api_cluster = { status: res.status, ms: round(performance.now() - t0), topic_count: c.topic_count, partition_count: c.partition_count };
    }

    browser = await launchBrowser();
    browser.context.on('weberror', (e) => pageErrors.push(e.error().message));
    sampler.setPhase('ui');
    const { page, cdp } = await openStudio(browser, serve);
    r.heap_start = await heapMetrics(cdp, { gc: true });
    // Each measurement on its own: one that fails is recorded (with a screenshot) and the rest go on.
    r.step_errors = {};
    const step = async (name, fn) => {
      try {
        return await fn();
      } catch (e) {
        r.step_errors[name] = e.message.split('\n')[0];
        log(`topics: ${name} failed: ${r.step_errors[name]}`);
        await page.screenshot({ path: join(OUT, `FAILED-${name}.png`), timeout: 30_000 }).catch(() => {});
        return null;
      }
    };

    // The cluster overview, loaded afresh: until the topic count tile shows every topic.
    r.cluster_fresh_load_ms = await step('cluster_fresh_load', () => freshLoad(page, `${serve.origin}/?b=${Date.now()}#/cluster`, topicCountShownAt, N));

    // The topics page, loaded afresh: first rows, then every row.
    r.topics_fresh_load = await step('topics_fresh_load', () => freshTopics(page, `${serve.origin}/?b=${Date.now()}#/topics`, N));
    await page.screenshot({ path: join(OUT, 'topics-list.png'), timeout: 60_000 }).catch(() => {});

    // In-app navigation: Cluster link, then Topics link.
    r.cluster_nav_ms = await step('cluster_nav', () => navTime(page, 'Cluster', topicCountShownAt, N));
    await page.screenshot({ path: join(OUT, 'cluster-overview.png'), timeout: 60_000 }).catch(() => {});
    r.topics_nav_all_rows_ms = await step('topics_nav', () => navTime(page, 'Topics', rowsShownAt, N));

    // Idle on the topics page (its list poll runs every 4 s).
    r.topics_idle_frames = await step('topics_idle', async () => {
      await page.evaluate(() => window.__bench.start());
      await sleep(10_000);
      return frameStats(await page.evaluate(() => window.__bench.stop()));
    });

    // Search: one name set at once (as a paste), measured in the page until only the match is shown;
    // a shorter string matching about 100; cleared back to every topic; then typed key by key.
    const names = done.kept_names;
    const pick = names[Math.min(names.length - 1, 4321)];
    const pre = names[Math.min(names.length - 1, 1234)]?.slice(0, prefix.length + 3);
    const search = page.getByPlaceholder('Filter by name');
    r.search = {};
    if (pick) {
      r.search.paste_one = await step('search_one', () => page.evaluate(searchIn, { q: pick, expect: names.filter((n) => n.includes(pick)).length }));
      await page.screenshot({ path: join(OUT, 'topics-search.png'), timeout: 60_000 }).catch(() => {});
      const expectPre = names.filter((n) => n.includes(pre)).length;
      r.search.paste_prefix = await step('search_prefix', async () => ({ q: pre, ...(await page.evaluate(searchIn, { q: pre, expect: expectPre })) }));
      r.search.clear_to_all = await step('search_clear', () => page.evaluate(searchIn, { q: '', expect: N }));
      await sleep(1000);
      r.search.typed_key_by_key = await step('search_typed', async () => {
        const t0 = performance.now();
        await search.pressSequentially(pick, { timeout: 60_000 });
        const typedMs = performance.now() - t0;
        await page.waitForFunction(() => document.querySelectorAll('tr[data-topic]').length === 1, null, { timeout: 60_000, polling: 50 });
        const oneRow = performance.now() - t0;
        return { chars: pick.length, typing_ms: round(typedMs), until_one_row_ms: round(oneRow), after_last_key_ms: round(oneRow - typedMs) };
      });
      await step('search_reset', () => page.evaluate(searchIn, { q: '', expect: N }));
    }

    // Scroll the whole list over ~5 s, programmatically, one step per frame.
    await sleep(1000);
    r.scroll = await step('scroll', async () => {
      const x = await page.evaluate(scrollList, 5000);
      x.frame_stats = frameStats(x.frames);
      delete x.frames;
      return x;
    });

    r.heap_end = await heapMetrics(cdp);
    r.heap_end_after_gc = await heapMetrics(cdp, { gc: true });
    r.chromium = chromiumMemory([serve.child.pid]);
    r.memory = {
      empty: sampler.stats('empty'),
      creating: sampler.stats('creating'),
      settled: sampler.stats('settled'),
      ui: sampler.stats('ui'),
    };
    r.memory_samples = sampler.samples;
    r.page_errors = pageErrors;
  } catch (e) {
    r.error = e.stack ?? String(e);
    console.error(`bench-studio topics: ${r.error}`);
    if (sampler) {
      r.memory_samples = sampler.samples;
      r.memory ??= Object.fromEntries(['empty', 'creating', 'settled', 'ui'].map((k) => [k, sampler.stats(k)]));
    }
    if (serve) r.oxbow_stderr_tail = serve.stderr().slice(-3000);
  } finally {
    sampler?.stop();
    await browser?.close();
    await serve?.stop();
    r.loadavg_end = loadavg();
  }
  return r;
}

// In the page: performance.now() once the cluster overview's topic count shows at least n, else null.
function topicCountShownAt(n) {
  const el = document.querySelector('[data-testid="topic-count"]');
  return el && Number(el.textContent.replace(/[^\d]/g, '')) >= n ? performance.now() : null;
}
// In the page: performance.now() once the topics table has at least n rows, else null.
function rowsShownAt(n) {
  // windowed table: the rows it holds (aria-rowcount, minus the header row), with rows rendered
  const t = document.querySelector('table[aria-label="Topics"]');
  return t && Number(t.getAttribute('aria-rowcount')) - 1 >= n && document.querySelector('tr[data-topic]') ? performance.now() : null;
}

/** A full page load; ms from navigation start (the page's time origin) until `at(arg)` answers. */
async function freshLoad(page, url, at, arg) {
  await page.goto(url, { timeout: 120_000, waitUntil: 'commit' });
  const h = await page.waitForFunction(at, arg, { timeout: 120_000, polling: 'raf' });
  return round(await h.jsonValue());
}

async function freshTopics(page, url, n) {
  await page.goto(url, { timeout: 120_000, waitUntil: 'commit' });
  const first = await page.waitForFunction(rowsShownAt, 1, { timeout: 120_000, polling: 'raf' });
  const all = await page.waitForFunction(rowsShownAt, n, { timeout: 120_000, polling: 'raf' });
  return { first_rows_ms: round(await first.jsonValue()), all_rows_ms: round(await all.jsonValue()), rows: await page.evaluate(() => document.querySelectorAll('tr[data-topic]').length) };
}

/** Clicks a main navigation link; ms (measured in the page) until `at(arg)` answers. */
async function navTime(page, link, at, arg) {
  const t0 = await page.evaluate(() => performance.now());
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link, exact: true }).click({ timeout: 60_000 });
  const h = await page.waitForFunction(at, arg, { timeout: 120_000, polling: 'raf' });
  return round((await h.jsonValue()) - t0);
}

// In the page: sets the topics search box at once and times until the table shows `expect` rows.
function searchIn({ q, expect }) {
  const input = document.querySelector('input[type="search"][placeholder="Filter by name"]');
  const t0 = performance.now();
  input.value = q;
  input.dispatchEvent(new Event('input', { bubbles: true }));
  return new Promise((res) => {
    const check = () => {
      const t = document.querySelector('table[aria-label="Topics"]');
      const n = Number(t.getAttribute('aria-rowcount')) - 1;
      const dom = document.querySelectorAll('tr[data-topic]').length;
      const ms = performance.now() - t0;
      if (n === expect && (expect === 0 || dom > 0)) res({ ms: Math.round(ms * 10) / 10, rows: n, dom_rows: dom });
      else if (ms > 60_000) res({ ms: null, rows: n, timed_out: true });
      else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  });
}

// In the page: scrolls the topic table's scroll container (its nearest scrolling ancestor) from top to
// bottom over `ms`, one step per frame.
function scrollList(ms) {
  let el = document.querySelector('table[aria-label="Topics"]');
  while (el && !(el.scrollHeight > el.clientHeight + 10 && /auto|scroll/.test(getComputedStyle(el).overflowY))) el = el.parentElement;
  el ??= document.scrollingElement;
  const max = el.scrollHeight - el.clientHeight;
  el.scrollTop = 0;
  const frames = [];
  return new Promise((res) => {
    let last = 0;
    let t0 = 0;
    const step = (t) => {
      if (!t0) t0 = t;
      if (last) frames.push(t - last);
      last = t;
      const p = (t - t0) / ms;
      el.scrollTop = Math.min(1, p) * max;
      if (p >= 1) res({ container: el === document.scrollingElement ? 'document' : `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}`, scroll_height_px: el.scrollHeight, frames });
      else requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------
const f = (x, unit = '') => (x === null || x === undefined ? '—' : `${typeof x === 'number' ? x.toLocaleString('en-US') : x}${unit}`);
const fr = (s) => (s ? `p50 ${s.p50_ms} / p95 ${s.p95_ms} / p99 ${s.p99_ms} / max ${s.max_ms} ms; ${s.over_50ms_pct}% of ${s.frames} frames > 50 ms (${s.fps} fps)` : '—');
const mem = (m) => (m ? `RSS avg ${m.rss_avg_mib} / max ${m.rss_max_mib} MiB, HWM ${m.hwm_mib} MiB` : '—');
const heap = (h) => (h ? `${h.js_heap_used_mib} MiB used / ${h.js_heap_total_mib} MiB, ${f(h.dom_nodes)} DOM nodes` : '—');

function markdown(res) {
  const L = [];
  L.push('# Studio benchmark', '', `${res.started_at} · ${res.oxbow_bin} · ${res.cpus} CPUs · chromium ${res.chromium_version ?? '?'}`, '');
  const t = res.tail;
  if (t) {
    L.push(`## Live tail: ${f(t.rate_target)} records/s for ${t.duration_s} s into ${t.partitions} partitions`, '');
    if (t.error) L.push('**Error:** `' + t.error.split('\n')[0] + '`', '');
    L.push('| measure | value |', '|---|---|');
    L.push(`| load average (1/5/15 min) at start / end | ${t.loadavg_start?.join(' ')} / ${t.loadavg_end?.join(' ')} |`);
    if (t.producer) {
      L.push(`| produced (acked) | ${f(t.producer.acked)} records in ${t.producer.window_s} s, ${f(t.producer.value_bytes_avg)} B values; errors ${t.producer.errors}, missed by the schedule ${f(t.producer.missed)} |`);
      L.push(`| achieved produce rate | ${f(t.producer.achieved_rate)} records/s (per second min ${f(t.producer.acked_per_s_min)}, max ${f(t.producer.acked_per_s_max)}) |`);
    }
    const m = t.memory ?? {};
    L.push(`| oxbow memory before the browser | ${mem(m.before_browser)} |`);
    L.push(`| oxbow memory, idle with the page open | ${mem(m.idle_page_open)} |`);
    L.push(`| oxbow memory during the tail | ${mem(m.tail)} |`);
    L.push(`| oxbow memory 10 s after the producer stopped | ${m.after_stop_10s ? `RSS ${m.after_stop_10s.rss_last_mib} MiB, HWM ${m.after_stop_10s.hwm_mib} MiB` : '—'} |`);
    L.push(`| oxbow memory 5 s after the browser closed | ${m.browser_closed_5s ? `RSS ${m.browser_closed_5s.rss_last_mib} MiB` : '—'} |`);
    L.push(`| frame time, idle page | ${fr(t.idle_frames)} |`);
    L.push(`| frame time during the tail | ${fr(t.frames_during_tail)} |`);
    if (t.main_thread_busy_pct) L.push(`| renderer main thread busy during the tail | ${t.main_thread_busy_pct.task}% (script ${t.main_thread_busy_pct.script}%, layout ${t.main_thread_busy_pct.layout}%, style ${t.main_thread_busy_pct.style}%) |`);
    L.push(`| JS heap at start (after GC) | ${heap(t.heap_start)} |`);
    L.push(`| JS heap at end / after GC | ${heap(t.heap_end)} / ${heap(t.heap_end_after_gc)} |`);
    L.push(`| Chromium memory (PSS, all processes) start / end | ${t.chromium_start?.pss_mib ?? '—'} / ${t.chromium_end?.pss_mib ?? '—'} MiB (renderer ${t.chromium_start?.renderer_pss_mib ?? '—'} / ${t.chromium_end?.renderer_pss_mib ?? '—'} MiB) |`);
    if (t.ui) {
      L.push(`| rows shown in the table | ${f(t.ui.rows_shown)} (${f(t.ui.dom_rows)} in the DOM) |`);
      L.push(`| rows received by the UI (shown + dropped from view) | ${f(t.ui.rows_received)} = ${t.ui.received_pct}% of produced |`);
      L.push(`| records skipped by the studio ("sampled" notice) | ${f(t.ui.rows_skipped_by_studio)} = ${t.ui.skipped_pct}% of produced |`);
      L.push(`| produced − received − skipped | ${f(t.ui.unaccounted)} |`);
      L.push(`| WebSocket | ${f(t.ui.ws_messages)} messages, ${t.ui.ws_mib} MiB |`);
      L.push(`| page.evaluate round trip during the tail | median ${t.ui.eval_rtt_ms_median} ms, max ${t.ui.eval_rtt_ms_max} ms |`);
    }
    if (t.detail_open) L.push(`| click a row → detail panel shown (during the tail) | ${t.detail_open.map((d) => (d.error ? `error: ${d.error}` : `${d.open_ms} ms`)).join(', ')} |`);
    if (t.ui?.notices?.length) L.push(`| notices shown | ${t.ui.notices.map((n) => n.replace(/\|/g, '/')).join(' · ')} |`);
    L.push(`| uncaught page errors | ${t.page_errors?.length ?? '—'} |`);
    L.push('');
  }
  const p = res.topics;
  if (p) {
    L.push(`## ${f(p.topics_requested)} topics`, '');
    if (p.error) L.push('**Error:** `' + p.error.split('\n')[0] + '`', '');
    if (p.topics_created !== undefined && !p.all_created) {
      L.push(`**Only ${f(p.topics_created)} of ${f(p.topics_requested)} topics were created** (first error: ${(Object.keys(p.creation?.errors ?? {})[0] ?? '?').replace(/\|/g, '/')}). ` +
        `At that point oxbow had no file descriptors left for the studio's connections, so the newest ${f(p.creation?.deleted_for_headroom)} were deleted again: ` +
        `the figures below are for **${f(p.topics_measured)} topics**.`, '');
    }
    if (p.step_errors && Object.keys(p.step_errors).length) L.push(`Steps that failed: ${Object.entries(p.step_errors).map(([k, v]) => `${k} (${v})`).join('; ')}`, '');
    L.push('| measure | value |', '|---|---|');
    L.push(`| load average (1/5/15 min) at start / end | ${p.loadavg_start?.join(' ')} / ${p.loadavg_end?.join(' ')} |`);
    L.push(`| oxbow open-file limit (soft/hard); open fds | ${p.open_file_limit ? `${p.open_file_limit.soft} / ${p.open_file_limit.hard}` : '—'}; max ${f(p.memory?.creating?.fds_max)} while creating, ${f(p.fds_after_create)} before the measurements |`);
    if (p.creation) {
      L.push(`| topics created | ${f(p.creation.created)} of ${f(p.creation.requested)} in ${p.creation.create_s} s (${p.creation.batches.length} batches of ${p.batch}; slowest batch ${Math.max(...p.creation.batches.map((b) => b.seconds))} s) |`);
      L.push(`| one record to every ${PRODUCE_EVERY}th topic | ${f(p.creation.sample_acked)} of ${f(p.creation.sampled)} acked in ${p.creation.produce_s} s |`);
    }
    const m = p.memory ?? {};
    L.push(`| oxbow memory empty | ${mem(m.empty)} |`);
    L.push(`| oxbow memory while creating | ${mem(m.creating)} |`);
    L.push(`| oxbow memory with the topics, idle | ${mem(m.settled)} |`);
    L.push(`| oxbow memory while the UI is used | ${mem(m.ui)} |`);
    if (p.api_topics) L.push(`| GET /api/topics (3 past the 1 s cache, then 3 back to back) | ${p.api_topics.map((c) => `${c.ms} ms`).join(', ')}; ${f(p.api_topics[0].bytes)} bytes${p.api_topics[0].gzip ? ` (${p.api_topics[0].gzip})` : ''}, ${f(p.api_topics[0].topics)} topics |`);
    if (p.api_cluster) L.push(`| GET /api/cluster | ${p.api_cluster.ms} ms (${f(p.api_cluster.topic_count)} topics, ${f(p.api_cluster.partition_count)} partitions) |`);
    L.push(`| cluster overview, fresh page load → topic count shown | ${f(p.cluster_fresh_load_ms, ' ms')} |`);
    L.push(`| cluster overview, in-app navigation → topic count shown | ${f(p.cluster_nav_ms, ' ms')} |`);
    if (p.topics_fresh_load) L.push(`| topics page, fresh page load → first rows / all ${f(p.topics_fresh_load.rows)} rows | ${f(p.topics_fresh_load.first_rows_ms, ' ms')} / ${f(p.topics_fresh_load.all_rows_ms, ' ms')} |`);
    L.push(`| topics page, in-app navigation → all rows | ${f(p.topics_nav_all_rows_ms, ' ms')} |`);
    L.push(`| topics page idle (list poll every 4 s), frame time | ${fr(p.topics_idle_frames)} |`);
    const s = p.search ?? {};
    if (s.paste_one) L.push(`| search: whole name set at once → 1 row | ${f(s.paste_one.ms, ' ms')} |`);
    if (s.paste_prefix) L.push(`| search changed to "${s.paste_prefix.q}" → ${f(s.paste_prefix.rows)} rows | ${f(s.paste_prefix.ms, ' ms')} |`);
    if (s.clear_to_all) L.push(`| search cleared → all ${f(s.clear_to_all.rows)} rows back | ${f(s.clear_to_all.ms, ' ms')} |`);
    if (s.typed_key_by_key) L.push(`| search typed key by key (${s.typed_key_by_key.chars} keys) → 1 row | ${f(s.typed_key_by_key.until_one_row_ms, ' ms')} from the first key, ${f(s.typed_key_by_key.after_last_key_ms, ' ms')} after the last (typing through CDP took ${s.typed_key_by_key.typing_ms} ms) |`);
    if (p.scroll) L.push(`| scroll the whole list over 5 s (${p.scroll.container}, ${f(p.scroll.scroll_height_px)} px) | ${fr(p.scroll.frame_stats)} |`);
    L.push(`| JS heap start / end / end after GC | ${heap(p.heap_start)} / ${heap(p.heap_end)} / ${heap(p.heap_end_after_gc)} |`);
    L.push(`| Chromium memory (PSS, all processes) at the end | ${p.chromium?.pss_mib ?? '—'} MiB (renderer ${p.chromium?.renderer_pss_mib ?? '—'} MiB) |`);
    L.push(`| uncaught page errors | ${p.page_errors?.length ?? '—'} |`);
    L.push('');
  }
  if (p?.search) L.push('Search times run from the input event to the first frame whose table shows exactly the expected rows (the page filters the list it holds at once and re-reads `GET /api/topics?search=` 200 ms after the last input).', '');
  L.push('Frame times come from a requestAnimationFrame loop in the page (headless Chromium, software rendering, 1280×800); ',
    'memory is VmRSS/VmHWM of the oxbow process sampled every second; figures depend on the machine and its load.');
  return L.join('\n') + '\n';
}

async function main() {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'oxbow-bench-studio-'));
  const res = {
    started_at: new Date().toISOString(),
    oxbow_bin: process.env.OXBOW_BIN,
    cpus: (readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm) ?? []).length,
    params: { duration_s: DURATION_S, rate: RATE, topics: TOPICS, parts: PARTS },
  };
  try {
    const { execFileSync } = await import('node:child_process');
    res.chromium_version = execFileSync(process.env.CHROMIUM_BIN || '/usr/bin/chromium', ['--version'], { timeout: 20_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch { /* optional */ }
  try {
    if (PARTS.includes('tail')) {
      log('part 1: live tail');
      res.tail = await benchTail(tmp);
    }
    if (PARTS.includes('topics')) {
      log('part 2: many topics');
      res.topics = await benchTopics(tmp);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    res.finished_at = new Date().toISOString();
    writeFileSync(join(OUT, 'results.json'), JSON.stringify(res, null, 2));
    const md = markdown(res);
    writeFileSync(join(OUT, 'results.md'), md);
    console.log('\n' + md.split('\n').filter((l) => !/^\|---/.test(l)).join('\n'));
    console.log(`bench-studio: wrote ${join(OUT, 'results.json')}, results.md and screenshots`);
  }
  const failed = (res.tail?.error ? 1 : 0) + (res.topics?.error ? 1 : 0);
  return failed ? 1 : 0;
}

const code = await main().catch((e) => {
  console.error(e);
  return 1;
});
killAll();
process.exit(code);
