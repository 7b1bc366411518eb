// Browser end-to-end test of the consumer groups views: a real `oxbow serve --ephemeral`, a real confluent-kafka
// consumer in a group (group-consumer.py, rate-limited so lag visibly falls), records produced with kcat. The
// group is listed and opened; deleting it while active shows Kafka's refusal; lag rises while kcat produces and
// falls while the group consumes; the consumer stops; offsets are reset to earliest from the UI (preview, then
// execute) and the lag jumps back; the topic's partition strips mark the group's committed offsets.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freshArtifacts, kcatProduce, launchBrowser, num, ROOT, startServe, until, testKit } from './harness.mjs';

const TOPIC = `groups-e2e-${Date.now().toString(36)}`;
const GROUP = `${TOPIC}-readers`;
const PYTHON = process.env.GROUPS_PYTHON || join(ROOT, '.venv', 'bin', 'python');
const FIRST = 300; // records before the consumer starts
const BURST = 3000; // records produced while the page watches
const RATE = 150; // records per second the consumer reads

let serve;
let artifacts;
let browser;
let page;
let consumer = null;
const pageErrors = [];
const { shot, api, shooting } = testKit({ serve: () => serve, artifacts: () => artifacts, page: () => page });

/** Starts the rate-limited consumer; resolves once it has its partitions. */
function startConsumer() {
  const child = spawn(PYTHON, [join(ROOT, 'tests', 'browser', 'group-consumer.py'), serve.kafka, GROUP, TOPIC, String(RATE)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d.toString()));
  child.stderr.on('data', (d) => (err = (err + d.toString()).slice(-4000)));
  consumer = { child, lines: () => out, stderr: () => err };
  return until('the consumer to get its partitions', () => {
    if (child.exitCode !== null) throw new Error(`the consumer exited (${child.exitCode}): ${err}`);
    return out.includes('assigned');
  }, 60_000);
}

