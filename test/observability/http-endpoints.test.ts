// /metrics, /healthz, /readyz over real HTTP on 127.0.0.1 (port 0), bad requests answered, never thrown.
import net from 'node:net';
import t from 'tap';
import { startHttpEndpoints, type HealthReport } from '../../src/observability/http-endpoints.js';
import { GrokSipMetrics } from '../../src/observability/metrics.js';
import { sample } from './prometheus-text.js';

/** Sends raw bytes and returns what the server answered before closing. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

t.test('health and readiness follow the health function', async (t) => {
  let report: HealthReport = { live: true, ready: false, detail: { starting: true } };
  const endpoints = await startHttpEndpoints({
    address: '127.0.0.1',
    port: 0,
    metrics: new GrokSipMetrics({ processMetrics: false }),
    health: () => report,
  });
  t.teardown(() => endpoints.close());
  t.ok(endpoints.port > 0, 'a real port was bound');
  t.equal(endpoints.url, `http://127.0.0.1:${endpoints.port}`);

  let res = await fetch(`${endpoints.url}/healthz`);
  t.equal(res.status, 200, 'live');
  t.same(await res.json(), { status: 'ok', starting: true });
  res = await fetch(`${endpoints.url}/readyz`);
  t.equal(res.status, 503, 'not ready while starting');
  t.same(await res.json(), { status: 'unavailable', starting: true });

  report = { live: true, ready: true, detail: { activeCalls: 2, draining: false } };
  res = await fetch(`${endpoints.url}/readyz?verbose=1`);
  t.equal(res.status, 200, 'ready (query string ignored)');
  t.same(await res.json(), { status: 'ok', activeCalls: 2, draining: false });

  report = { live: true, ready: false, detail: { draining: true } };
  t.equal((await fetch(`${endpoints.url}/readyz`)).status, 503, 'draining: not ready');
  t.equal((await fetch(`${endpoints.url}/healthz`)).status, 200, 'but still live');

  report = { live: false, ready: false, detail: {} };
  t.equal((await fetch(`${endpoints.url}/healthz`)).status, 503, 'not live');

  report = { live: true, ready: true, detail: { big: 1n } };
  res = await fetch(`${endpoints.url}/readyz`);
  t.equal(res.status, 200, 'a detail that is not JSON keeps the status code');
  t.same(await res.json(), { status: 'ok' });
});

t.test('404, 405, HEAD and malformed requests', async (t) => {
  const endpoints = await startHttpEndpoints({
    address: '127.0.0.1',
    port: 0,
    metrics: new GrokSipMetrics({ processMetrics: false }),
    health: () => ({ live: true, ready: true, detail: {} }),
  });
  t.teardown(() => endpoints.close());
  t.equal((await fetch(`${endpoints.url}/`)).status, 404);
  t.equal((await fetch(`${endpoints.url}/metrics/extra`)).status, 404);
  const post = await fetch(`${endpoints.url}/metrics`, { method: 'POST', body: 'x' });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET, HEAD');
  t.equal((await fetch(`${endpoints.url}/readyz`, { method: 'DELETE' })).status, 405);
  const head = await fetch(`${endpoints.url}/metrics`, { method: 'HEAD' });
  t.equal(head.status, 200, 'HEAD is GET without a body');
  t.equal(await head.text(), '');

  const garbage = await raw(endpoints.port, 'NOT HTTP AT ALL\r\n\r\n');
  t.match(garbage, /^HTTP\/1\.1 400 /, 'garbage gets 400');
  const hugeHeader = await raw(endpoints.port, `GET /metrics HTTP/1.1\r\nX: ${'a'.repeat(20000)}\r\n\r\n`);
  t.match(hugeHeader, /^HTTP\/1\.1 (400|431) /, 'an oversized header is refused');
  t.equal((await fetch(`${endpoints.url}/healthz`)).status, 200, 'and the server still answers');
});

t.test('a failing metrics source or health function gives 500, not a crash', async (t) => {
  let throwSync = true;
  const endpoints = await startHttpEndpoints({
    address: '127.0.0.1',
    port: 0,
    metrics: {
      contentType: 'text/plain',
      metrics: () => {
        if (throwSync) throw new Error('sync boom');
        return Promise.reject(new Error('async boom'));
      },
    },
    health: () => {
      throw new Error('health boom');
    },
  });
  t.teardown(() => endpoints.close());
  t.equal((await fetch(`${endpoints.url}/metrics`)).status, 500);
  throwSync = false;
  t.equal((await fetch(`${endpoints.url}/metrics`)).status, 500);
  t.equal((await fetch(`${endpoints.url}/healthz`)).status, 500);
  t.equal((await fetch(`${endpoints.url}/readyz`)).status, 500);
});

t.test('metrics over HTTP, a busy port rejects, close is idempotent', async (t) => {
  const metrics = new GrokSipMetrics();
  const endpoints = await startHttpEndpoints({
    address: '127.0.0.1',
    port: 0,
    metrics,
    health: () => ({ live: true, ready: true, detail: {} }),
  });
  metrics.bargeIn();
  const text = await (await fetch(`${endpoints.url}/metrics`)).text();
  t.equal(sample(text, 'grok_sip_barge_ins_total'), 1);
  t.match(text, /# TYPE grok_sip_calls_total counter/);
  await t.rejects(
    startHttpEndpoints({
      address: '127.0.0.1',
      port: endpoints.port,
      metrics,
      health: () => ({ live: true, ready: true, detail: {} }),
    }),
    { code: 'EADDRINUSE' },
  );
  await endpoints.close();
  await endpoints.close();
  await t.rejects(fetch(`${endpoints.url}/healthz`), 'closed');
});

t.test('IPv6 loopback', async (t) => {
  const endpoints = await startHttpEndpoints({
    address: '::1',
    port: 0,
    metrics: new GrokSipMetrics({ processMetrics: false }),
    health: () => ({ live: true, ready: true, detail: {} }),
  }).catch(() => undefined);
  if (endpoints === undefined) {
    t.comment('no IPv6 loopback on this machine: skipped');
    t.pass('skipped');
    return;
  }
  t.teardown(() => endpoints.close());
  t.equal(endpoints.url, `http://[::1]:${endpoints.port}`);
  t.equal((await fetch(`${endpoints.url}/healthz`)).status, 200);
});

t.test(
  'connection limits: trickled headers get 408, connections past maxConnections are closed',
  async (t) => {
    const endpoints = await startHttpEndpoints({
      address: '127.0.0.1',
      port: 0,
      metrics: new GrokSipMetrics({ processMetrics: false }),
      health: () => ({ live: true, ready: true, detail: {} }),
      limits: { headersTimeoutMs: 500, requestTimeoutMs: 1000, maxConnections: 3 },
    });
    t.teardown(() => endpoints.close());

    // Headers that never finish (a slowloris): answered 408 and closed near the header deadline.
    const started = Date.now();
    const slow = await new Promise<{ answer: string; ms: number }>((resolve, reject) => {
      const socket = net.connect(endpoints.port, '127.0.0.1', () =>
        socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n'),
      );
      let answer = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.on('close', () => resolve({ answer, ms: Date.now() - started }));
      socket.on('error', reject);
    });
    t.match(slow.answer, /^HTTP\/1\.1 408 /, 'trickled headers: 408 Request Timeout');
    t.ok(slow.ms < 5000, `and closed after ${slow.ms} ms (Node's default would wait 60 s)`);

    // Three idle connections fill the listener; a fourth is closed without an answer, and once
    // the idle ones are gone the listener serves again.
    const idle = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(endpoints.port, '127.0.0.1', () => resolve(s));
            s.on('error', () => undefined);
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 100));
    const refused = await raw(endpoints.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n').catch(() => '');
    t.equal(refused, '', 'the fourth connection is closed unanswered');
    for (const s of idle) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const res = await fetch(`${endpoints.url}/healthz`);
    t.equal(res.status, 200, 'served again once connections are free');
  },
);
