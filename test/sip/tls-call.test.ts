// SIP over TLS against `grok-sip start` (RFC 3261 §26.2, §18): a call from a hand-written TLS
// client (INVITE → 200 with a sips:/;transport=tls Contact, ACK, BYE on the same connection);
// SIGHUP swaps the certificate for new handshakes while a call's connection stays up; failed
// handshakes (plain TCP bytes, an untrusted client certificate) are counted and logged once per
// peer, and the process keeps answering. Certificates are made at test time (openssl).
import { copyFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import t, { type Test } from 'tap';
import { startGrokSipProcess, type GrokSipProcess } from './support/grok-sip-process.js';
import { UdpPeer, header, offer, request, statusOf, until } from './support/raw-sip.js';
import { makeTestPki } from './support/test-certificates.js';
import { openTlsPeer, type TlsPeer } from './support/tls-peer.js';

const UDP_PORT = 36000;
const TLS_PORT = 36001;
const HTTP_PORT = 36002;
const MUTUAL_TLS_PORT = 36003;
const RTP_MIN = 36100;
let rtpPort = 0;
/** sip.limits.tcpMessageTimeoutSec, which bounds the TLS handshake too. */
const HANDSHAKE_SEC = 2;
const MAX_CONNECTIONS = 8;

t.setTimeout(90_000);

/** INVITE → final response → ACK over `peer`; returns the 200 and the To tag. */
async function call(
  peer: TlsPeer,
  t: Test,
  uri: string,
  callId: string,
): Promise<{ ok: string; toTag: string; contactUri: string }> {
  peer.send(
    request(
      {
        method: 'INVITE',
        uri,
        branch: `z9hG4bK-${callId}-1`,
        callId,
        cseq: 1,
        transport: 'TLS',
        rport: true,
        body: offer('g711', rtpPort),
        extra: [],
      },
      peer.localPort,
    ).replace(/^Contact: <([^>]+)>/m, 'Contact: <$1;transport=tls>'),
  );
  const ok = await peer.waitFor((m) => m.includes(callId) && statusOf(m) === 200, 10_000);
  t.ok(ok, `200 OK to the INVITE over TLS (${callId})`);
  const toTag = /;tag=([^;\s>]+)/.exec(header(ok ?? '', 'To') ?? '')?.[1] ?? '';
  const contactUri = /<([^>]+)>/.exec(header(ok ?? '', 'Contact') ?? '')?.[1] ?? '';
  peer.send(
    request(
      {
        method: 'ACK',
        uri: contactUri,
        branch: `z9hG4bK-${callId}-ack`,
        callId,
        cseq: 1,
        toTag,
        transport: 'TLS',
      },
      peer.localPort,
    ),
  );
  return { ok: ok ?? '', toTag, contactUri };
}

async function bye(peer: TlsPeer, uri: string, callId: string, toTag: string): Promise<string | undefined> {
  peer.send(
    request(
      { method: 'BYE', uri, branch: `z9hG4bK-${callId}-bye`, callId, cseq: 2, toTag, transport: 'TLS' },
      peer.localPort,
    ),
  );
  return peer.waitFor((m) => m.includes(callId) && /CSeq:\s*2 BYE/i.test(m) && statusOf(m) > 0, 5000);
}

/** grok_sip_rejected_input_total{kind="tls"} once it reaches `n` (or its value after 3 s). */
async function metricReaches(gs: GrokSipProcess, n: number): Promise<number> {
  const until = Date.now() + 3000;
  for (;;) {
    const value = await gs.metric('grok_sip_rejected_input_total', 'kind="tls"');
    if (value >= n || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('SIP over TLS: call, certificate reload, handshake failures', async (t) => {
  const pki = makeTestPki(t);
  const first = pki.issue('server-1', 'IP:127.0.0.1,DNS:localhost');
  // The listener serves these two paths; the reload test writes a renewed pair over them.
  const live = { cert: `${pki.dir}/live.pem`, key: `${pki.dir}/live.key` };
  copyFileSync(first.cert, live.cert);
  copyFileSync(first.key, live.key);
  const gs: GrokSipProcess = await startGrokSipProcess(t, {
    sipPort: UDP_PORT,
    httpPort: HTTP_PORT,
    rtpMin: RTP_MIN,
    rtpPorts: 20,
    sipYaml: `  limits: { tcpMessageTimeoutSec: ${HANDSHAKE_SEC}, maxTcpConnections: ${MAX_CONNECTIONS} }`,
    listeners: [
      `{ transport: tls, address: 127.0.0.1, port: ${TLS_PORT}, cert: '${live.cert}', key: '${live.key}' }`,
      `{ transport: tls, address: 127.0.0.1, port: ${MUTUAL_TLS_PORT}, cert: '${live.cert}', key: '${live.key}', ca: '${pki.ca}', requireClientCert: true }`,
    ],
  });
  t.match(gs.output(), new RegExp(`tls:127\\.0\\.0\\.1:${TLS_PORT}`), 'the TLS listener is announced');
  // Where our echo's RTP goes (the offer's port), so it lands on an open socket.
  const rtpSink = await UdpPeer.open(t);
  rtpPort = rtpSink.port;

  await t.test('(a) INVITE, 200 with a sips: Contact, ACK and BYE on one TLS connection', async (t) => {
    const peer = await openTlsPeer(t, { port: TLS_PORT, ca: pki.caPem });
    const callId = 'tls-call-a';
    const { ok, toTag, contactUri } = await call(peer, t, `sips:echo@127.0.0.1:${TLS_PORT}`, callId);
    t.match(
      header(ok, 'Via') ?? '',
      /^SIP\/2\.0\/TLS 127\.0\.0\.1:\d+;branch=z9hG4bK-tls-call-a-1/,
      'our Via back',
    );
    t.equal(
      contactUri,
      `sips:grok-sip@127.0.0.1:${TLS_PORT}`,
      'Contact: sips: URI of the TLS listener (§8.1.1.8)',
    );
    t.match(ok, /m=audio \d+ RTP\/AVP/, 'an SDP answer');
    await new Promise((r) => setTimeout(r, 500));
    const byeOk = await bye(peer, contactUri, callId, toTag);
    t.equal(statusOf(byeOk ?? ''), 200, 'BYE answered 200 on the same connection');
    t.notOk(peer.closed(), 'the connection is still open');
  });

  await t.test(
    '(b) SIGHUP: new handshakes get the new certificate, a call in progress goes on',
    async (t) => {
      const before = await openTlsPeer(t, { port: TLS_PORT, ca: pki.caPem });
      const oldPrint = new X509Certificate(readFileSync(first.cert)).fingerprint256;
      t.equal(before.serverCertificate.fingerprint256, oldPrint, 'the first certificate is served');
      const expiry = (file: string): number =>
        Date.parse(new X509Certificate(readFileSync(file)).validTo) / 1000;
      const expiryMetric = (subject: string): Promise<number> =>
        gs.metric('grok_sip_tls_certificate_expiry_timestamp_seconds', `subject="CN=${subject}"`);
      t.equal(await expiryMetric('server-1'), expiry(first.cert), 'its expiry on /metrics');
      const callId = 'tls-call-b';
      const { toTag, contactUri } = await call(
        before,
        t,
        `sip:echo@127.0.0.1:${TLS_PORT};transport=tls`,
        callId,
      );
      t.equal(contactUri, `sip:grok-sip@127.0.0.1:${TLS_PORT};transport=tls`, 'Contact: ;transport=tls');

      const renewed = pki.issue('server-2', 'IP:127.0.0.1,DNS:localhost');
      copyFileSync(renewed.cert, live.cert);
      copyFileSync(renewed.key, live.key);
      const newPrint = new X509Certificate(readFileSync(renewed.cert)).fingerprint256;
      gs.child.kill('SIGHUP');
      await until(() => gs.output().includes('TLS certificates reloaded'), 5000);
      t.match(gs.output(), newPrint, 'the reload logs the new fingerprint');
      t.notMatch(gs.output(), /PRIVATE KEY/, 'no key material in the output');

      const after = await openTlsPeer(t, { port: TLS_PORT, ca: pki.caPem });
      t.equal(after.serverCertificate.fingerprint256, newPrint, 'a new handshake sees the new certificate');
      t.equal(
        await expiryMetric('server-2'),
        expiry(renewed.cert),
        "the new certificate's expiry on /metrics",
      );
      t.equal(await expiryMetric('server-1'), 0, 'the old one is gone from /metrics');
      t.notOk(before.closed(), 'the call connection made before the reload is still up');
      const byeOk = await bye(before, contactUri, callId, toTag);
      t.equal(statusOf(byeOk ?? ''), 200, 'the call made before the reload ends normally with BYE → 200');
      t.ok(gs.alive(), 'process alive');

      // A renewal copied half-way (a key that does not match the certificate): the reload fails
      // and says so; the certificate in use stays.
      copyFileSync(first.key, live.key);
      gs.child.kill('SIGHUP');
      await until(() => gs.output().includes('TLS reload failed'), 5000);
      t.match(gs.output(), /TLS reload failed, previous certificates stay/, 'a bad pair is refused');
      const still = await openTlsPeer(t, { port: TLS_PORT, ca: pki.caPem });
      t.equal(still.serverCertificate.fingerprint256, newPrint, 'the previous certificate is still served');
      copyFileSync(renewed.key, live.key);
    },
  );

  await t.test(
    '(b2) the handshake is bounded in time; handshakes in progress count against maxTcpConnections',
    async (t) => {
      const silent = tcpConnect({ host: '127.0.0.1', port: TLS_PORT });
      silent.on('error', () => undefined);
      const started = Date.now();
      await new Promise<void>((resolve) => silent.once('close', () => resolve()));
      const ms = Date.now() - started;
      t.ok(
        ms >= HANDSHAKE_SEC * 1000 - 300 && ms < HANDSHAKE_SEC * 1000 + 2000,
        `a silent client is cut off after ${ms} ms`,
      );

      const idle = [];
      for (let i = 0; i < MAX_CONNECTIONS; i++) {
        const socket = tcpConnect({ host: '127.0.0.1', port: TLS_PORT });
        socket.on('error', () => undefined);
        await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
        idle.push(socket);
      }
      const streamBefore = await gs.metric('grok_sip_rejected_input_total', 'kind="sip-stream"');
      const extra = tcpConnect({ host: '127.0.0.1', port: TLS_PORT });
      extra.on('error', () => undefined);
      const extraClosedMs = await new Promise<number>((resolve) => {
        const at = Date.now();
        extra.once('close', () => resolve(Date.now() - at));
      });
      t.ok(extraClosedMs < 1000, `connection ${MAX_CONNECTIONS + 1} closed at once (${extraClosedMs} ms)`);
      t.equal(
        await gs.metric('grok_sip_rejected_input_total', 'kind="sip-stream"'),
        streamBefore + 1,
        'counted as sip-stream (over maxTcpConnections)',
      );
      for (const socket of idle) socket.destroy();
      await new Promise((r) => setTimeout(r, 200));
      const peer = await openTlsPeer(t, { port: TLS_PORT, ca: pki.caPem });
      t.ok(peer.serverCertificate.fingerprint256, 'a TLS client gets in once they are gone');
    },
  );

  await t.test('(c) failed handshakes are counted, logged once per peer; the process answers', async (t) => {
    const countBefore = await gs.metric('grok_sip_rejected_input_total', 'kind="tls"');
    const logged = (): number =>
      gs
        .output()
        .split('\n')
        .filter((l) => l.includes('input rejected') && l.includes('"kind":"tls"')).length;
    for (let i = 0; i < 2; i++) {
      // A plain-TCP SIP client on the TLS port: its OPTIONS is not a ClientHello.
      const socket = tcpConnect({ host: '127.0.0.1', port: TLS_PORT });
      socket.on('error', () => undefined);
      socket.on('connect', () =>
        socket.write(
          request(
            {
              method: 'OPTIONS',
              uri: `sip:x@127.0.0.1:${TLS_PORT}`,
              branch: `z9hG4bK-plain-${i}`,
              callId: `plain-${i}`,
              cseq: 1,
              transport: 'TCP',
            },
            40000,
          ),
        ),
      );
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    }
    t.equal(await metricReaches(gs, countBefore + 2), countBefore + 2, 'two plain-TCP connections counted');

    // requireClientCert: a certificate no trusted CA signed is refused; one the CA signed is taken.
    const stranger = pki.selfSigned('stranger', 'DNS:stranger.test');
    const refused = tlsConnect({
      host: '127.0.0.1',
      port: MUTUAL_TLS_PORT,
      ca: pki.caPem,
      cert: readFileSync(stranger.cert),
      key: readFileSync(stranger.key),
    });
    refused.on('error', () => undefined);
    await new Promise<void>((resolve) => refused.once('close', () => resolve()));
    t.equal(
      await metricReaches(gs, countBefore + 3),
      countBefore + 3,
      'the untrusted client certificate counted',
    );
    t.equal(logged(), 1, 'logged once for this peer (127.0.0.1), whatever the reason');

    const expired = pki.issue('expired-client', 'DNS:client.test', { expired: true });
    const late = tlsConnect({
      host: '127.0.0.1',
      port: MUTUAL_TLS_PORT,
      ca: pki.caPem,
      cert: readFileSync(expired.cert),
      key: readFileSync(expired.key),
    });
    late.on('error', () => undefined);
    await new Promise<void>((resolve) => late.once('close', () => resolve()));
    t.equal(
      await metricReaches(gs, countBefore + 4),
      countBefore + 4,
      'an expired client certificate counted',
    );

    const anonymous = tlsConnect({ host: '127.0.0.1', port: MUTUAL_TLS_PORT, ca: pki.caPem });
    anonymous.on('error', () => undefined);
    await new Promise<void>((resolve) => anonymous.once('close', () => resolve()));
    t.equal(
      await metricReaches(gs, countBefore + 5),
      countBefore + 5,
      'a client without a certificate counted',
    );

    const client = pki.issue('client', 'DNS:client.test');
    const trusted = await openTlsPeer(t, {
      port: MUTUAL_TLS_PORT,
      ca: pki.caPem,
      cert: readFileSync(client.cert),
      key: readFileSync(client.key),
    });
    trusted.send(
      request(
        {
          method: 'OPTIONS',
          uri: `sip:x@127.0.0.1:${MUTUAL_TLS_PORT}`,
          branch: 'z9hG4bK-mtls',
          callId: 'mtls',
          cseq: 1,
          transport: 'TLS',
        },
        trusted.localPort,
      ),
    );
    t.equal(
      statusOf((await trusted.waitFor((m) => m.includes('mtls'))) ?? ''),
      200,
      'a CA-signed client certificate gets in',
    );
    const probe = await UdpPeer.open(t);
    t.ok(await gs.answersOptions(probe), 'the process still answers over UDP');
    t.ok(gs.alive(), 'process alive');
  });
});
