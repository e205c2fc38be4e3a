// Captures the RTP a SIPp peer receives (SIPp 3.6.1 cannot record it): tcpdump on the loopback
// interface, then the pcap is read here (classic libpcap format, Ethernet/cooked/raw link types).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface CapturedRtp {
  readonly srcPort: number;
  readonly payloadType: number;
  readonly seq: number;
  readonly ts: number;
  readonly ssrc: number;
  readonly marker: boolean;
  readonly payload: Buffer;
  /** Capture time, µs since the epoch. */
  readonly atUs: number;
}

export interface Tap {
  teardown(fn: () => unknown): void;
}

/**
 * Starts tcpdump for UDP datagrams to `dstPort` on lo (or, with `filter`, any pcap filter, e.g.
 * everything from grok-sip's RTP range); resolves once it is listening.
 */
export async function captureUdpTo(
  t: Tap,
  dstPort: number,
  file: string,
  filter = `udp and dst port ${dstPort}`,
): Promise<{ stop(): Promise<CapturedRtp[]> }> {
  const child = spawn('tcpdump', ['-i', 'lo', '-n', '-U', '-w', file, filter], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${stderr}`)), 10_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return {
    async stop() {
      child.kill('SIGTERM');
      await closed;
      return readRtpPcap(readFileSync(file));
    },
  };
}

const linkHeaderBytes: Record<number, number> = { 1: 14, 101: 0, 113: 16, 276: 20 };

export function readRtpPcap(pcap: Buffer): CapturedRtp[] {
  if (pcap.length < 24) return [];
  const magic = pcap.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nanos = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const u32 = (at: number): number => (le ? pcap.readUInt32LE(at) : pcap.readUInt32BE(at));
  const linkType = u32(20);
  const linkBytes = linkHeaderBytes[linkType];
  if (linkBytes === undefined) throw new Error(`pcap link type ${linkType} not handled`);
  const packets: CapturedRtp[] = [];
  for (let at = 24; at + 16 <= pcap.length;) {
    const atUs = u32(at) * 1e6 + (nanos ? Math.floor(u32(at + 4) / 1000) : u32(at + 4));
    const capLen = u32(at + 8);
    const frame = pcap.subarray(at + 16, at + 16 + capLen);
    at += 16 + capLen;
    const ip = frame.subarray(linkBytes);
    if (ip.length < 20 || ip[0]! >> 4 !== 4 || ip[9] !== 17) continue;
    const udp = ip.subarray((ip[0]! & 0x0f) * 4);
    const rtp = udp.subarray(8);
    if (rtp.length < 12 || rtp[0]! >> 6 !== 2) continue;
    const csrcBytes = (rtp[0]! & 0x0f) * 4;
    let payloadAt = 12 + csrcBytes;
    if (rtp[0]! & 0x10) payloadAt += 4 + rtp.readUInt16BE(payloadAt + 2) * 4;
    const payloadType = rtp[1]! & 0x7f;
    // RTCP (PT 200-204 read as 72-76 with the marker bit) is not audio.
    if (payloadType >= 72 && payloadType <= 76) continue;
    packets.push({
      srcPort: udp.readUInt16BE(0),
      payloadType,
      marker: (rtp[1]! & 0x80) !== 0,
      seq: rtp.readUInt16BE(2),
      ts: rtp.readUInt32BE(4),
      ssrc: rtp.readUInt32BE(8),
      payload: Buffer.from(rtp.subarray(payloadAt)),
      atUs,
    });
  }
  return packets;
}
