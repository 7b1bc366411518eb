// Browser end-to-end test of the studio's replication view: a real 3-broker `oxbow serve --ephemeral`, a
// topic with replication factor 3, and faults injected by clicking the view's buttons. Bounded waits only:
// leadership moves once the killed broker's session times out (broker.session.timeout.ms, 6 s).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freshArtifacts, launchBrowser, num, startServe, until, testKit } from './harness.mjs';

const TOPIC = `repl-e2e-${Date.now().toString(36)}`;
const SOLO = `${TOPIC}-solo`;
const LOSS = `${TOPIC}-loss`;

let serve;
let artifacts;
let browser;
let page;
const pageErrors = [];
const { shot, api, shooting } = testKit({ serve: () => serve, artifacts: () => artifacts, page: () => page });

async function produce(topic, count) {
  const res = await api(`/api/topics/${encodeURIComponent(topic)}/messages`, {
    method: 'POST',
    body: JSON.stringify({ key: 'k', value: 'v', key_encoding: 'string', value_encoding: 'string', headers: [], count, keyed: true }),
  });
  assert.equal(res.status, 200, await res.text());
}

/** A lane's attributes: state, leader, ISR membership, running, log end offset. */
async function laneOf(broker, partition = 0) {
  const l = page.getByTestId(`lane-${partition}-${broker}`);
  return {
    state: await l.getAttribute('data-state'),
    leader: (await l.getAttribute('data-leader')) === 'true',
    isr: (await l.getAttribute('data-isr')) === 'true',
    running: (await l.getAttribute('data-running')) === 'true',
    leo: (await l.getAttribute('data-leo')) === '' ? null : Number(await l.getAttribute('data-leo')),
  };
}

const leaderOf = async (partition = 0) => (await page.getByTestId(`leader-${partition}`).textContent()).trim();
const epochOf = async (partition = 0) => num(await page.getByTestId(`epoch-${partition}`).textContent());
const timeline = () => page.getByRole('list', { name: 'Cluster events' });

/** A test body that leaves a screenshot of the page when it fails. */
async function toggleTheme(p, name) {
  await p.getByRole('button', { name: /Theme:/ }).click(); // system → light
  await p.getByRole('button', { name: /Theme:/ }).click(); // light → dark
  await p.waitForTimeout(600);
  await shot(p, name);
  await p.getByRole('button', { name: /Theme:/ }).click(); // dark → system (light in this browser)
}

