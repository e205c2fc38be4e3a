// The same call scenarios over both signaling backends, so the call layer is proven not to care
// which one carried the call: SIPp uac, CANCEL while the agent is being reached, the callee's
// BYE (end_call tool), and end-to-end echo audio. The drachtio run needs a drachtio-server binary
// (DRACHTIO_BIN or PATH) and reports itself skipped without one.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startGrokSip, type GrokSipApp } from '../../src/app/grok-sip-app.js';
import type { CallDetailRecord } from '../../src/observability/call-detail-record.js';
import { parseConfig } from '../../src/config/load-config.js';
import { decodeUlaw } from '../../src/media/g711.js';
import type { LocalAgentOptions } from '../../src/realtime/index.js';
import { runSipp } from '../sip/support/run-peer.js';
import { samplesOf, segmentedCorrelation, trimSilence } from '../call/support/audio-compare.js';
import { captureUdpTo } from '../call/support/rtp-capture.js';
import { startKamailio } from '../sip/support/kamailio.js';
import { findDrachtio, startDrachtio } from './support/drachtio-server.js';
import { spokenPhraseDir } from '../call/support/spoken-phrase.js';

const scenarios = path.resolve('sip-config/sipp');
const work = spokenPhraseDir(t, 'backends');

const drachtio = findDrachtio();
const secret = 'grok-sip-test';

interface Backend {
  readonly name: 'embedded' | 'drachtio';
  /** Where SIPp sends its INVITE. */
  readonly sipPort: number;
  readonly sipSection: string;
  readonly rtpMin: number;
  readonly skip: string | false;
  /** A registrations section (or nothing). */
  readonly registrar: string;
}

const backends: Backend[] = [
  {
    name: 'embedded',
    sipPort: 17820,
    sipSection: `sip: { listen: [{ transport: udp, address: 127.0.0.1, port: 17820 }] }`,
    rtpMin: 27600,
    skip: false,
    registrar: '',
  },
  {
    name: 'drachtio',
    sipPort: 17850,
    sipSection: `sip: { backend: drachtio, drachtio: { mode: inbound, host: 127.0.0.1, port: 19022, secret: ${secret} } }`,
    rtpMin: 27700,
    skip: 'skip' in drachtio ? drachtio.skip : false,
    registrar: '',
  },
];

