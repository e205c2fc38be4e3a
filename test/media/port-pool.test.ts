// Port pool: even RTP / odd RTCP pairs from the range, EADDRINUSE skipped, exhaustion as a clear
// error, release on close. Ports 23000-23099 (below the kernel's ephemeral range, so no random
// client socket takes them while the test runs).
import dgram from 'node:dgram';
import t from 'tap';
import { PortPool, PortPoolExhaustedError, type PortPair } from '../../src/media/port-pool.js';

const address = '127.0.0.1';

function occupy(port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind({ port, address, exclusive: true }, () => resolve(s));
  });
}

function close(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

t.test('pairs are even RTP + RTP+1 RTCP, inside the range, distinct, and really bound', async (t) => {
  const pool = new PortPool({ address, portMin: 23001, portMax: 23010 });
  t.equal(pool.capacity, 4, '23002/3, 23004/5, 23006/7, 23008/9 (23010 has no room for its RTCP port)');
  const pairs: PortPair[] = [];
  for (let i = 0; i < 4; i++) pairs.push(await pool.allocate());
  t.teardown(() => Promise.all(pairs.map((p) => p.close())));
  const ports = pairs.map((p) => p.rtpPort).sort();
  t.same(ports, [23002, 23004, 23006, 23008]);
  for (const p of pairs) {
    t.equal(p.rtcpPort, p.rtpPort + 1);
    t.equal(p.rtpSocket.address().port, p.rtpPort);
    t.equal(p.rtcpSocket.address().port, p.rtcpPort);
  }
  t.equal(pool.inUse, 4);
  await t.rejects(pool.allocate(), PortPoolExhaustedError, 'fifth allocation: exhausted');
  await t.rejects(pool.allocate(), /no free RTP port pair in 23002-23009 on 127\.0\.0\.1: 4\/4 pairs in use/);
});

t.test('close releases the pair for reuse; closing twice is harmless', async (t) => {
  const pool = new PortPool({ address, portMin: 23020, portMax: 23021 });
  const a = await pool.allocate();
  await t.rejects(pool.allocate(), PortPoolExhaustedError);
  await a.close();
  await a.close();
  t.equal(pool.inUse, 0);
  const b = await pool.allocate();
  t.equal(b.rtpPort, 23020);
  await b.close();
});

t.test('a port held by another socket (EADDRINUSE) is skipped, RTP or RTCP side', async (t) => {
  const pool = new PortPool({ address, portMin: 23030, portMax: 23035 });
  // Occupy 23030 (an RTP port) and 23033 (the RTCP port of 23032): only 23034/5 is usable.
  const blockers = [await occupy(23030), await occupy(23033)];
  t.teardown(() => Promise.all(blockers.map(close)));
  const pair = await pool.allocate();
  t.equal(pair.rtpPort, 23034);
  // The cursor starts at a random pair, so the first allocation tried 0-2 blocked pairs first.
  t.ok(pool.eaddrinuseSkips <= 2, 'at most the two blocked pairs skipped');
  t.equal(pool.inUse, 1);
  // The half-bound pair (23032 bound, 23033 failed) released 23032 again.
  const probe = await occupy(23032);
  await close(probe);
  await t.rejects(pool.allocate(), /1\/3 pairs in use by calls, 2 bind attempts failed with EADDRINUSE/);
  await pair.close();
});

t.test('bind attempts are bounded', async (t) => {
  const pool = new PortPool({ address, portMin: 23040, portMax: 23059, maxBindAttempts: 3 });
  const blockers: dgram.Socket[] = [];
  for (let p = 23040; p < 23060; p += 2) blockers.push(await occupy(p));
  t.teardown(() => Promise.all(blockers.map(close)));
  const err = await pool.allocate().then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, PortPoolExhaustedError);
  t.match((err as Error).message, /0\/10 pairs in use by calls, 3 bind attempts failed with EADDRINUSE/);
  t.equal(pool.eaddrinuseSkips, 3);
});

t.test('concurrent allocations never hand out the same pair', async (t) => {
  const pool = new PortPool({ address, portMin: 23060, portMax: 23079 });
  const pairs = await Promise.all(Array.from({ length: 10 }, () => pool.allocate()));
  t.teardown(() => Promise.all(pairs.map((p) => p.close())));
  t.equal(new Set(pairs.map((p) => p.rtpPort)).size, 10);
});

t.test('bad ranges and unusable addresses are clear errors', async (t) => {
  t.throws(() => new PortPool({ address, portMin: 23080, portMax: 23080 }), RangeError);
  t.throws(() => new PortPool({ address, portMin: 0, portMax: 10 }), /RTP port range/);
  t.throws(() => new PortPool({ address, portMin: 1.5, portMax: 10 }), RangeError);
  const pool = new PortPool({ address: '192.0.2.1', portMin: 23090, portMax: 23091 });
  await t.rejects(pool.allocate(), /cannot bind RTP ports 23090\/23091 on 192\.0\.2\.1: .*EADDRNOTAVAIL/);
  t.equal(pool.inUse, 0);
});

t.test(
  'pools sharing reservations (call threads) split one range without ever trying the same pair',
  async (t) => {
    const shared = PortPool.sharedReservations(23041, 23050);
    const a = new PortPool({ address, portMin: 23041, portMax: 23050, shared, maxBindAttempts: 1 });
    const b = new PortPool({ address, portMin: 23041, portMax: 23050, shared, maxBindAttempts: 1 });
    const pairs: PortPair[] = [];
    // maxBindAttempts 1: a pair the other pool holds must be skipped, not tried (it would fail EADDRINUSE).
    for (let i = 0; i < 4; i++) pairs.push(await (i % 2 === 0 ? a : b).allocate());
    t.teardown(() => Promise.all(pairs.map((p) => p.close())));
    t.same(
      pairs.map((p) => p.rtpPort).sort(),
      [23042, 23044, 23046, 23048],
      'the four pairs of the range, each once, over both pools',
    );
    t.equal(a.inUse, 4, 'each pool sees every pair in use');
    t.equal(b.eaddrinuseSkips + a.eaddrinuseSkips, 0, 'no pool tried a pair the other holds');
    await t.rejects(a.allocate(), PortPoolExhaustedError);
    await t.rejects(b.allocate(), PortPoolExhaustedError);
    const released = pairs.shift()!;
    await released.close();
    const again = await b.allocate();
    pairs.push(again);
    t.equal(again.rtpPort, released.rtpPort, 'a pair one pool released is taken by the other');
    t.throws(
      () => new PortPool({ address, portMin: 23041, portMax: 23060, shared }),
      RangeError,
      'reservations sized for another range are refused',
    );
  },
);