async function stopConsumer() {
  if (!consumer || consumer.child.exitCode !== null) return;
  const { child } = consumer;
  const exited = new Promise((res) => child.once('exit', res));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((res) => setTimeout(res, 20_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

const totalLag = async () => num(await page.getByTestId('total-lag').textContent());
const stateBadge = async () => (await page.getByTestId('group-state').first().textContent()).trim();

describe('consumer groups in a browser', { timeout: 420_000 }, () => {
  before(async () => {
    artifacts = freshArtifacts('groups');
    serve = await startServe();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    browser.context.on('weberror', (e) => pageErrors.push(e.error().message));
  });

  after(async () => {
    await stopConsumer();
    await browser?.close();
    await serve?.stop();
  });

  it('lists the group, opens it, and shows Kafka refusing to delete it while it has a member', shooting('list', async () => {
    // Replication factor 3: the embedded broker accepts commits only for partitions its coordinator hosts.
    const created = await api('/api/topics', { method: 'POST', body: JSON.stringify({ name: TOPIC, partitions: 3, replication_factor: 3, configs: {} }) });
    assert.equal(created.status, 201, await created.text());
    kcatProduce(serve.kafka, TOPIC, Array.from({ length: FIRST }, (_, i) => `first-${i}`));
    await startConsumer();

    await page.goto(serve.readyUrl);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Consumer groups' }).click();
    await page.getByRole('heading', { name: 'Consumer groups', exact: true }).waitFor();
    const row = page.locator(`tr[data-group="${GROUP}"]`);
    await until('the group listed as Stable', async () => (await row.getByTestId('group-state').textContent()).trim() === 'Stable', 30_000);
    assert.match(await row.textContent(), new RegExp(TOPIC));
    // The state filter hides it under another state and shows it under its own.
    await page.getByLabel('Filter by state').selectOption('Empty');
    await until('the group hidden by the Empty filter', async () => (await row.count()) === 0, 5_000);
    await page.getByLabel('Filter by state').selectOption('Stable');
    await row.waitFor();
    await shot(page, '01-groups-list');

    await row.getByRole('link', { name: GROUP }).click();
    await page.getByRole('heading', { name: GROUP }).waitFor();
    const members = page.getByRole('table', { name: 'Members' });
    await until('the member with its three partitions', async () => {
      const text = await members.textContent();
      return text.includes('browser-test-consumer') && [0, 1, 2].every((p) => text.includes(`${TOPIC}-${p}`));
    }, 30_000);
    await until('the first records consumed (lag 0)', async () => (await totalLag()) === 0, 60_000);

    await page.getByRole('button', { name: 'Delete group' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Kafka deletes only inactive groups').waitFor();
    await dialog.getByLabel(`Type ${GROUP} to confirm`).fill(GROUP);
    await dialog.getByRole('button', { name: 'Delete group' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'stop its consumers first' }).waitFor();
    assert.match(await dialog.getByRole('alert').textContent(), /NON_EMPTY_GROUP/);
    await shot(page, '02-delete-refused');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await stateBadge(), 'Stable', 'nothing was deleted');
  }));

  it('shows lag rising while records are produced and falling while the group consumes', shooting('lag', async () => {
    kcatProduce(serve.kafka, TOPIC, Array.from({ length: BURST }, (_, i) => `burst-${i}`));
    let peak = 0;
    await until('lag to rise past 1,000', async () => {
      peak = Math.max(peak, await totalLag());
      return peak >= 1000;
    }, 30_000, 200);
    await until('the chart to show the lag rising', async () => (await page.getByTestId('lag-now').getAttribute('data-trend')) === 'rising', 30_000);
    await shot(page, '03-lag-rising');
    await until('lag to fall below half its peak', async () => {
      const now = await totalLag();
      peak = Math.max(peak, now);
      return now < peak / 2;
    }, 60_000);
    await until('the chart to show the lag falling', async () => (await page.getByTestId('lag-now').getAttribute('data-trend')) === 'falling', 30_000);
    const line = await page.getByTestId('lag-line').getAttribute('d');
    assert.ok((line.match(/L/g) ?? []).length >= 5, `a line through several samples: ${line}`);
    await shot(page, '04-lag-falling');
    await until('everything consumed', async () => (await totalLag()) === 0, 90_000);
  }));

  it('resets offsets to earliest from the UI once the consumer stops: preview, execute, lag jumps back', shooting('reset', async () => {
    await stopConsumer();
    assert.match(consumer.lines(), /closed/, `the consumer left cleanly: ${consumer.stderr()}`);
    await until('the group to be Empty', async () => (await stateBadge()) === 'Empty', 30_000);
    await page.getByRole('table', { name: 'Members' }).getByText('No members').waitFor();

    await page.getByRole('button', { name: 'Reset offsets' }).click();
    const dialog = page.getByRole('dialog');
    assert.equal(await dialog.getByLabel('Strategy').inputValue(), 'earliest');
    assert.ok(await dialog.getByRole('button', { name: 'Execute reset' }).isDisabled(), 'nothing to execute before a preview');
    await dialog.getByRole('button', { name: 'Preview', exact: true }).click();
    const preview = dialog.getByRole('table', { name: 'Reset preview' });
    await preview.waitFor();
    const rows = preview.locator('tbody tr');
    assert.equal(await rows.count(), 3);
    let current = 0;
    for (let i = 0; i < 3; i++) {
      const cells = await rows.nth(i).locator('td').allTextContents();
      assert.equal(num(cells[3]), 0, `new offset of partition ${cells[1]}`);
      current += num(cells[2]);
    }
    assert.equal(current, FIRST + BURST, 'the current offsets are at the end of every partition');
    assert.match(await dialog.getByTestId('reset-summary').textContent(), /lag 0 → 3,300/);
    // The preview changed nothing.
    const before = await (await api(`/api/groups/${GROUP}`)).json();
    assert.equal(before.total_lag, 0);
    await shot(page, '05-reset-preview');

    await dialog.getByRole('button', { name: 'Execute reset' }).click();
    await page.getByRole('status').filter({ hasText: 'Offsets of 3 partitions reset (earliest).' }).waitFor();
    await until('the lag to jump back to every record', async () => (await totalLag()) === FIRST + BURST, 15_000);
    const after = await (await api(`/api/groups/${GROUP}`)).json();
    assert.deepEqual(after.partitions.map((p) => p.committed_offset), [0, 0, 0]);
    await until('the jump on the chart', async () => (await page.getByTestId('lag-now').textContent()).includes('3,300'), 15_000);

    const timeline = page.getByRole('list', { name: 'Group events' });
    const text = await timeline.textContent();
    assert.match(text, /browser-test-consumer left/);
    assert.match(text, /State Stable → Empty|Empty/);
    assert.ok(num(await page.getByTestId('rebalance-count').textContent()) >= 1);
    await shot(page, '06-after-reset');
  }));

  it("marks the group's committed offsets on the topic's partition strips", shooting('strips', async () => {
    await page.goto(`${serve.origin}/#/topics/${encodeURIComponent(TOPIC)}`);
    const marks = page.locator(`g.gmark[data-group="${GROUP}"]`);
    await until('a marker on each of the three strips', async () => (await marks.count()) === 3, 15_000);
    for (let i = 0; i < 3; i++) assert.equal(await marks.nth(i).getAttribute('data-offset'), '0');
    await page.getByRole('link', { name: GROUP }).waitFor();
    await shot(page, '07-strip-markers');
    const toggle = page.getByLabel("consumer groups' committed offsets");
    await toggle.uncheck();
    await until('the markers hidden', async () => (await marks.count()) === 0, 5_000);
    await toggle.check();
    await until('the markers back', async () => (await marks.count()) === 3, 10_000);
  }));

  it('deletes the empty group', shooting('delete', async () => {
    await page.goto(`${serve.origin}/#/groups/${encodeURIComponent(GROUP)}`);
    await page.getByRole('heading', { name: GROUP }).waitFor();
    await page.getByRole('button', { name: 'Delete group' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(`Type ${GROUP} to confirm`).fill(GROUP);
    await dialog.getByRole('button', { name: 'Delete group' }).click();
    await until('the groups list after the deletion', async () => page.url().endsWith('#/groups'), 20_000);
    assert.equal((await api(`/api/groups/${GROUP}`)).status, 404);
    await until('the group gone from the list', async () => (await page.locator(`tr[data-group="${GROUP}"]`).count()) === 0, 15_000);
  }));

  it('raised no page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
