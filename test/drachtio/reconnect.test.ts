// drachtio-server lost mid-run and back: grok-sip stays up, /readyz-level state follows
// (backend.connected), drachtio-srf reconnects by itself, and the next call completes. Needs a
// drachtio binary (DRACHTIO_BIN or PATH); skipped without one.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { runSipp } from '../sip/support/run-peer.js';
import { findDrachtio, startDrachtio } from './support/drachtio-server.js';

const drachtio = findDrachtio();

t.test(
  'drachtio-server restarts under a running grok-sip',
  { skip: 'skip' in drachtio ? drachtio.skip : false },
  async (t) => {
    if (!('bin' in drachtio)) return;
    const ports = { sipPort: 17860, adminPort: 19023, secret: 'grok-sip-test' };
    const first = await startDrachtio(t, drachtio.bin, ports);
    const app = await startGrokSip(
      parseConfig(
        `sip: { backend: drachtio, drachtio: { mode: inbound, host: 127.0.0.1, port: ${ports.adminPort}, secret: ${ports.secret} } }
media: { rtpAddress: 127.0.0.1, portMin: 27900, portMax: 27999 }
agents:
  default: echo
  profiles: [{ name: echo, instructions: Repeat. }]
`,
        {},
      ),
    );
    t.teardown(() => app.stop());
    const waitFor = async (what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> => {
      const until = Date.now() + timeoutMs;
      while (!cond()) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
        await sleep(50);
      }
    };
    t.equal(app.backend.connected, true, 'connected at start');

    await first.stop();
    await waitFor('the loss to be noticed', () => !app.backend.connected);
    t.equal(app.backend.connected, false, 'the lost connection is noticed; the process is still up');

    await startDrachtio(t, drachtio.bin, ports);
    await waitFor('the reconnect', () => app.backend.connected);
    t.equal(app.backend.connected, true, 'drachtio-srf reconnected by itself');

    const r = await runSipp(t, `127.0.0.1:${ports.sipPort}`, [
      '-sn',
      'uac',
      '-s',
      'echo',
      '-d',
      '1000',
      '-m',
      '1',
      '-p',
      '17865',
      '-mp',
      '27870',
      '-rtp_echo',
    ]);
    t.equal(r.code, 0, 'a call after the reconnect completes');
  },
);