for (const backend of backends) {
  t.test(`${backend.name} backend`, { skip: backend.skip }, async (t) => {
    if (backend.name === 'drachtio' && 'bin' in drachtio) {
      await startDrachtio(t, drachtio.bin, { sipPort: backend.sipPort, adminPort: 19022, secret });
    }
    let mediaPort = backend.rtpMin + 200;
    const sipp = (scenario: string[], timeoutSec = 30) => {
      mediaPort += 10;
      return runSipp(
        t,
        `127.0.0.1:${backend.sipPort}`,
        [...scenario, '-m', '1', '-p', String(mediaPort + 5), '-mp', String(mediaPort)],
        { cwd: work, timeoutSec },
      );
    };
    const start = async (
      localAgent: LocalAgentOptions,
    ): Promise<{ app: GrokSipApp; records: CallDetailRecord[] }> => {
      const app = await startGrokSip(
        parseConfig(
          `${backend.sipSection}
media: { rtpAddress: 127.0.0.1, portMin: ${backend.rtpMin}, portMax: ${backend.rtpMin + 99} }
agents:
  default: echo
  profiles:
    - name: echo
      instructions: Repeat.
      tools: [{ type: end_call }, { type: transfer, targets: { sales: 'sip:4001@127.0.0.1' } }]
  routes: [{ match: transfer, agent: echo }]
${backend.registrar}
`,
          {},
        ),
        { localAgent },
      );
      const records: CallDetailRecord[] = [];
      app.events.on('call-ended', (r) => records.push(r));
      return { app, records };
    };
    const waitFor = async (what: string, cond: () => boolean): Promise<void> => {
      const until = Date.now() + 10_000;
      while (!cond()) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
        await sleep(20);
      }
    };

    const { app, records } = await start({ mode: 'scripted' });
    t.equal(app.backend.name, backend.name, `calls are carried by the ${backend.name} backend`);

    await t.test('SIPp uac with RTP echo', async (t) => {
      const r = await sipp(['-sn', 'uac', '-s', 'echo', '-d', '2000', '-rtp_echo']);
      t.equal(r.code, 0, 'SIPp call completed');
      await waitFor('the CDR', () => records.length === 1);
      t.match(records[0], { backend: backend.name, endReason: 'remote-bye', sipStatus: 200, codec: 'PCMU' });
    });

    await t.test("the callee's BYE (end_call tool)", async (t) => {
      const call = sipp(['-sf', path.join(scenarios, 'uac_recv_bye.xml'), '-s', 'echo']);
      await waitFor('the call', () => app.activeCalls() === 1 && app.localAgent!.openConnections() === 1);
      await sleep(300);
      app.localAgent!.runStep({ kind: 'function_call', name: 'end_call' });
      t.equal((await call).code, 0, 'SIPp received our BYE');
      await waitFor('the CDR', () => records.length === 2);
      t.equal(records[1]?.endReason, 'agent-hangup');
    });

    await t.test('echo audio end to end', async (t) => {
      const capture = await captureUdpTo(t, mediaPort + 10, path.join(work, `${backend.name}.pcap`));
      const r = await sipp(['-sf', path.join(scenarios, 'uac_speak_pcmu.xml'), '-s', 'echo']);
      const packets = (await capture.stop()).filter(
        (p) => p.srcPort >= backend.rtpMin && p.srcPort <= backend.rtpMin + 99 && p.payloadType === 0,
      );
      t.equal(r.code, 0, 'SIPp call completed');
      const sent = trimSilence(samplesOf(decodeUlaw(readFileSync(path.join(work, 'phrase.ul')))));
      const echoed = trimSilence(samplesOf(decodeUlaw(Buffer.concat(packets.map((p) => p.payload)))));
      const padded = new Float64Array(sent.length + 8000);
      padded.set(sent, 4000);
      const { correlation } = segmentedCorrelation(padded, echoed);
      t.ok(correlation >= 0.9, `echo matches the phrase: correlation ${correlation.toFixed(3)}`);
      t.ok(echoed.length >= 0.9 * sent.length, 'and holds nearly all of it');
    });
    await t.test('DTMF by RFC 4733 and INFO reaches the agent', async (t) => {
      const from = app.localAgent!.received.length;
      const r = await sipp(['-sf', path.join(scenarios, 'uac_dtmf.xml'), '-s', 'echo']);
      t.equal(r.code, 0, 'SIPp call completed');
      const texts = app
        .localAgent!.received.slice(from)
        .flatMap(({ event }) =>
          event.type === 'conversation.item.create' && event.item.type === 'message'
            ? [event.item.content.map((c) => c.text).join(' ')]
            : [],
        );
      t.same(texts, [
        '[The caller pressed the telephone key "5".]',
        '[The caller pressed the telephone key "7".]',
      ]);
    });

    await t.test('transfer: REFER, NOTIFY sipfrag 200, BYE', async (t) => {
      const call = sipp(['-sf', path.join(scenarios, 'uac_accept_refer.xml'), '-s', 'transfer']);
      await waitFor('the call', () => app.activeCalls() === 1 && app.localAgent!.openConnections() === 1);
      await sleep(300);
      app.localAgent!.runStep({
        kind: 'function_call',
        name: 'transfer_call',
        arguments: '{"target":"sales"}',
      });
      const r = await call;
      t.equal(r.code, 0, `SIPp saw the REFER and our BYE${r.code ? r.stderr.slice(-300) : ''}`);
      await waitFor('the CDR', () => records.at(-1)?.endReason === 'transfer');
      t.equal(records.at(-1)?.transferTarget, 'sip:4001@127.0.0.1');
    });

    await app.stop();

    await t.test('registration to Kamailio, then a call through it', async (t) => {
      const kamailioPort = backend.name === 'embedded' ? 17880 : 17890;
      await startKamailio(t, kamailioPort);
      const registered = await startGrokSip(
        parseConfig(
          `${backend.sipSection.replace(/ }$/, `, registrations: [{ aor: 'sip:bot@127.0.0.1', registrar: 'sip:127.0.0.1:${kamailioPort}', username: bot, password: botpass, expiresSec: 60 }] }`)}
media: { rtpAddress: 127.0.0.1, portMin: ${backend.rtpMin}, portMax: ${backend.rtpMin + 99} }
agents:
  default: echo
  profiles: [{ name: echo, instructions: Repeat. }]
`,
          {},
        ),
        { localAgent: { mode: 'scripted' } },
      );
      // Stopped once: at the end of the test, or in teardown when an assertion threw first (the
      // next test binds the same SIP port).
      let stopping: Promise<void> | undefined;
      const stopRegistered = (): Promise<void> => (stopping ??= registered.stop());
      t.teardown(stopRegistered);
      const calls: CallDetailRecord[] = [];
      registered.events.on('call-ended', (r) => calls.push(r));
      await waitFor('the registration', () => registered.backend.registrations()[0]?.status === 'registered');
      t.match(registered.backend.registrations()[0], {
        aor: 'sip:bot@127.0.0.1',
        status: 'registered',
        expiresSec: 60,
      });
      mediaPort += 10;
      const r = await runSipp(
        t,
        `127.0.0.1:${kamailioPort}`,
        [
          '-sf',
          path.join(scenarios, 'uac_proxy.xml'),
          '-s',
          'bot',
          '-m',
          '1',
          '-p',
          String(mediaPort + 5),
          '-mp',
          String(mediaPort),
        ],
        { cwd: work },
      );
      t.equal(r.code, 0, 'a call to the registered user through Kamailio completes (Record-Route honoured)', {
        sippErrors: r.errors,
      });
      await waitFor('the CDR', () => calls.length === 1);
      t.equal(calls[0]?.backend, backend.name);
      await stopRegistered();
      t.equal(registered.backend.registrations()[0]?.status, 'unregistered', 'un-REGISTERed on stop');
    });

    await t.test('CANCEL while the agent is being reached', async (t) => {
      // The agent never finishes its handshake, so the call rings until the caller gives up.
      const stalled = await start({ mode: 'scripted', script: { handshake: 'stall' } });
      t.teardown(() => stalled.app.stop());
      const r = await sipp(['-sf', path.join(scenarios, 'uac_cancel.xml'), '-s', 'echo']);
      t.equal(r.code, 0, 'SIPp: 200 for the CANCEL, 487 for the INVITE');
      await waitFor('the CDR', () => stalled.records.length === 1);
      t.match(stalled.records[0], { endReason: 'cancelled', backend: backend.name });
    });
  });
}
