// TCP framing abuse against `grok-sip start` (RFC 3261 §18.3 framing, sip.limits): a lying
// Content-Length, headers that never end, a 1 MB header block, a peer that trickles one byte a
// second, 1,000 idle connections. Each abusive connection is cut off within its limit, counted,
// and afterwards a normal SIPp call over TCP completes and the heap is back near where it was.
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startGrokSipProcess, type GrokSipProcess } from './support/grok-sip-process.js';
import { UdpPeer, request } from './support/raw-sip.js';
import { runSipp } from './support/run-peer.js';

const SIP_PORT = 21030;
const HTTP_PORT = 21031;
const RTP_MIN = 21700;
const MESSAGE_TIMEOUT_SEC = 2;
const MAX_CONNECTIONS = 600;

interface Client {
  socket: Socket;
  data: () => string;
  closed: Promise<number>;
}

async function open(): Promise<Client> {
  const socket = connect({ host: '127.0.0.1', port: SIP_PORT });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let data = '';
  socket.on('data', (d: Buffer) => (data += d.toString()));
  socket.on('error', () => undefined);
  const started = Date.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  return { socket, data: () => data, closed };
}

/** Resolves with ms until the server closed it, or -1 if it stayed open for `withinMs`. */
async function closedWithin(c: Client, withinMs: number): Promise<number> {
  return Promise.race([c.closed, sleep(withinMs).then(() => -1)]);
}

const options = (branch: string, body = ''): string =>
  request(
    {
      method: 'OPTIONS',
      uri: `sip:x@127.0.0.1:${SIP_PORT}`,
      branch,
      callId: branch,
      cseq: 1,
      transport: 'TCP',
      body,
    },
    40000,
  );

t.setTimeout(120_000);

t.test('TCP framing abuse: each connection cut off, the process goes on', async (t) => {
  const gs: GrokSipProcess = await startGrokSipProcess(t, {
    sipPort: SIP_PORT,
    httpPort: HTTP_PORT,
    rtpMin: RTP_MIN,
    tcp: true,
    sipYaml: `  limits: { tcpMessageTimeoutSec: ${MESSAGE_TIMEOUT_SEC}, maxTcpConnections: ${MAX_CONNECTIONS} }`,
  });
  const probe = await UdpPeer.open(t);
  const heapBefore = await gs.metric('grok_sip_nodejs_heap_size_used_bytes');
  const streamRejectsBefore = await gs.metric('grok_sip_rejected_input_total', 'kind="sip-stream"');

  await t.test('a Content-Length longer than the body: the stream waits, then is cut off', async (t) => {
    const c = await open();
    // Declares 500 bytes, sends 10, then a whole valid OPTIONS that becomes "body".
    c.socket.write(
      options('z9hG4bK-lie1').replace('Content-Length: 0', 'Content-Length: 500') + '0123456789',
    );
    c.socket.write(options('z9hG4bK-lie2'));
    const ms = await closedWithin(c, MESSAGE_TIMEOUT_SEC * 1000 + 3000);
    t.ok(ms >= 0, `closed after ${ms} ms (message timeout ${MESSAGE_TIMEOUT_SEC} s)`);
    t.notMatch(c.data(), /z9hG4bK-lie2/, 'the swallowed OPTIONS was never answered as a request of its own');
  });

  await t.test(
    'a Content-Length shorter than the body: the rest is garbage, the stream is cut off',
    async (t) => {
      const c = await open();
      c.socket.write(
        options('z9hG4bK-short', 'x'.repeat(40)).replace('Content-Length: 40', 'Content-Length: 4'),
      );
      const ms = await closedWithin(c, 3000);
      t.ok(ms >= 0, `closed after ${ms} ms`);
      t.match(c.data(), /SIP\/2\.0 (200|400)/, 'the framed message was answered before the garbage');
    },
  );

  await t.test('headers that never end: cut off at maxMessageBytes', async (t) => {
    const c = await open();
    c.socket.write('OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n');
    for (let i = 0; i < 2000 && !c.socket.destroyed; i++) {
      c.socket.write(`X-Never-Ending-${i}: ${'v'.repeat(60)}\r\n`);
      if (i % 200 === 199) await sleep(5);
    }
    const ms = await closedWithin(c, 3000);
    t.ok(ms >= 0, `closed after ${ms} ms, before 2000 lines x 80 bytes were read`);
  });

  await t.test('a 1 MB header block in one write: cut off', async (t) => {
    const c = await open();
    c.socket.write(`OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nX-Huge: ${'h'.repeat(1024 * 1024)}\r\n\r\n`);
    const ms = await closedWithin(c, 3000);
    t.ok(ms >= 0, `closed after ${ms} ms`);
  });

  await t.test('one byte a second: cut off at the message timeout', async (t) => {
    const c = await open();
    const text = options('z9hG4bK-trickle');
    let i = 0;
    const timer = setInterval(() => {
      if (i < text.length && !c.socket.destroyed) c.socket.write(text[i++]!);
    }, 1000);
    t.teardown(() => clearInterval(timer));
    const ms = await closedWithin(c, MESSAGE_TIMEOUT_SEC * 1000 + 3000);
    clearInterval(timer);
    t.ok(ms >= 0, `closed after ${ms} ms having sent ${i} bytes`);
  });

  await t.test(
    `1,000 idle connections: past ${MAX_CONNECTIONS} refused at once, the rest closed at the first-message deadline`,
    async (t) => {
      const clients: Client[] = [];
      for (let i = 0; i < 1000; i++) {
        try {
          clients.push(await open());
        } catch {
          // A refused connect also counts as refused.
        }
      }
      await sleep(300);
      const early = (await Promise.all(clients.map((c) => closedWithin(c, 1)))).filter(
        (ms) => ms >= 0,
      ).length;
      t.ok(early >= 1000 - MAX_CONNECTIONS - 5, `${early} of 1000 closed at once (limit ${MAX_CONNECTIONS})`);
      t.ok(await gs.answersOptions(probe), 'answers OPTIONS (UDP) with the connections open');
      const all = await Promise.all(clients.map((c) => closedWithin(c, MESSAGE_TIMEOUT_SEC * 1000 + 4000)));
      t.equal(all.filter((ms) => ms < 0).length, 0, 'every idle connection closed by the server');
    },
  );

  const streamRejects =
    (await gs.metric('grok_sip_rejected_input_total', 'kind="sip-stream"')) - streamRejectsBefore;
  t.ok(streamRejects >= 400, `stream rejections counted (${streamRejects})`);
  t.ok(gs.alive(), 'process alive');

  const call = await runSipp(t, `127.0.0.1:${SIP_PORT}`, [
    '-sn',
    'uac',
    '-s',
    'echo',
    '-t',
    't1',
    '-p',
    String(SIP_PORT + 2),
    '-m',
    '1',
    '-d',
    '1000',
  ]);
  t.equal(
    call.code,
    0,
    `a SIPp call over TCP completes afterwards (rc ${call.code}) ${call.stderr.slice(-300)}`,
  );
  await sleep(500);
  const heapAfter = await gs.metric('grok_sip_nodejs_heap_size_used_bytes');
  t.comment(`heap used before ${(heapBefore / 1e6).toFixed(1)} MB, after ${(heapAfter / 1e6).toFixed(1)} MB`);
  t.ok(heapAfter < heapBefore + 40e6, 'heap back near where it was');
});
