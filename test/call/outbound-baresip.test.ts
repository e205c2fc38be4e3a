// An outbound call to a real softphone: baresip auto-answers (answermode=auto) and speaks a
// 600 Hz tone from its aufile source; the local echo agent says it back; what baresip heard
// (its recording) must be that tone again.
// Ports: baresip SIP 37800, its RTP 37820-37839; grok-sip SIP 37801, RTP 37840-37859.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { baresipDir, receivedTone } from '../sip/support/baresip.js';
import { runPeer } from '../sip/support/run-peer.js';

const config = parseConfig(
  `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: 37801 }]
media: { rtpAddress: 127.0.0.1, portMin: 37840, portMax: 37859, workers: 0 }
agents:
  profiles: [{ name: echo, instructions: Repeat what you hear., audioFormat: auto }]
  routes: []
trunks:
  - { name: softphone, proxy: "sip:127.0.0.1:37800" }
`,
  {},
);

async function until(check: () => boolean, maxMs: number): Promise<boolean> {
  for (const end = Date.now() + maxMs; Date.now() < end;) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

t.test('baresip auto-answers; its tone comes back to it through the agent', async (t) => {
  const dir = baresipDir(t, {
    sipPort: 37800,
    rtpPort: 37820,
    toneSec: 1.5,
    silenceSec: 20,
    accountParams: ';answermode=auto',
  });
  const phone = runPeer(t, 'baresip', ['-f', dir, '-t', '25'], { timeoutMs: 35_000 });
  const hex = `:${(37800).toString(16).toUpperCase()}`;
  await until(() => {
    const table = readFileSync('/proc/net/udp', 'utf8');
    return table.split('\n').some((line) => line.trim().split(/\s+/)[1]?.endsWith(hex));
  }, 10_000);
  const app = await startGrokSip(config);
  t.teardown(() => app.stop());
  const call = app.placeCall({ to: 'tester', trunk: 'softphone', agent: 'echo' });
  t.ok(await until(() => call.state === 'answered', 15_000), 'baresip answered by itself');
  const echoed = (): boolean => app.localAgent!.sent.some((s) => s.type === 'response.done');
  t.ok(await until(echoed, 15_000), 'the agent heard the tone and answered it');
  // Let the echo play out on RTP before hanging up (baresip writes its recording at the end).
  await new Promise((r) => setTimeout(r, 2500));
  call.hangup();
  const record = await call.done;
  t.match(record, { endReason: 'api-hangup', sipStatus: 200, codec: 'PCMU' });
  t.ok(
    record.media !== undefined && record.media.packetsIn > 50,
    `RTP from baresip: ${record.media?.packetsIn}`,
  );
  // The recording is complete once baresip has closed the call on its side.
  await until(() => {
    const r = receivedTone(dir);
    return 'frequency' in r && Number.isFinite(r.frequency) && Number.isFinite(r.rms);
  }, 10_000);
  const heard = receivedTone(dir);
  t.ok('frequency' in heard, `baresip recorded what it heard ${JSON.stringify(heard)}`);
  if ('frequency' in heard) {
    t.ok(
      heard.frequency > 550 && heard.frequency < 650,
      `the echo is the 600 Hz tone: ${heard.frequency} Hz`,
    );
    t.ok(heard.rms > 0.01, `and audible: RMS ${heard.rms}`);
  }
  phone.child.kill('SIGTERM');
  await phone.done;
});
