// Browser end-to-end test of the transactions views: a real `oxbow serve --ephemeral` and a real confluent-kafka
// transactional producer (txn-producer.py) that commits one transaction and leaves a second one open. The
// transactions page lists the id as Ongoing with its partition; the producers table shows the partition's last
// stable offset held at the open transaction's first offset; the topic's partition strip draws the open
// transaction's band and the LSO line. Committing from the producer turns the row CompleteCommit and frees the LSO.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freshArtifacts, launchBrowser, num, ROOT, startServe, testKit, until } from './harness.mjs';

const TOPIC = `txn-e2e-${Date.now().toString(36)}`;
const TXN_ID = `${TOPIC}-writer`;
const PYTHON = process.env.GROUPS_PYTHON || join(ROOT, '.venv', 'bin', 'python');
const COMMITTED = 5; // records of the committed transaction: offsets 0-4, its commit marker at 5
const OPEN = 3; // records of the open transaction: offsets 6-8
const OPEN_START = COMMITTED + 1;

let serve;
let artifacts;
let browser;
let page;
let producer = null;
const pageErrors = [];
const { shot, api, shooting } = testKit({ serve: () => serve, artifacts: () => artifacts, page: () => page });

/** Starts the transactional producer; resolves once its second transaction is open with records in the log. */
function startProducer() {
  const child = spawn(PYTHON, [join(ROOT, 'tests', 'browser', 'txn-producer.py'), serve.kafka, TXN_ID, TOPIC, String(COMMITTED), String(OPEN)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d.toString()));
  child.stderr.on('data', (d) => (err = (err + d.toString()).slice(-4000)));
  producer = { child, lines: () => out, stderr: () => err };
  return until('the producer to open its second transaction', () => {
    if (child.exitCode !== null) throw new Error(`the producer exited (${child.exitCode}): ${err}`);
    return out.includes('open');
  }, 60_000);
}

const row = () => page.locator(`tr[data-txn="${TXN_ID}"]`);
const rowState = async () => (await row().getByTestId('txn-state').textContent()).trim();

describe('transactions in a browser', { timeout: 300_000 }, () => {
  before(async () => {
    artifacts = freshArtifacts('transactions');
    serve = await startServe();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    browser.context.on('weberror', (e) => pageErrors.push(e.error().message));
  });

  after(async () => {
    if (producer && producer.child.exitCode === null) {
      producer.child.stdin.end();
      producer.child.kill('SIGKILL');
    }
    await browser?.close();
    await serve?.stop();
  });

  it('lists the open transaction with its partition and state', shooting('list', async () => {
    const created = await api('/api/topics', { method: 'POST', body: JSON.stringify({ name: TOPIC, partitions: 2, replication_factor: 3, configs: {} }) });
    assert.equal(created.status, 201, await created.text());
    await startProducer();

    await page.goto(serve.readyUrl);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Transactions' }).click();
    await page.getByRole('heading', { name: 'Transactions', exact: true }).waitFor();
    await until('the transaction listed as Ongoing', async () => (await row().count()) === 1 && (await rowState()) === 'Ongoing', 30_000);
    const text = await row().textContent();
    assert.match(text, new RegExp(`${TOPIC}-0`), 'its partition is listed');
    assert.doesNotMatch(text, new RegExp(`${TOPIC}-1`), 'only the partition it wrote to');
    assert.match(await page.getByTestId('txn-count').textContent(), /1 open/);
    // The state filter hides it under another state and shows it under its own.
    await page.getByLabel('Filter by state').selectOption('CompleteCommit');
    await until('the row hidden by the CompleteCommit filter', async () => (await row().count()) === 0, 5_000);
    await page.getByLabel('Filter by state').selectOption('Ongoing');
    await row().waitFor();
    await shot(page, '01-transactions-open');
  }));

  it("shows the partition's last stable offset held at the open transaction's first offset", shooting('producers', async () => {
    await page.getByLabel('Topic', { exact: true }).selectOption(TOPIC);
    const table = page.getByRole('table', { name: `Producers of ${TOPIC}` });
    await table.waitFor();
    const p0 = table.locator('tr[data-partition="0"]');
    await until('the LSO held at the open transaction', async () => num(await p0.getByTestId('lso-0').textContent()) === OPEN_START, 30_000);
    assert.match(await p0.getByTestId('open-txn').textContent(), new RegExp(`from offset ${OPEN_START}`));
    const cells = await p0.locator('td').allTextContents();
    assert.equal(num(cells[2]), OPEN_START + OPEN, 'the high watermark is past the open records');
    assert.match(await table.locator('tr[data-partition="1"]').textContent(), /no producers/);
    await shot(page, '02-producers-lso-held');

    // The topic's partition strip draws the open transaction and the LSO line.
    await page.goto(`${serve.origin}/#/topics/${encodeURIComponent(TOPIC)}`);
    await until('the open-transaction band on partition 0', async () => (await page.getByTestId('open-txn-0').count()) === 1, 30_000);
    assert.equal(num(await page.getByTestId('lso-0').textContent()), OPEN_START);
    assert.equal(await page.getByTestId('open-txn-1').count(), 0, 'no band on the untouched partition');
    await shot(page, '03-strip-open-transaction');
  }));

  it('turns CompleteCommit and frees the last stable offset once the producer commits', shooting('commit', async () => {
    producer.child.stdin.write('commit\n');
    await until('the producer to commit', () => producer.lines().includes('committed'), 60_000);
    await until('the band gone from the strip', async () => (await page.getByTestId('open-txn-0').count()) === 0, 30_000);
    assert.equal(await page.getByTestId('lso-0').count(), 0, 'no LSO shown once it equals the high watermark');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Transactions' }).click();
    await until('the transaction CompleteCommit', async () => (await row().count()) === 1 && (await rowState()) === 'CompleteCommit', 30_000);
    await page.getByLabel('Topic', { exact: true }).selectOption(TOPIC);
    const p0 = page.getByRole('table', { name: `Producers of ${TOPIC}` }).locator('tr[data-partition="0"]');
    // The commit marker is the last offset: the LSO is the high watermark again.
    await until('the LSO at the high watermark', async () => num(await p0.getByTestId('lso-0').textContent()) === OPEN_START + OPEN + 1, 30_000);
    assert.equal((await p0.getByTestId('open-txn').textContent()).trim(), '—');
    const listed = await (await api(`/api/transactions?search=${encodeURIComponent(TXN_ID)}`)).json();
    assert.equal(listed.transactions.length, 1);
    assert.equal(listed.transactions[0].state, 'CompleteCommit');
    await shot(page, '04-committed');
    producer.child.stdin.end();
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  }));
});
