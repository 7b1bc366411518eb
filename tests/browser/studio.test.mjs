// Browser end-to-end tests: the real studio UI, served by a real `oxbow serve --ephemeral`, driven in
// Debian's chromium. Records are produced with kcat (librdkafka), as any outside client would.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freshArtifacts, kcatProduce, launchBrowser, num, ROOT, startServe, until } from './harness.mjs';

const TOPIC = `browser-e2e-${Date.now().toString(36)}`;
const KEYS = ['user-0', 'user-1', 'user-2', 'user-3', 'user-4'];
const KEYED = 40;
const KEYLESS = 10;
const INJECTION = '=1+2';
const TOTAL = KEYED + 1 + KEYLESS;

let serve;
let browser;
let page;
let artifacts;
const pageErrors = [];

async function shot(p, name) {
  await p.screenshot({ path: join(artifacts, `${name}.png`), fullPage: false });
}


// Many topics in one CreateTopics (or DeleteTopics) request, through confluent-kafka in the repository's
// .venv (scripts/setup-test-deps.sh): kcat cannot create topics, and one request keeps it quick.
const PYTHON = process.env.OXBOW_PYTHON || join(ROOT, '.venv', 'bin', 'python');
const ADMIN_PY = String.raw`
import json, sys
from confluent_kafka.admin import AdminClient, NewTopic
broker, op = sys.argv[1], sys.argv[2]
names = json.load(sys.stdin)
a = AdminClient({"bootstrap.servers": broker, "client.id": "oxbow-browser-test-admin"})
if op == "create":
    fs = a.create_topics([NewTopic(n, num_partitions=1, replication_factor=1) for n in names], operation_timeout=120, request_timeout=180)
else:
    fs = a.delete_topics(names, operation_timeout=120, request_timeout=180)
errors = {}
for n, f in fs.items():
    try:
        f.result(timeout=240)
    except Exception as e:
        errors[n] = str(e)
print(json.dumps({"ok": len(names) - len(errors), "errors": dict(list(errors.items())[:5])}))
`;
function adminTopics(broker, op, names) {
  const r = spawnSync(PYTHON, ['-c', ADMIN_PY, broker, op], { input: JSON.stringify(names), encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${op} topics failed (${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** The soft open-file limit this process (and the oxbow it starts) has, or null when unknown. */
function openFileLimit() {
  try {
    const m = readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+(\d+)/m);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

async function api(path, init = {}) {
  return fetch(serve.origin + path, { ...init, headers: { Authorization: `Bearer ${serve.token}`, ...(init.headers ?? {}) } });
}

describe('oxbow studio in a browser', { timeout: 600_000 }, () => {
  before(async () => {
    artifacts = freshArtifacts();
    serve = await startServe();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    browser.context.on('weberror', (e) => pageErrors.push(e.error().message));
  });

  after(async () => {
    await browser?.close();
    await serve?.stop();
  });

  it('refuses requests without the token: the API answers 401 and the UI shows the token screen', async () => {
    const none = await fetch(`${serve.origin}/api/cluster`);
    assert.equal(none.status, 401);
    const wrong = await fetch(`${serve.origin}/api/cluster`, { headers: { Authorization: 'Bearer not-the-token' } });
    assert.equal(wrong.status, 401);
    const right = await api('/api/cluster');
    assert.equal(right.status, 200);

    await page.goto(serve.origin + '/');
    await page.getByRole('heading', { name: 'Missing or wrong token' }).waitFor();
    assert.ok(await page.getByText('oxbow serve').first().isVisible());
    await shot(page, '01-token-screen');

    await page.goto(serve.origin + '/#token=wrong-token');
    await page.getByRole('heading', { name: 'Missing or wrong token' }).waitFor();
    assert.ok(!page.url().includes('wrong-token'), 'the token is removed from the address bar');
  });

  it('opens the cluster overview from the ready URL and hides the token from the address bar', async () => {
    await page.goto(serve.readyUrl);
    await page.getByRole('heading', { name: 'Cluster', exact: true }).waitFor();
    await until('broker count', async () => num(await page.getByTestId('broker-count').textContent()) >= 1);
    assert.ok(!page.url().includes('token='), `token still in URL: ${page.url()}`);
    const brokers = page.getByRole('table', { name: 'Brokers' });
    await brokers.getByRole('row').nth(1).waitFor();
    await until('throughput chart', () => page.getByRole('img', { name: /throughput/i }).isVisible(), 15_000).catch(() => {});
    await shot(page, '02-cluster-light');
    await page.getByRole('button', { name: /Theme:/ }).click(); // system → light
    await page.getByRole('button', { name: /Theme:/ }).click(); // light → dark
    await page.waitForTimeout(1200);
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await shot(page, '03-cluster-dark');
    await page.getByRole('button', { name: /Theme:/ }).click(); // dark → system (light in this browser)
  });

  it('creates a topic in the UI, with inline errors from the broker', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Topics' }).click();
    await page.getByRole('heading', { name: 'Topics' }).waitFor();
    await page.getByRole('button', { name: 'Create topic' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create topic' });
    await dialog.getByLabel('Topic name').fill(TOPIC);
    await dialog.getByLabel('Partitions').fill('3');
    await dialog.getByLabel('Replication factor').fill('1');
    await dialog.getByLabel('retention.ms').fill('3600000');
    await shot(page, '04-create-topic-dialog');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.locator(`tr[data-topic="${TOPIC}"]`).waitFor({ timeout: 30_000 });
    await page.getByRole('status').filter({ hasText: `Topic ${TOPIC} created` }).waitFor();

    // The same name again: the broker's TOPIC_ALREADY_EXISTS is shown in the dialog, not a blank screen.
    await page.getByRole('button', { name: 'Create topic' }).click();
    await dialog.getByLabel('Topic name').fill(TOPIC);
    await dialog.getByRole('button', { name: 'Create' }).click();
    const err = dialog.getByRole('alert').first();
    await err.waitFor();
    assert.match((await err.textContent()) ?? '', /exist/i);
    await shot(page, '05-create-topic-error');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    // A config value the broker refuses (segments smaller than the broker allows): shown by that field.
    await page.getByRole('button', { name: 'Create topic' }).click();
    await dialog.getByLabel('Topic name').fill(`${TOPIC}-bad`);
    await dialog.getByLabel('segment.bytes').fill('2048');
    await dialog.getByRole('button', { name: 'Create' }).click();
    const cfgErr = dialog.locator('.cfg').filter({ hasText: 'segment.bytes' }).getByRole('alert');
    await cfgErr.waitFor();
    assert.match((await cfgErr.textContent()) ?? '', /INVALID_CONFIG|segment\.bytes/);
    await shot(page, '05b-create-topic-config-error');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    const row = page.locator(`tr[data-topic="${TOPIC}"]`);
    assert.equal(num(await row.locator('td').nth(1).textContent()), 3);
    await shot(page, '06-topics');

    const res = await api(`/api/topics/${TOPIC}/configs`);
    const configs = await res.json();
    assert.equal(configs.find((c) => c.name === 'retention.ms')?.value, '3600000');
  });

  let tail;
  it('shows records produced by kcat in the live tail and the partition strips growing', async () => {
    await page.goto(`${serve.origin}/#/topics/${TOPIC}`);
    await page.getByRole('heading', { name: 'Partition logs' }).waitFor();
    for (const p of [0, 1, 2]) assert.equal(num(await page.getByTestId(`hw-${p}`).textContent()), 0);

    // A second tab: the token lives in each tab's sessionStorage, so it opens the ready URL first.
    tail = await browser.context.newPage();
    await tail.goto(serve.readyUrl);
    await tail.getByRole('heading', { name: 'Cluster', exact: true }).waitFor();
    await tail.goto(`${serve.origin}/#/topics/${TOPIC}/messages`);
    await tail.getByRole('switch', { name: 'Live tail' }).check();
    await tail.getByText('tailing').first().waitFor();
    await page.waitForTimeout(1500); // let both WebSocket subscriptions start before producing

    const keyed = [];
    for (let i = 0; i < KEYED; i++) keyed.push(`${KEYS[i % KEYS.length]}:{"n":${i},"note":"hello, world"}`);
    keyed.push(`user-1:${INJECTION}`);
    kcatProduce(serve.kafka, TOPIC, keyed, { keyed: true, headers: ['trace=e2e'] });
    kcatProduce(serve.kafka, TOPIC, Array.from({ length: KEYLESS }, (_, i) => `keyless-${i}`));

    await until(`${TOTAL} rows in the live tail`, async () => num(await tail.getByTestId('row-count').textContent()) >= TOTAL, 45_000);
    assert.equal(num(await tail.getByTestId('row-count').textContent()), TOTAL);
    await shot(tail, '07-messages-live-tail');

    await until('strips to reach the produced records', async () => {
      let sum = 0;
      for (const p of [0, 1, 2]) sum += num(await page.getByTestId(`hw-${p}`).textContent());
      return sum === TOTAL;
    }, 45_000);
    // Records are coloured by key in the recent-records lanes.
    await until('recent-record lanes', async () => (await page.locator('.lane .rec').count()) >= TOTAL - 5, 15_000);
    await shot(page, '08-partitions-live');
  });

  it('key tester: the librdkafka partition it predicts is where kcat put that key', async () => {
    await page.getByLabel('Key', { exact: true }).fill('user-1');
    const rdk = page.getByTestId('rdk-partition');
    await rdk.waitFor();
    const predicted = num(await rdk.textContent());
    const java = num(await page.getByTestId('java-partition').textContent());
    assert.ok(predicted >= 0 && predicted < 3 && java >= 0 && java < 3);
    await shot(page, '09-key-tester');
    await page.getByRole('button', { name: /Theme:/ }).click(); // system → light
    await page.getByRole('button', { name: /Theme:/ }).click(); // light → dark
    await page.waitForTimeout(300);
    await shot(page, '09b-partitions-dark');
    await page.getByRole('button', { name: /Theme:/ }).click(); // dark → system

    const res = await api(`/api/topics/${TOPIC}/messages?scope=oldest&limit=500&key_decoder=string&value_decoder=string`);
    const page1 = await res.json();
    const partitions = new Set(page1.messages.filter((m) => m.key?.decoded === 'user-1').map((m) => m.partition));
    assert.deepEqual([...partitions], [predicted], 'all user-1 records sit in the predicted partition');
  });

  it("opens a record's detail panel", async () => {
    const grid = tail.getByRole('grid', { name: 'Messages' });
    const rowsInDom = await grid.getByRole('row').count();
    assert.ok(rowsInDom <= TOTAL);
    await grid.getByRole('row').first().click();
    const detail = tail.getByRole('complementary', { name: 'Record detail' });
    await detail.waitFor();
    const partition = num(await detail.getByTestId('detail-partition').textContent());
    const offset = num(await detail.getByTestId('detail-offset').textContent());
    assert.ok(partition >= 0 && partition < 3);
    assert.ok(offset >= 0);
    await detail.getByRole('heading', { name: 'Headers' }).waitFor();
    assert.ok(await detail.getByRole('button', { name: 'Copy value', exact: true }).isVisible());
    await shot(tail, '10-record-detail');

    // Keyboard: arrow down moves to the next record.
    await grid.focus();
    await tail.keyboard.press('ArrowDown');
    await until('detail to follow the keyboard', async () => {
      const p2 = num(await detail.getByTestId('detail-partition').textContent());
      const o2 = num(await detail.getByTestId('detail-offset').textContent());
      return p2 !== partition || o2 !== offset;
    }, 5_000);
  });

  it('exports all loaded rows as JSON and CSV, with the CSV guarded against formula injection', async () => {
    await tail.getByRole('switch', { name: 'Live tail' }).uncheck();
    const [jsonDl] = await Promise.all([
      tail.waitForEvent('download'),
      tail.getByRole('button', { name: 'Export all as JSON' }).click(),
    ]);
    const jsonPath = join(artifacts, 'export.json');
    await jsonDl.saveAs(jsonPath);
    const records = JSON.parse(readFileSync(jsonPath, 'utf8'));
    assert.equal(records.length, TOTAL);
    const inj = records.find((r) => r.value === INJECTION);
    assert.ok(inj, 'the =1+2 record is in the JSON export');
    assert.equal(inj.key, 'user-1');
    assert.ok(records.some((r) => r.key === null && /^keyless-/.test(r.value)));
    assert.ok(records.filter((r) => r.key !== null).every((r) => r.headers.some((h) => h.key === 'trace' && h.value === 'e2e')));
    assert.ok(records.every((r) => Number.isInteger(r.partition) && Number.isInteger(r.offset) && r.timestamp));

    const [csvDl] = await Promise.all([
      tail.waitForEvent('download'),
      tail.getByRole('button', { name: 'Export all as CSV' }).click(),
    ]);
    const csvPath = join(artifacts, 'export.csv');
    await csvDl.saveAs(csvPath);
    const csv = readFileSync(csvPath, 'utf8');
    const lines = csv.trimEnd().split('\r\n');
    assert.equal(lines.length, TOTAL + 1);
    assert.ok(lines[0].startsWith('partition,offset,timestamp,'));
    assert.ok(csv.includes(`,user-1,'${INJECTION},`), 'formula-like cell is prefixed with a quote');
    assert.ok(!/(^|,)=1\+2/m.test(csv), 'no cell starts with =');
    assert.ok(csv.includes('"{""n"":0,""note"":""hello, world""}"'), 'cells with commas and quotes are quoted');

    // Export of a selection: two rows selected → two records.
    const grid = tail.getByRole('grid', { name: 'Messages' });
    await grid.getByRole('checkbox').nth(0).check();
    await grid.getByRole('checkbox').nth(1).check();
    const [selDl] = await Promise.all([
      tail.waitForEvent('download'),
      tail.getByRole('button', { name: 'Export selection as JSON' }).click(),
    ]);
    const selPath = join(artifacts, 'export-selection.json');
    await selDl.saveAs(selPath);
    assert.equal(JSON.parse(readFileSync(selPath, 'utf8')).length, 2);
  });

  it('reads with a read scope, partition selection and filter', async () => {
    await tail.getByRole('button', { name: 'Clear' }).click();
    await tail.getByLabel('Read scope').selectOption('oldest');
    await tail.getByLabel('Filter', { exact: true }).fill('keyless-');
    await tail.getByRole('button', { name: 'Load', exact: true }).click();
    await until('filtered rows', async () => num(await tail.getByTestId('row-count').textContent()) === KEYLESS, 20_000);
    await shot(tail, '11-messages-filtered');

    // A decoder that does not fit the bytes: the detail panel reports that decoder's error.
    await tail.getByLabel('Value decoder').selectOption('int32');
    await tail.getByRole('button', { name: 'Load', exact: true }).click();
    const grid = tail.getByRole('grid', { name: 'Messages' });
    await until('rows decoded as int32', async () => ((await grid.getByRole('row').first().textContent()) ?? '').includes('⚠'), 20_000);
    await grid.getByRole('row').first().click();
    const detail = tail.getByRole('complementary', { name: 'Record detail' });
    await detail.getByRole('alert').filter({ hasText: 'int32 decoder' }).waitFor();
    await shot(tail, '11b-decoder-error');
    await tail.getByLabel('Value decoder').selectOption('string');

    // Partition selection: only partition 1.
    await tail.getByLabel('Filter', { exact: true }).fill('');
    await tail.locator('summary', { hasText: 'All partitions' }).click();
    await tail.getByRole('checkbox', { name: 'Partition 1', exact: true }).check();
    await tail.locator('summary').first().click();
    await tail.getByRole('button', { name: 'Load', exact: true }).click();
    await until('only partition 1 rows', async () => {
      const cells = await grid.locator('.c-p').allTextContents();
      return cells.length > 0 && cells.every((c) => c.trim() === '1');
    }, 20_000);
    await shot(tail, '11c-messages-partition-1');
    await tail.locator('summary').first().click();
    await tail.getByRole('checkbox', { name: 'All partitions' }).check();
    await tail.locator('summary').first().click();
  });

  it('produces from the produce panel and shows partitions and offsets', async () => {
    await page.goto(`${serve.origin}/#/topics/${TOPIC}/produce`);
    await page.getByLabel('Key', { exact: true }).fill('user-1');
    await page.getByLabel('Value', { exact: true }).fill('{"from":"ui"}');
    await page.getByRole('button', { name: '+ Add header' }).click();
    await page.getByLabel('Header key').fill('origin');
    await page.getByLabel('Header value').fill('studio');
    await page.getByLabel('Count').fill('5');
    await page.getByRole('button', { name: 'Send 5 records' }).click();
    const table = page.getByRole('table', { name: 'Produce result' });
    await table.waitFor();
    const rows = table.getByRole('row');
    assert.equal(await rows.count(), 2, 'one key → one partition');
    assert.match((await page.getByText(/records? written/).textContent()) ?? '', /5/);
    await shot(page, '12-produce');

    // A bad value for the chosen encoding: the error is shown in the panel.
    await page.getByLabel('Value encoding').selectOption('json');
    await page.getByLabel('Value', { exact: true }).fill('{not json');
    await page.getByLabel('Count').fill('1');
    await page.getByRole('button', { name: 'Send record' }).click();
    await page.getByRole('alert').filter({ hasText: 'Produce failed' }).waitFor();
    await shot(page, '13-produce-error');
  });

  it('keeps the message table windowed with thousands of rows', async () => {
    const many = Array.from({ length: 6000 }, (_, i) => `bulk-${i}-${'x'.repeat(40)}`);
    kcatProduce(serve.kafka, TOPIC, many);
    await tail.getByLabel('Filter', { exact: true }).fill('');
    await tail.getByLabel('Read scope').selectOption('oldest');
    await tail.getByLabel('Limit').selectOption('5000');
    await tail.getByRole('button', { name: 'Load', exact: true }).click();
    await until('5000 rows loaded', async () => num(await tail.getByTestId('row-count').textContent()) === 5000, 60_000);
    const grid = tail.getByRole('grid', { name: 'Messages' });
    const inDom = await grid.getByRole('row').count();
    assert.ok(inDom > 0 && inDom < 100, `only the visible rows are rendered (${inDom})`);
    await grid.focus();
    await tail.keyboard.press('End');
    const detail = tail.getByRole('complementary', { name: 'Record detail' });
    await detail.waitFor();
    await until('the last row in view', async () => (await grid.getByRole('row').last().getAttribute('aria-rowindex')) === '5000', 5_000);
    await shot(tail, '12b-messages-5000-rows');
  });

  it('live-tails past 100,000 rows: keeps the newest 100,000 with a notice, and the table stays windowed', async () => {
    const topic = `scale-${TOPIC}`;
    const created = await api('/api/topics', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      // Small (1 MiB) segments, so the partition strips show segment boundaries.
      body: JSON.stringify({ name: topic, partitions: 3, replication_factor: 1, configs: { 'segment.bytes': '1048576' } }),
    });
    assert.equal(created.status, 201, await created.text());
    const p = await browser.context.newPage();
    try {
      await p.goto(serve.readyUrl);
      await p.getByRole('heading', { name: 'Cluster', exact: true }).waitFor();
      await p.goto(`${serve.origin}/#/topics/${topic}/messages`);
      await p.getByRole('switch', { name: 'Live tail' }).check();
      await p.getByText('tailing').first().waitFor();
      await p.waitForTimeout(1000);
      // Produced in chunks so the studio's bounded per-client buffer keeps up (it samples when it cannot).
      const N = 105_000;
      const CHUNK = 3_000;
      const PAD = 'p'.repeat(48);
      for (let c = 0; c < N; c += CHUNK) {
        const lines = Array.from({ length: Math.min(CHUNK, N - c) }, (_, j) => `k${(c + j) % 50}:{"i":${c + j},"pad":"${PAD}"}`);
        kcatProduce(serve.kafka, topic, lines, { keyed: true });
        await p.waitForTimeout(600);
      }
      let last = -1;
      let stable = 0;
      let count = 0;
      while (stable < 5) {
        await p.waitForTimeout(1000);
        count = num(await p.getByTestId('row-count').textContent());
        stable = count === last ? stable + 1 : 0;
        last = count;
      }
      const sampled = await p.getByText(/The studio skipped/).count();
      console.log(`scale: ${count} rows in the table; studio sampling notice shown: ${sampled > 0}`);
      assert.ok(count > 0 && count <= 100_000, `rows in memory are capped (${count})`);
      if (count === 100_000) await p.getByText(/Keeping the newest 100,000 rows/).waitFor();
      const grid = p.getByRole('grid', { name: 'Messages' });
      const frames = await p.evaluate(async () => {
        const vp = document.querySelector('[role=grid]');
        const times = [];
        let prev = performance.now();
        const end = prev + 2000;
        await new Promise((res) => {
          const step = (t) => {
            times.push(t - prev);
            prev = t;
            vp.scrollTop += 900;
            if (t < end) requestAnimationFrame(step);
            else res();
          };
          requestAnimationFrame(step);
        });
        times.sort((a, b) => a - b);
        return { frames: times.length, p95_ms: Math.round(times[Math.floor(times.length * 0.95)]) };
      });
      console.log(`scale: scrolling ${count} rows: ${frames.frames} frames in 2 s, p95 frame ${frames.p95_ms} ms (reported, not asserted)`);
      const inDom = await grid.getByRole('row').count();
      assert.ok(inDom < 100, `only visible rows are rendered (${inDom})`);
      await shot(p, '12c-messages-100k-rows');

      await p.goto(`${serve.origin}/#/topics/${topic}`);
      await p.getByRole('heading', { name: 'Partition logs' }).waitFor();
      const detail = await (await api(`/api/topics/${topic}`)).json();
      const segments = detail.partitions.reduce((n, x) => n + (x.segments?.length ?? 0), 0);
      console.log(`scale: ${segments} segments over ${detail.partitions.length} partitions`);
      await p.waitForTimeout(1500);
      await shot(p, '12d-partitions-segments');
    } finally {
      await p.close();
      await api(`/api/topics/${topic}`, { method: 'DELETE' });
    }
  });

  it('edits a config with a diff before saving', async () => {
    await page.goto(`${serve.origin}/#/topics/${TOPIC}/configs`);
    const input = page.getByLabel('Value of retention.ms');
    await input.waitFor();
    await input.fill('7200000');
    await page.getByRole('button', { name: /Review 1 change/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Review configuration changes' });
    await dialog.getByText('7200000').waitFor();
    await shot(page, '14-configs-diff');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved 1 change' }).waitFor();
    const configs = await (await api(`/api/topics/${TOPIC}/configs`)).json();
    assert.equal(configs.find((c) => c.name === 'retention.ms')?.value, '7200000');
  });

  it('opens the Add connection form from #/profiles?new=1 (the desktop menu\'s New Connection…)', async () => {
    await page.goto(`${serve.origin}/#/cluster`);
    await page.getByRole('heading', { name: 'Cluster', exact: true }).waitFor();
    await page.evaluate(() => { window.location.hash = '#/profiles?new=1'; });
    const dialog = page.getByRole('dialog', { name: 'Add connection' });
    await dialog.waitFor();
    assert.equal(new URL(page.url()).hash, '#/profiles', 'the query is dropped so a reload does not reopen the form');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('shows connection profiles without secrets', async () => {
    await page.goto(`${serve.origin}/#/profiles`);
    await page.getByRole('heading', { name: 'Connections' }).waitFor();
    const table = page.getByRole('table', { name: 'Connection profiles' });
    await table.getByRole('row').nth(1).waitFor();

    // A SASL profile with a password: listed as "set (hidden)", the password never comes back.
    const secret = `pw-${Date.now()}-do-not-show`;
    await page.getByRole('button', { name: 'Add connection' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add connection' });
    await dialog.getByLabel('Name', { exact: true }).fill('e2e-sasl');
    await dialog.getByLabel('Bootstrap servers').fill('127.0.0.1:1');
    await dialog.getByLabel('Security protocol').selectOption('SASL_PLAINTEXT');
    await dialog.getByLabel('SASL mechanism').selectOption('SCRAM-SHA-256');
    await dialog.getByLabel('Username').fill('alice');
    await dialog.getByLabel('Password').fill(secret);
    await dialog.getByRole('button', { name: 'Save profile' }).click();
    const row = table.locator('tr[data-profile="e2e-sasl"]');
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /set \(hidden\)/);
    assert.ok(!(await page.content()).includes(secret), 'the password is not in the page');
    const listed = await (await api('/api/profiles')).text();
    assert.ok(!listed.includes(secret), 'the password is not in the API response');
    assert.equal(JSON.parse(listed).profiles.find((x) => x.name === 'e2e-sasl')?.has_password, true);
    assert.ok(!(await (await api('/api/cluster')).text()).includes(secret), 'nor in the cluster answer');
    await shot(page, '15-profiles');
    // Nor after a reload, in the browser's storage, or back in the form when adding another profile.
    await page.reload();
    await row.waitFor();
    assert.ok(!(await page.content()).includes(secret), 'the password is not in the reloaded page');
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }));
    assert.ok(!stored.includes(secret), 'the password is not in web storage');
    await page.getByRole('button', { name: 'Add connection' }).click();
    await dialog.getByLabel('Security protocol').selectOption('SASL_PLAINTEXT');
    assert.equal(await dialog.getByLabel('Password').inputValue(), '', 'the password field starts empty');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    // Saving the profile again without a password keeps the stored one, still hidden.
    const resaved = await api('/api/profiles', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'e2e-sasl', bootstrap_servers: '127.0.0.1:2', security_protocol: 'SASL_PLAINTEXT', sasl_mechanism: 'SCRAM-SHA-256', username: 'alice' }),
    });
    const resavedText = await resaved.text();
    assert.ok(resaved.ok, resavedText);
    assert.ok(!resavedText.includes(secret));
    assert.equal(JSON.parse(resavedText).has_password, true, 'the stored password is kept');

    await page.getByRole('button', { name: 'Delete profile e2e-sasl' }).click();
    await page.getByRole('dialog', { name: 'Delete profile e2e-sasl' }).getByRole('button', { name: 'Delete profile' }).click();
    await row.waitFor({ state: 'detached' });
  });

  it('switches to a second cluster with a connection profile, and back', async () => {
    // A second cluster, with a topic made there by a real client (kcat auto-creates it).
    const second = await startServe();
    const otherTopic = `only-second-${Date.now().toString(36)}`;
    const name = 'e2e-second';
    try {
      kcatProduce(second.kafka, otherTopic, ['one', 'two', 'three']);
      const profiles = await (await api('/api/profiles')).json();
      const builtin = profiles.profiles.find((x) => x.builtin)?.name;
      assert.ok(builtin, 'the studio lists the cluster it started with');

      await page.goto(`${serve.origin}/#/profiles`);
      const table = page.getByRole('table', { name: 'Connection profiles' });
      await table.getByRole('row').nth(1).waitFor();
      await page.getByRole('button', { name: 'Add connection' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add connection' });
      await dialog.getByLabel('Name', { exact: true }).fill(name);
      await dialog.getByLabel('Bootstrap servers').fill(second.kafka);
      assert.equal(await dialog.getByLabel('Security protocol').inputValue(), 'PLAINTEXT', 'a new profile starts from an empty form');
      await dialog.getByRole('button', { name: 'Save profile' }).click();
      const row = table.locator(`tr[data-profile="${name}"]`);
      await row.waitFor().catch(async (e) => {
        await shot(page, 'FAILED-add-second-profile');
        throw new Error(`${e.message}\ndialog: ${await dialog.textContent().catch(() => '(closed)')}`);
      });
      await page.getByRole('button', { name: `Switch to ${name}` }).click();
      await page.getByRole('status').filter({ hasText: `Switched to ${name}` }).waitFor();
      await row.getByText('active', { exact: true }).waitFor();
      await page.locator('header').getByText(name, { exact: true }).waitFor(); // the header names the cluster
      const cluster = await (await api('/api/cluster')).json();
      assert.equal(cluster.profile, name);
      await shot(page, '16a-profiles-switched');

      // The topics list is the second cluster's: its topic, not the first one's.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Topics' }).click();
      await page.locator(`tr[data-topic="${otherTopic}"]`).waitFor({ timeout: 30_000 });
      assert.equal(await page.locator(`tr[data-topic="${TOPIC}"]`).count(), 0, 'the first cluster’s topic is not listed');
      const topics = (await (await api('/api/topics')).json()).map((t) => t.name);
      assert.ok(topics.includes(otherTopic) && !topics.includes(TOPIC), `topics on the second cluster: ${topics}`);
      await until('the second cluster’s records', async () => {
        const d = await (await api(`/api/topics/${otherTopic}`)).json();
        return d.partitions.reduce((n, x) => n + (x.high_watermark ?? 0), 0) === 3;
      }, 15_000);
      await shot(page, '16b-topics-second-cluster');

      // An external cluster has no inside view: the replication view says so, the overview has no offline tile.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Replication' }).click();
      await page.getByRole('heading', { name: 'Only for the embedded cluster' }).waitFor({ timeout: 15_000 });
      await shot(page, '16c-replication-external');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Cluster' }).click();
      await page.getByTestId('broker-count').waitFor();
      await page.waitForTimeout(1000);
      assert.equal(await page.getByTestId('offline-count').count(), 0, 'no offline count without the inside view');

      // And back: the first cluster's topic again, not the second one's.
      await page.goto(`${serve.origin}/#/profiles`);
      await page.getByRole('button', { name: `Switch to ${builtin}` }).click();
      await page.getByRole('status').filter({ hasText: `Switched to ${builtin}` }).waitFor();
      assert.equal((await (await api('/api/cluster')).json()).profile, builtin);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Topics' }).click();
      await page.locator(`tr[data-topic="${TOPIC}"]`).waitFor({ timeout: 30_000 });
      assert.equal(await page.locator(`tr[data-topic="${otherTopic}"]`).count(), 0);

      await page.goto(`${serve.origin}/#/profiles`);
      await page.getByRole('button', { name: `Delete profile ${name}` }).click();
      await page.getByRole('dialog', { name: `Delete profile ${name}` }).getByRole('button', { name: 'Delete profile' }).click();
      await table.locator(`tr[data-profile="${name}"]`).waitFor({ state: 'detached' });
    } finally {
      await second.stop();
    }
  });

  it('loads more messages page by page: older ones for newest, later ones for oldest', async () => {
    const topic = `more-${TOPIC}`;
    const created = await api('/api/topics', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: topic, partitions: 3, replication_factor: 1, configs: {} }),
    });
    assert.equal(created.status, 201, await created.text());
    // 100 + 100 + 50 records, one partition after the other, so timestamps order them p0, p1, p2.
    const counts = [100, 100, 50];
    for (const [partition, n] of counts.entries()) {
      kcatProduce(serve.kafka, topic, Array.from({ length: n }, (_, i) => `p${partition}-${i}`), { partition });
      await new Promise((r) => setTimeout(r, 20));
    }
    const range = (p, from, to) => Array.from({ length: to - from }, (_, i) => `${p}:${from + i}`);
    const sorted = (xs) => [...xs].sort();
    const p = await browser.context.newPage();
    try {
      await p.goto(serve.readyUrl);
      await p.getByRole('heading', { name: 'Cluster', exact: true }).waitFor();
      await p.goto(`${serve.origin}/#/topics/${topic}/messages`);
      const rowCount = () => p.getByTestId('row-count').textContent().then(num);
      const more = p.getByRole('button', { name: 'Load more' });
      const reason = p.getByTestId('more-reason');
      // What the table holds, read from a JSON export of all rows (the table renders only what is in view).
      let exports = 0;
      const shown = async () => {
        const [dl] = await Promise.all([p.waitForEvent('download'), p.getByRole('button', { name: 'Export all as JSON' }).click()]);
        const path = join(artifacts, `load-more-${++exports}.json`);
        await dl.saveAs(path);
        const records = JSON.parse(readFileSync(path, 'utf8'));
        for (let i = 1; i < records.length; i++) {
          const a = records[i - 1];
          const b = records[i];
          assert.ok(a.timestamp_ms < b.timestamp_ms || (a.timestamp_ms === b.timestamp_ms && (a.partition < b.partition || (a.partition === b.partition && a.offset < b.offset))), `rows stay in table order at ${i}`);
        }
        return records.map((r) => `${r.partition}:${r.offset}`);
      };

      await p.getByLabel('Read scope').selectOption('newest');
      await p.getByLabel('Limit').selectOption('100');
      await p.getByRole('button', { name: 'Load', exact: true }).click();
      await until('the newest 100', async () => (await rowCount()) === 100);
      assert.deepEqual(sorted(await shown()), sorted([...range(1, 50, 100), ...range(2, 0, 50)]));
      assert.ok(await more.isEnabled());
      assert.match((await reason.textContent()) ?? '', /older/);
      assert.equal(await more.getAttribute('aria-describedby'), 'more-reason');

      await more.click();
      await until('200 rows', async () => (await rowCount()) === 200);
      assert.deepEqual(sorted(await shown()), sorted([...range(0, 50, 100), ...range(1, 0, 100), ...range(2, 0, 50)]));
      await p.getByTestId('more-note').filter({ hasText: 'Loaded 100 older records' }).waitFor();
      // Keyboard: the button is focusable and Enter presses it.
      await more.focus();
      await p.keyboard.press('Enter');
      await until('all 250 rows', async () => (await rowCount()) === 250);
      assert.deepEqual(sorted(await shown()), sorted([...range(0, 0, 100), ...range(1, 0, 100), ...range(2, 0, 50)]));
      await until('Load more disabled', () => more.isDisabled(), 10_000);
      assert.match((await reason.textContent()) ?? '', /No older records/);
      await shot(p, '17-messages-load-more-newest');

      // Oldest: later records, page by page.
      await p.getByLabel('Read scope').selectOption('oldest');
      await p.getByRole('button', { name: 'Load', exact: true }).click();
      await until('the oldest 100', async () => (await rowCount()) === 100);
      assert.deepEqual(sorted(await shown()), sorted(range(0, 0, 100)));
      assert.match((await reason.textContent()) ?? '', /after those shown/);
      await more.click();
      await until('200 rows', async () => (await rowCount()) === 200);
      assert.deepEqual(sorted(await shown()), sorted([...range(0, 0, 100), ...range(1, 0, 100)]));
      await more.click();
      await until('all 250 rows', async () => (await rowCount()) === 250);
      await until('Load more disabled', () => more.isDisabled(), 10_000);
      assert.match((await reason.textContent()) ?? '', /No later records/);
      await shot(p, '17b-messages-load-more-oldest');

      // Records produced afterwards make "more" available again (the high watermarks are watched).
      kcatProduce(serve.kafka, topic, Array.from({ length: 10 }, (_, i) => `late-${i}`), { partition: 2 });
      await until('Load more enabled by new records', () => more.isEnabled(), 20_000);
      await more.click();
      await until('260 rows', async () => (await rowCount()) === 260);
      assert.deepEqual(sorted(await shown()), sorted([...range(0, 0, 100), ...range(1, 0, 100), ...range(2, 0, 60)]));

      // Clear: nothing to continue from.
      await p.getByRole('button', { name: 'Clear' }).click();
      assert.ok(await more.isDisabled());
      assert.match((await reason.textContent()) ?? '', /Load a page first/);
    } finally {
      await p.close();
      await api(`/api/topics/${topic}`, { method: 'DELETE' });
    }
  });

  it('shows what retention removed: the log start moves and the strip marks the removed offsets', async () => {
    // A cluster of its own whose retention runs every 500 ms (default: 5 minutes).
    const third = await startServe({ extraArgs: ['--retention-check-interval-ms', '500'] });
    const p = await browser.context.newPage();
    const api3 = (path, init = {}) => fetch(third.origin + path, { ...init, headers: { Authorization: `Bearer ${third.token}`, ...(init.headers ?? {}) } });
    try {
      const topic = `retention-${TOPIC}`;
      const created = await api3('/api/topics', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        // 1 MiB segments (the broker's smallest) and keep only about 1 MiB.
        body: JSON.stringify({ name: topic, partitions: 1, replication_factor: 1, configs: { 'segment.bytes': '1048576', 'retention.bytes': '1048576' } }),
      });
      assert.equal(created.status, 201, await created.text());
      const N = 4000;
      const pad = 'r'.repeat(1000);
      kcatProduce(third.kafka, topic, Array.from({ length: N }, (_, i) => `${i}:${pad}`));

      const part = await until('retention to move the log start', async () => {
        const d = await (await api3(`/api/topics/${topic}`)).json();
        const x = d.partitions[0];
        return x.high_watermark === N && x.log_start_offset > 0 ? x : null;
      }, 30_000);
      const lso = part.log_start_offset;
      assert.ok(lso < N, `log start ${lso} is below the high watermark`);
      assert.equal(part.segments[0].base_offset, lso, 'whole segments were removed: the first one left starts at the log start');
      const kept = part.segments.reduce((n, s) => n + s.size_bytes, 0);
      assert.ok(kept < 3 * 1048576, `about retention.bytes is kept (${kept} bytes in ${part.segments.length} segments)`);
      const oldest = await (await api3(`/api/topics/${topic}/messages?scope=oldest&limit=1`)).json();
      assert.equal(oldest.messages[0].offset, lso, 'reading from oldest starts at the new log start');
      console.log(`retention: log start ${lso} of ${N}, ${part.segments.length} segments kept`);

      await p.goto(third.readyUrl);
      await p.getByRole('heading', { name: 'Cluster', exact: true }).waitFor();
      await p.goto(`${third.origin}/#/topics/${topic}`);
      await p.getByRole('heading', { name: 'Partition logs' }).waitFor();
      await until('the strip to show the log start', async () => num((await p.getByTestId('offsets-0').textContent())?.match(/start\s+([\d,]+)/)?.[1]) === lso, 15_000);
      const strip = p.getByRole('img', { name: /^Partition 0:/ });
      assert.match((await strip.getAttribute('aria-label')) ?? '', new RegExp(`log start ${lso},`));
      const removed = p.getByTestId('removed-0');
      await removed.waitFor();
      assert.equal((await removed.locator('title').textContent())?.trim(), `Removed: offsets 0–${lso - 1}`);
      // On the strip's one offset scale, the removed region ends where the retained one starts, and
      // removed : (removed + retained) = log start : high watermark.
      const rb = await removed.boundingBox();
      const kb = await p.getByTestId('retained-0').boundingBox();
      assert.ok(Math.abs(rb.x + rb.width - kb.x) <= 1, `removed ends (${rb.x + rb.width}) where retained starts (${kb.x})`);
      const ratio = rb.width / (kb.x + kb.width - rb.x);
      assert.ok(Math.abs(ratio - lso / N) < 0.02, `removed share of the strip ${ratio.toFixed(3)}, log start share ${(lso / N).toFixed(3)}`);
      await shot(p, '18-partitions-retention');
      await p.getByRole('button', { name: /Theme:/ }).click(); // system → light
      await p.getByRole('button', { name: /Theme:/ }).click(); // light → dark
      await p.waitForTimeout(300);
      await shot(p, '18b-partitions-retention-dark');
      await p.getByRole('button', { name: /Theme:/ }).click(); // dark → system
    } finally {
      await p.close();
      await third.stop();
    }
  });

  it('lists 1,500 topics windowed: few rows in the DOM, the last one by scrolling, search, keyboard, quiet polls', async (t) => {
    if (!existsSync(PYTHON)) {
      t.skip(`no ${PYTHON} with confluent-kafka (scripts/setup-test-deps.sh)`);
      return;
    }
    // Each single-partition topic holds about three files open in oxbow: stay well inside the limit.
    const limit = openFileLimit();
    const N = Math.min(1500, limit ? Math.floor((limit - 1500) / 4) : 1500);
    if (N < 300) {
      t.skip(`open-file limit ${limit} is too low for a many-topics test`);
      return;
    }
    const prefix = `many-${TOPIC}-`;
    const names = Array.from({ length: N }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);
    const t0 = Date.now();
    const made = adminTopics(serve.kafka, 'create', names);
    console.log(`many topics: ${made.ok} of ${N} created in one CreateTopics request in ${Date.now() - t0} ms`);
    try {
      assert.equal(made.ok, N, JSON.stringify(made.errors));
      const listed = (await (await api('/api/topics')).json()).map((x) => x.name);
      const total = listed.length;
      assert.ok(total >= N, `the API lists ${total} topics`);
      const sorted = listed.slice().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)); // the page's default order
      const last = sorted[sorted.length - 1];

      await page.bringToFront(); // other tests opened pages: a background page gets no animation frames
      await page.goto(`${serve.origin}/#/topics`);
      const table = page.getByRole('table', { name: 'Topics' });
      const count = page.getByTestId('topics-count');
      await until('every topic counted', async () => num(await count.textContent()) === total, 30_000);
      assert.equal(await table.getAttribute('aria-rowcount'), String(total + 1), 'aria-rowcount is the real size (with the header row)');
      const trs = await table.locator('tr').count();
      assert.ok(trs > 5 && trs < 200, `only the rows in view are in the DOM (${trs} <tr> for ${total} topics)`);
      assert.equal(await table.locator('tr[data-topic]').first().getAttribute('aria-rowindex'), '2');
      await shot(page, '19-topics-many');

      // Scrolled to the end (its own scroll box, as a user would): the last topic, with its real row index.
      const frames = await page.evaluate(async () => {
        let el = document.querySelector('table[aria-label="Topics"]');
        while (el && !(el.scrollHeight > el.clientHeight + 10 && /auto|scroll/.test(getComputedStyle(el).overflowY))) el = el.parentElement;
        const times = [];
        let prev = performance.now();
        await new Promise((res) => {
          const step = (now) => {
            times.push(now - prev);
            prev = now;
            el.scrollTop += 1200;
            if (el.scrollTop + el.clientHeight < el.scrollHeight - 1) requestAnimationFrame(step);
            else res();
          };
          requestAnimationFrame(step);
        });
        times.sort((a, b) => a - b);
        return { frames: times.length, p50_ms: Math.round(times[Math.floor(times.length / 2)]), p95_ms: Math.round(times[Math.floor(times.length * 0.95)]) };
      });
      console.log(`many topics: scrolled ${total} topics to the end in ${frames.frames} frames, p50 ${frames.p50_ms} ms, p95 ${frames.p95_ms} ms (reported, not asserted)`);
      const lastRow = table.locator(`tr[data-topic="${last}"]`);
      await lastRow.waitFor({ timeout: 5_000 });
      assert.ok(await lastRow.getByRole('link', { name: last, exact: true }).isVisible(), `the last topic ${last} is shown`);
      assert.equal(await lastRow.getAttribute('aria-rowindex'), String(total + 1));
      assert.ok((await table.locator('tr').count()) < 200);
      await shot(page, '19b-topics-many-end');

      // Tab walks the row actions past the first window: the rows follow the focus.
      await page.evaluate(() => {
        document.querySelector('.tablewrap').scrollTop = 0;
      });
      await until('the first rows again', async () => (await table.locator('tr[data-topic]').first().getAttribute('aria-rowindex')) === '2', 5_000);
      await table.locator('tr[data-topic]').first().getByRole('link').first().focus();
      const rendered = await table.locator('tr[data-topic]').count();
      for (let i = 0; i < rendered + 10; i++) {
        for (let k = 0; k < 4; k++) await page.keyboard.press('Tab'); // name, Messages, + Partitions, Delete
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      }
      const focused = await page.evaluate(() => {
        const a = document.activeElement;
        return { tag: a?.tagName, row: a?.closest('tr')?.getAttribute('aria-rowindex') ?? null };
      });
      assert.equal(focused.tag, 'A', `focus is on a row's name link (${JSON.stringify(focused)})`);
      assert.equal(Number(focused.row), rendered + 12, `Tab reached row ${rendered + 11}, beyond the ${rendered} rows first rendered`);

      // The search narrows to one exact topic, at once; its Delete button is reached by keyboard.
      const pick = names[Math.floor(N * 0.777)];
      const search = page.getByPlaceholder('Filter by name');
      await search.fill(pick);
      await until('one row', async () => (await table.locator('tr[data-topic]').count()) === 1, 5_000);
      assert.equal(await table.locator('tr[data-topic]').getAttribute('data-topic'), pick);
      assert.equal((await count.textContent()).trim(), `${total.toLocaleString('en-US')} topics, 1 shown`);
      assert.equal(await table.getAttribute('aria-rowcount'), '2');
      await search.focus();
      const del = page.getByRole('button', { name: `Delete topic ${pick}`, exact: true });
      let reached = false;
      for (let i = 0; i < 20 && !reached; i++) {
        await page.keyboard.press('Tab');
        reached = await del.evaluate((b) => b === document.activeElement);
      }
      assert.ok(reached, 'Tab reaches the Delete button of the row');
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog', { name: `Delete topic ${pick}` });
      await dialog.waitFor();
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await shot(page, '19c-topics-many-search');

      // A poll that changed nothing changes nothing in the table: same row elements, no DOM mutations.
      await search.fill('');
      await until('all rows back', async () => num(await count.textContent()) === total && (await table.locator('tr[data-topic]').count()) > 5, 5_000);
      const quiet = await page.evaluate(async () => {
        const tbody = document.querySelector('table[aria-label="Topics"] tbody');
        const first = tbody.querySelector('tr[data-topic]');
        let mutations = 0;
        const mo = new MutationObserver((list) => (mutations += list.length));
        mo.observe(tbody, { subtree: true, childList: true, attributes: true, characterData: true });
        await new Promise((r) => setTimeout(r, 9_000)); // two list polls (every 4 s)
        mo.disconnect();
        return { mutations, same: tbody.querySelector('tr[data-topic]') === first };
      });
      assert.deepEqual(quiet, { mutations: 0, same: true }, 'unchanged polls leave the rows alone');
    } finally {
      const t1 = Date.now();
      const gone = adminTopics(serve.kafka, 'delete', names);
      console.log(`many topics: ${gone.ok} of ${N} deleted in one DeleteTopics request in ${Date.now() - t1} ms`);
    }
  });

  it('adds partitions and deletes the topic after typing its name', async () => {
    await page.goto(`${serve.origin}/#/topics`);
    await page.getByRole('button', { name: `Add partitions to ${TOPIC}`, exact: true }).click();
    const add = page.getByRole('dialog', { name: `Add partitions to ${TOPIC}` });
    await add.getByLabel('New total number of partitions').fill('4');
    await add.getByRole('button', { name: 'Add partitions' }).click();
    await page.getByRole('status').filter({ hasText: `${TOPIC} now has 4 partitions` }).waitFor();
    const detail = await (await api(`/api/topics/${TOPIC}`)).json();
    assert.equal(detail.partitions.length, 4);

    await page.getByRole('button', { name: `Delete topic ${TOPIC}`, exact: true }).click();
    const del = page.getByRole('dialog', { name: `Delete topic ${TOPIC}` });
    const button = del.getByRole('button', { name: 'Delete topic' });
    assert.ok(await button.isDisabled(), 'delete is disabled until the name is typed');
    await del.getByLabel(/to confirm/).fill(TOPIC);
    await shot(page, '16-delete-topic');
    await button.click();
    try {
      await page.getByRole('status').filter({ hasText: `Topic ${TOPIC} deleted` }).waitFor({ timeout: 60_000 });
    } catch (e) {
      await shot(page, 'FAILED-delete-topic');
      throw e;
    }
    await until('topic gone from the API', async () => (await api(`/api/topics/${TOPIC}`)).status === 404, 15_000);
  });

  it('raised no uncaught errors in any page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
