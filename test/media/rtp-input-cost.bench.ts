// Per-datagram cost of RtpSession's inbound RTP handler (the input boundary, the header checks and
// field reads, the latch, reception statistics, the 'audio' emit), measured by emitting
// prebuilt datagrams straight into the session's socket 'message' event: no kernel, no event
// loop. Prints ns per datagram for the packet classes that matter under attack. Asserts nothing
// and is not part of `npm test` (a benchmark is a program, CONVENTIONS.md habit 8; it lives here
// because bench/ is not this change's to edit).
//
//   GROK_SIP_LOG_LEVEL=silent npx tsx test/media/rtp-input-cost.bench.ts [src-root ...]
//
// Each src-root (default ../../src) is a tree to time, e.g. the previous commit's beside this one:
//   git archive <rev> src | tar -x -C /tmp/before && ln -s $PWD/node_modules $PWD/build-native /tmp/before/
//   … rtp-input-cost.bench.ts /tmp/before/src src
// The trees' runs alternate trial by trial, so a load change on the machine hits them alike;
// each cell is the best of the trials, the median in brackets.
import path from 'node:path';
import type { RemoteInfo } from 'node:dgram';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { PortPool as PortPoolType } from '../../src/media/port-pool.js';
import type { RtpSession as RtpSessionType } from '../../src/media/rtp-session.js';
import type { serializeRtp as SerializeRtp } from '../../src/media/rtp-datagram.js';

interface Tree {
  root: string;
  PortPool: typeof PortPoolType;
  RtpSession: typeof RtpSessionType;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const roots = process.argv.length > 2 ? process.argv.slice(2) : [path.join(here, '../../src')];
const trees: Tree[] = [];
for (const root of roots.map((r) => path.resolve(r))) {
  const load = async <T>(rel: string): Promise<T> =>
    (await import(pathToFileURL(path.join(root, rel)).href)) as T;
  const { PortPool } = await load<{ PortPool: typeof PortPoolType }>('media/port-pool.ts');
  const { RtpSession } = await load<{ RtpSession: typeof RtpSessionType }>('media/rtp-session.ts');
  trees.push({ root, PortPool, RtpSession });
}
const { serializeRtp } = (await import('../../src/media/rtp-datagram.js')) as {
  serializeRtp: typeof SerializeRtp;
};

const host = '127.0.0.1';
const peerPort = 40_000; // never bound: datagrams are emitted, not sent
const packets = 65_536; // one full sequence cycle, so the stream stays in sequence when it repeats
const trials = Number(process.env.TRIALS ?? 15);

function stream(ssrc: number, mutate?: (b: Buffer) => void): Buffer[] {
  return Array.from({ length: packets }, (_, i) => {
    const b = serializeRtp({
      payloadType: 0,
      seq: i,
      ts: i * 160,
      ssrc,
      marker: false,
      payload: Buffer.alloc(160, 0x7f),
    });
    mutate?.(b);
    return b;
  });
}

function from(port: number): RemoteInfo {
  return { address: host, port, family: 'IPv4', size: 172 };
}

/** One row: the same datagrams into a fresh session of each tree, trials alternating. */
async function row(label: string, datagrams: Buffer[], source: RemoteInfo): Promise<string> {
  const runs = await Promise.all(
    trees.map(async (tree, i) => {
      const pool = new tree.PortPool({ address: host, portMin: 23600 + i * 4, portMax: 23603 + i * 4 });
      const pair = await pool.allocate();
      const session = new tree.RtpSession({
        pair,
        payloadType: 0,
        telephoneEventPayloadType: 101,
        remote: { address: host, port: peerPort },
        rtcpIntervalMs: 3_600_000,
      });
      let delivered = 0;
      session.on('audio', () => delivered++);
      // The session latches onto the SDP address with one good packet of another stream first.
      pair.rtpSocket.emit('message', stream(0x1234)[0]!, from(peerPort));
      for (let n = 0; n < 2 * packets; n++) pair.rtpSocket.emit('message', datagrams[n % packets]!, source);
      return { session, socket: pair.rtpSocket, ns: [] as number[], delivered: () => delivered };
    }),
  );
  for (let trial = 0; trial < trials; trial++) {
    for (const run of runs) {
      const start = performance.now();
      for (let n = 0; n < packets; n++) run.socket.emit('message', datagrams[n]!, source);
      run.ns.push(((performance.now() - start) * 1e6) / packets);
    }
  }
  const cells = runs.map((run) => {
    run.ns.sort((a, b) => a - b);
    const fate = run.delivered() > packets ? 'delivered' : 'dropped';
    const best = run.ns[0]!.toFixed(0);
    const median = run.ns[Math.floor(trials / 2)]!.toFixed(0);
    return `${best.padStart(5)} [${median.padStart(4)}] ${fate.padEnd(9)}`;
  });
  await Promise.all(runs.map((run) => run.session.close()));
  return `${label.padEnd(44)} ${cells.join('  ')}`;
}

const good = stream(0x5eed);
const lines = [
  `node ${process.version}; ns per datagram, best of ${trials} runs of ${packets} [median]`,
  ...trees.map((tree, i) => `  column ${i + 1}: ${tree.root}`),
  await row('valid PCMU from the latched peer', good, from(peerPort)),
  await row('same stream from a foreign port (RTP bleed)', good, from(peerPort + 2)),
  await row(
    'version 0 from the peer',
    stream(0x5eed, (b) => (b[0] = 0x00)),
    from(peerPort),
  ),
  await row(
    'padding count 0 from the peer',
    stream(0x5eed, (b) => {
      b[0]! |= 0x20;
      b[b.length - 1] = 0;
    }),
    from(peerPort),
  ),
];
console.log(lines.join('\n'));