describe('replication view in a browser', { timeout: 300_000 }, () => {
  before(async () => {
    artifacts = freshArtifacts('replication');
    serve = await startServe();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    browser.context.on('weberror', (e) => pageErrors.push(e.error().message));
  });

  after(async () => {
    await browser?.close();
    await serve?.stop();
  });

  it('shows three brokers and one lane per replica of a replication-factor-3 topic', shooting('lanes', async () => {
    assert.equal(serve.kafkaAll.length, 3, `three brokers by default: ${serve.kafkaAll}`);
    const created = await api('/api/topics', { method: 'POST', body: JSON.stringify({ name: TOPIC, partitions: 1, replication_factor: 3, configs: {} }) });
    assert.equal(created.status, 201, await created.text());
    await produce(TOPIC, 20);

    await page.goto(serve.readyUrl);
    await page.getByRole('heading', { name: 'Cluster', exact: true }).waitFor();
    // The overview counts offline partitions (the embedded cluster has the inside view) and links here.
    await until('the offline tile', async () => (await page.getByTestId('offline-count').textContent()).trim() === '0', 15_000);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Replication' }).click();
    await page.getByRole('heading', { name: 'Replication', exact: true }).waitFor();
    await until('the topic in the picker', async () => (await page.getByLabel('Topic', { exact: true }).locator(`option[value="${TOPIC}"]`).count()) === 1, 10_000);
    await page.getByLabel('Topic', { exact: true }).selectOption(TOPIC);
    await page.waitForURL(new RegExp(`#/replication/${TOPIC}$`));

    for (const b of [1, 2, 3]) {
      const card = page.getByTestId(`broker-${b}`);
      await card.waitFor();
      assert.equal((await card.getByTestId(`broker-state-${b}`).textContent()).trim(), 'running');
      assert.ok(await page.getByRole('button', { name: `Kill broker ${b}`, exact: true }).isEnabled());
      assert.ok(await page.getByRole('button', { name: `Start broker ${b}`, exact: true }).isDisabled(), 'a running broker cannot be started');
    }
    assert.equal(await page.locator('[data-testid^="broker-"]').filter({ hasText: 'controller' }).count(), 1, 'one active controller');

    await until('every replica at log end 20 and in the ISR', async () => {
      for (const b of [1, 2, 3]) {
        const l = await laneOf(b);
        if (l.leo !== 20 || !l.isr || !l.running) return false;
      }
      return true;
    });
    const leader = Number(await leaderOf());
    assert.ok((await laneOf(leader)).leader, 'the leader lane carries the leader mark');
    assert.equal(num(await page.getByTestId('hw-0').textContent()), 20);
    await page.getByText('fully replicated').waitFor();
    await shot(page, '01-lanes');
    await toggleTheme(page, '01b-lanes-dark');
  }));

  it('sets min.insync.replicas in the view and explains what acks=all needs', shooting('min-insync', async () => {
    // Set while every broker runs: the studio's admin client waits for the controller, and the killed
    // broker below may be the active one.
    const panel = page.getByRole('region', { name: 'Produce and durability' });
    await panel.getByText('acks=all').first().waitFor();
    const setMinIsr = async (n) => {
      await panel.getByLabel('Set min.insync.replicas').fill(String(n));
      await panel.getByRole('button', { name: 'Set', exact: true }).click();
      await panel.getByText(`min.insync.replicas is now ${n}.`).waitFor({ timeout: 30_000 });
      await until(`min.insync.replicas ${n} shown`, async () => (await panel.getByTestId('min-isr').textContent()).trim() === String(n), 10_000);
    };
    await setMinIsr(3);
    await panel.getByText(/ISR 3 of 3 ≥ min\.insync\.replicas 3: acks=all writes succeed; one more replica leaving the ISR stops acks=all writes/).waitFor();
    await setMinIsr(2);
    await panel.getByText(/ISR 3 of 3 ≥ min\.insync\.replicas 2: acks=all writes succeed; 1 more replica can leave the ISR/).waitFor();
    const res = await api(`/api/topics/${TOPIC}/configs`);
    assert.equal((await res.json()).find((c) => c.name === 'min.insync.replicas')?.value, '2');
  }));

  let killed;
  let epochBefore;
  it('kills the leader: leadership moves, the epoch grows, the ISR shrinks and the timeline says so', shooting('kill', async () => {
    killed = Number(await leaderOf());
    epochBefore = await epochOf();
    await page.getByRole('button', { name: `Kill broker ${killed}`, exact: true }).click();
    await until('the broker card to say killed', async () => (await page.getByTestId(`broker-state-${killed}`).textContent()).trim() === 'killed', 15_000);
    assert.ok(await page.getByRole('button', { name: `Start broker ${killed}`, exact: true }).isEnabled(), 'a killed broker can be started');
    assert.ok(await page.getByRole('button', { name: `Kill broker ${killed}`, exact: true }).isDisabled());

    const next = await until('a new leader', async () => {
      const l = await leaderOf();
      return l !== 'none' && Number(l) !== killed ? Number(l) : null;
    }, 30_000);
    await until('a higher leader epoch', async () => (await epochOf()) > epochBefore, 10_000);
    await until('the killed replica out of the ISR', async () => {
      const l = await laneOf(killed);
      return !l.isr && !l.running && l.state === 'killed';
    }, 30_000);
    assert.ok((await laneOf(next)).leader, 'the new leader lane carries the leader mark');
    assert.ok(!(await page.getByTestId('isr-0').textContent()).includes(String(killed)), 'the ISR no longer names the killed broker');
    await page.getByTestId('under-0').waitFor();
    assert.match(await page.getByTestId('lane-0-' + killed).getAttribute('aria-label'), /killed, not in the ISR/);

    const events = timeline();
    await events.getByText(`Leader of ${TOPIC}-0 moved ${killed} → ${next}`).first().waitFor({ timeout: 15_000 });
    await events.getByText(`Fault: kill broker ${killed}`).first().waitFor();
    await events.getByText(new RegExp(`^ISR of ${TOPIC}-0 shrank to`)).first().waitFor();
    await events.getByText(`Broker ${killed} fenced`).first().waitFor();
    await shot(page, '02-leader-killed');
  }));

  it('survives one broker down: acks=all with min.insync.replicas=2 still writes', shooting('produce', async () => {
    const panel = page.getByRole('region', { name: 'Produce and durability' });
    await panel.getByText(/ISR 2 of 3 ≥ min\.insync\.replicas 2: acks=all writes succeed/).waitFor({ timeout: 15_000 });
    await panel.getByLabel('Records to produce').fill('10');
    await panel.getByRole('button', { name: 'Produce 10 records' }).click();
    await panel.getByRole('status').filter({ hasText: 'acknowledged by the ISR' }).waitFor({ timeout: 30_000 });
    assert.match(await panel.getByTestId('produce-result').textContent(), /10 records acknowledged by the ISR, offsets 20–29/);
    await until('the high watermark at 30', async () => num(await page.getByTestId('hw-0').textContent()) === 30, 15_000);
    await until('both running replicas at 30', async () => {
      const running = [1, 2, 3].filter((b) => b !== killed);
      for (const b of running) if ((await laneOf(b)).leo !== 30) return false;
      return true;
    }, 15_000);
    await shot(page, '03-produce-one-down');
  }));

  it('starts the broker again: it rejoins the ISR and catches up with the leader', shooting('start', async () => {
    await page.getByRole('button', { name: `Start broker ${killed}`, exact: true }).click();
    await until('the broker running', async () => (await page.getByTestId(`broker-state-${killed}`).textContent()).trim() === 'running', 30_000);
    const caught = await until('the restarted replica in the ISR at the leader’s log end', async () => {
      const mine = await laneOf(killed);
      const leader = Number(await leaderOf());
      const lead = await laneOf(leader);
      return mine.running && mine.isr && mine.leo !== null && mine.leo === lead.leo && mine.leo === 30 ? mine : null;
    }, 45_000);
    assert.equal(caught.leo, 30);
    await timeline().getByText(new RegExp(`^ISR of ${TOPIC}-0 grew to`)).first().waitFor({ timeout: 15_000 });
    await timeline().getByText(`Fault: start broker ${killed}`).first().waitFor();
    assert.ok((await epochOf()) > epochBefore);
    await until('fully replicated again', async () => (await page.getByTestId('under-0').count()) === 0, 15_000);
    await shot(page, '04-rejoined');
  }));

  it("shows the cluster's refusal when a fault is impossible", shooting('refused', async () => {
    // Freeze the view's picture of the brokers (its polls fail), stop a broker behind its back, then ask
    // the real fault API to stop it again: the card shows the 409 message.
    const victim = [1, 2, 3].find((b) => b !== Number(killed)) ?? 1;
    await page.route('**/api/replication**', (route) => route.abort());
    try {
      await page.waitForTimeout(800);
      const res = await api('/api/faults', { method: 'POST', body: JSON.stringify({ broker: victim, action: 'pause' }) });
      assert.equal(res.status, 200, await res.text());
      await page.getByRole('button', { name: `Pause broker ${victim}`, exact: true }).click();
      const alert = page.getByTestId(`broker-${victim}`).getByRole('alert');
      await alert.waitFor({ timeout: 15_000 });
      assert.match(await alert.textContent(), new RegExp(`broker ${victim} is paused; cannot pause it`));
      await shot(page, '05-fault-refused');
    } finally {
      await page.unroute('**/api/replication**');
    }
    await until('the paused state shown', async () => (await page.getByTestId(`broker-state-${victim}`).textContent()).trim() === 'paused', 15_000);
    await page.getByRole('button', { name: `Resume broker ${victim}`, exact: true }).click();
    await until('running again', async () => (await page.getByTestId(`broker-state-${victim}`).textContent()).trim() === 'running', 15_000);
  }));

  it('flags an offline partition on the cluster overview, the topics page and the replication view', shooting('offline', async () => {
    const created = await api('/api/topics', { method: 'POST', body: JSON.stringify({ name: SOLO, partitions: 1, replication_factor: 1, configs: {} }) });
    assert.equal(created.status, 201, await created.text());
    const view = await until('the single replica’s leader', async () => {
      const v = await (await api(`/api/replication?topic=${SOLO}`)).json();
      return v.partitions[0]?.leader > 0 ? v : null;
    }, 15_000);
    const only = view.partitions[0].leader;
    const stopped = await api('/api/faults', { method: 'POST', body: JSON.stringify({ broker: only, action: 'stop' }) });
    assert.equal(stopped.status, 200, await stopped.text());
    try {
      await page.goto(`${serve.origin}/#/cluster`);
      await until('one offline partition on the overview', async () => num(await page.getByTestId('offline-count').textContent()) >= 1, 30_000);
      await shot(page, '06-cluster-offline');

      await page.goto(`${serve.origin}/#/topics`);
      const badge = page.locator(`tr[data-topic="${SOLO}"]`).getByRole('link', { name: '1 offline' });
      await badge.waitFor({ timeout: 15_000 });
      await shot(page, '07-topics-offline');
      await badge.click();
      await page.waitForURL(new RegExp(`#/replication/${SOLO}$`));
      await page.getByTestId('offline-0').waitFor({ timeout: 10_000 });
      assert.equal((await leaderOf()).trim(), 'none');
      await timeline().getByText(`${SOLO}-0 went offline: no leader (was broker ${only})`, { exact: false }).first().waitFor({ timeout: 10_000 });
      await shot(page, '08-offline');
    } finally {
      await api('/api/faults', { method: 'POST', body: JSON.stringify({ broker: only, action: 'start' }) });
    }
    await until('the partition back online', async () => (await page.getByTestId('offline-0').count()) === 0 && (await leaderOf()) === String(only), 30_000);
  }));

  it('shows acks=1 losing records the followers never had when their leader dies', shooting('acks1-loss', async () => {
    const created = await api('/api/topics', { method: 'POST', body: JSON.stringify({ name: LOSS, partitions: 1, replication_factor: 3, configs: {} }) });
    assert.equal(created.status, 201, await created.text());
    await page.goto(`${serve.origin}/#/replication/${LOSS}`);
    await until('three running replicas in the ISR', async () => {
      for (const b of [1, 2, 3]) {
        const l = await laneOf(b);
        if (!l.running || !l.isr) return false;
      }
      return true;
    }, 30_000);
    const leader = Number(await leaderOf());
    const panel = page.getByRole('region', { name: 'Produce and durability' });

    await until('the unclean setting loaded', async () => (await panel.getByTestId('unclean').textContent()).trim() === 'false', 30_000);
    await panel.getByLabel('Allow unclean leader election').check();
    await panel.getByText('Unclean leader election is on').waitFor({ timeout: 30_000 });
    assert.equal((await panel.getByTestId('unclean').textContent()).trim(), 'true');

    await page.getByRole('button', { name: `Isolate broker ${leader}`, exact: true }).click();
    await until('the leader cut from the others', async () => (await page.getByTestId(`broker-${leader}`).textContent()).includes('cut'), 30_000);
    await panel.getByLabel('acks=1').check();
    await panel.getByTestId('acks-meaning').getByText(/the leader answers as soon as it has written/).waitFor();
    await panel.getByLabel('Records to produce').fill('3');
    await panel.getByRole('button', { name: 'Produce 3 records with acks=1' }).click();
    await panel.getByRole('status').filter({ hasText: 'acknowledged by the leader alone' }).waitFor({ timeout: 30_000 });
    const write = panel.getByTestId('acked-write').first();
    await until('the write on the leader only', async () => /3 records only on the leader/.test(await write.textContent()), 30_000);
    await until('the leader at log end 3', async () => (await laneOf(leader)).leo === 3, 30_000);
    await shot(page, '09-acks1-leader-only');

    await page.getByRole('button', { name: `Kill broker ${leader}`, exact: true }).click();
    await until('a new leader', async () => {
      const l = await leaderOf();
      return l !== 'none' && Number(l) !== leader;
    }, 90_000);
    await until('the write reported lost', async () => /^3 records lost/.test((await write.getByTestId('fate').textContent()).trim()), 60_000);
    await page.getByRole('button', { name: `Start broker ${leader}`, exact: true }).click();
    await until('the broker running', async () => (await page.getByTestId(`broker-state-${leader}`).textContent()).trim() === 'running', 60_000);
    await page.getByRole('button', { name: `Heal broker ${leader}`, exact: true }).click();
    await timeline().getByText(`Broker ${leader} truncated ${LOSS}-0 from 3 to 0 (3 records dropped)`).first().waitFor({ timeout: 90_000 });
    await until('the returning replica truncated to the new leader', async () => (await laneOf(leader)).leo === 0, 60_000);
    assert.match(await write.getByTestId('fate').textContent(), /^3 records lost/);
    await write.scrollIntoViewIfNeeded();
    await shot(page, '10-acks1-lost');
  }));

  it('raised no uncaught errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
