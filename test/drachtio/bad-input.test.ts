// The drachtio backend facing bad configuration or a failing registrar, against a real
// drachtio-server: a wrong secret is logged once and leaves the process up and not connected; an
// outbound listen port already in use rejects start() with a clear error; registrations in
// outbound mode are refused up front; a registrar's 403 is retried with backoff until a 200,
// and unregister() sends Expires: 0; an INVITE requiring an unknown extension gets 420; a bad
// %-escape in the Request-URI user is answered 400 by us (counted as rejected SIP input), never
// drachtio-srf's 500 with console.error, and one in the To user alone does not stop the call.
// Needs a drachtio binary (DRACHTIO_BIN or PATH).
import { createServer } from 'node:net';
import { format } from 'node:util';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { rejectedInputs } from '../../src/observability/rejected-input.js';
import { DrachtioBackend, type DrachtioBackendOptions } from '../../src/signaling/drachtio/index.js';
import type { RegistrationState } from '../../src/signaling/signaling-backend.js';
import { header, request, statusOf, UdpPeer, until } from '../sip/support/raw-sip.js';
import { findDrachtio, startDrachtio } from './support/drachtio-server.js';
import { SipCaller, sdp } from './support/sip-caller.js';

const drachtio = findDrachtio();
const skip = 'skip' in drachtio ? drachtio.skip : false;
const secret = 'grok-sip-test';
const sipPort = 17810;
const adminPort = 19026;

function options(over: Partial<DrachtioBackendOptions>): DrachtioBackendOptions {
  return {
    drachtio: { mode: 'inbound', host: '127.0.0.1', port: adminPort, secret, listenPort: 17815 },
    maxCalls: 1,
    retryAfterSec: 1,
    userAgent: 'grok-sip-test',
    registrations: [],
    ...over,
  };
}

/** What console.error (drachtio-srf's only error channel) printed while `fn` ran. */
async function consoleErrors(fn: () => Promise<void>): Promise<string[]> {
  const printed: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => printed.push(format(...args));
  try {
    await fn();
  } finally {
    console.error = original;
  }
  return printed;
}

function capture() {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n'))
        if (line) lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  return { lines, log: pino({ level: 'info' }, sink) };
}

t.test('registrations in outbound mode are refused up front', async (t) => {
  t.throws(
    () =>
      new DrachtioBackend(
        options({
          drachtio: { mode: 'outbound', host: '127.0.0.1', port: adminPort, secret, listenPort: 17815 },
          registrations: [{ aor: 'sip:bot@127.0.0.1', registrar: 'sip:127.0.0.1:5060', expiresSec: 60 }],
        }),
      ),
    { name: 'RangeError', message: /inbound/ },
  );
});

t.test('outbound listen port in use: start() rejects with the port and cause', async (t) => {
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(17816, resolve));
  t.teardown(() => squatter.close());
  const backend = new DrachtioBackend(
    options({
      drachtio: { mode: 'outbound', host: '127.0.0.1', port: adminPort, secret, listenPort: 17816 },
    }),
  );
  await t.rejects(backend.start(), /port 17816: .*EADDRINUSE/);
  t.equal(backend.connected, false);
  await backend.stop();
});

t.test('against drachtio-server', { skip }, async (t) => {
  if (!('bin' in drachtio)) return;
  await startDrachtio(t, drachtio.bin, { sipPort, adminPort, secret });

  await t.test('wrong secret: logged once, not connected, still alive', async (t) => {
    const { lines, log } = capture();
    const backend = new DrachtioBackend(
      options({ drachtio: { ...options({}).drachtio, secret: 'wrong' }, log, connectWaitMs: 500 }),
    );
    t.teardown(() => backend.stop());
    await backend.start();
    await until(() => lines.some((l) => /refused/.test(l.msg)), 5000);
    t.equal(backend.connected, false, 'not connected');
    t.equal(lines.filter((l) => /refused us/.test(l.msg)).length, 1, 'the refusal is logged once');
    t.match(
      lines.find((l) => /refused us/.test(l.msg)),
      { msg: /secret/ },
      'and says what to check',
    );
  });

  await t.test('an INVITE requiring an unsupported extension gets 420', async (t) => {
    const backend = new DrachtioBackend(options({}));
    let calls = 0;
    backend.onIncomingCall((call) => {
      calls++;
      call.reject(488);
    });
    t.teardown(() => backend.stop());
    await backend.start();
    await until(() => backend.connected, 5000);
    const caller = await SipCaller.open(t, 'require-foo', sipPort);
    const { cseq } = caller.send('INVITE', { body: sdp(40000), extra: ['Require: foo'] });
    const refused = await caller.peer.waitFor((m) => /^SIP\/2\.0 [2-6]\d\d/.test(m), 1, 5000);
    t.match(refused[0] ?? '', /^SIP\/2\.0 420 /, '420 Bad Extension');
    t.match(header(refused[0] ?? '', 'Unsupported') ?? '', /foo/);
    t.equal(calls, 0, 'no call reached grok-sip');
    t.ok(cseq > 0);
  });

  await t.test(
    'a bad %-escape in the Request-URI user: 400 from us, not 500 via console.error',
    async (t) => {
      const backend = new DrachtioBackend(options({}));
      let calls = 0;
      backend.onIncomingCall((call) => {
        calls++;
        call.reject(488);
      });
      t.teardown(() => backend.stop());
      await backend.start();
      await until(() => backend.connected, 5000);
      const peer = await UdpPeer.open(t);
      const sipBefore = rejectedInputs.count('sip');
      let answer: string | undefined;
      const printed = await consoleErrors(async () => {
        // %C3%28 is well-formed hex but not UTF-8: decodeURIComponent throws on it.
        peer.send(
          request(
            {
              method: 'INVITE',
              uri: `sip:%C3%28@127.0.0.1:${sipPort}`,
              branch: 'z9hG4bKbad-ruri-escape',
              callId: 'bad-ruri-escape',
              cseq: 1,
              body: sdp(40002),
            },
            peer.port,
          ).replace(/^To: .*$/m, `To: <sip:bot@127.0.0.1:${sipPort}>`),
          sipPort,
        );
        [answer] = await peer.waitFor((m) => statusOf(m) >= 200, 1, 5000);
        // drachtio-srf prints after it answers: give a late console.error the time to show.
        await new Promise((r) => setTimeout(r, 200));
      });
      t.equal(statusOf(answer ?? ''), 400, `400, not 500 (got: ${answer?.split('\r\n')[0]})`);
      t.same(printed, [], 'drachtio-srf printed nothing on console.error');
      t.equal(rejectedInputs.count('sip') - sipBefore, 1, 'counted once as rejected SIP input');
      t.equal(calls, 0, 'no call reached grok-sip');
    },
  );

  await t.test('a bad %-escape in the To user only: routed on the Request-URI, our answer', async (t) => {
    // The dialled user comes from the Request-URI (To is read only when it has no user), so a
    // To the caller garbled is no reason to refuse: the call reaches grok-sip and its answer
    // (here 486) is what the caller gets — no 400, no 500, nothing rejected.
    const backend = new DrachtioBackend(options({}));
    const seen: { dialledUser: string; to: string }[] = [];
    backend.onIncomingCall((call) => {
      seen.push({ dialledUser: call.dialledUser, to: call.to });
      call.reject(486);
    });
    t.teardown(() => backend.stop());
    await backend.start();
    await until(() => backend.connected, 5000);
    const peer = await UdpPeer.open(t);
    const sipBefore = rejectedInputs.count('sip');
    let answer: string | undefined;
    const printed = await consoleErrors(async () => {
      peer.send(
        request(
          {
            method: 'INVITE',
            uri: `sip:bot@127.0.0.1:${sipPort}`,
            branch: 'z9hG4bKbad-to-escape',
            callId: 'bad-to-escape',
            cseq: 1,
            body: sdp(40004),
          },
          peer.port,
        ).replace(/^To: .*$/m, `To: <sip:%C3%28@127.0.0.1:${sipPort}>`),
        sipPort,
      );
      [answer] = await peer.waitFor((m) => statusOf(m) >= 200, 1, 5000);
      await new Promise((r) => setTimeout(r, 200));
    });
    t.equal(statusOf(answer ?? ''), 486, `our 486 (got: ${answer?.split('\r\n')[0]})`);
    t.same(printed, [], 'drachtio-srf printed nothing on console.error');
    t.equal(rejectedInputs.count('sip') - sipBefore, 0, 'not a rejected input');
    t.equal(seen.length, 1, 'the call reached grok-sip');
    t.equal(seen[0]?.dialledUser, 'bot', 'dialled user from the Request-URI');
    t.match(seen[0]?.to ?? '', /%C3%28/, 'To handed over as received');
  });

  await t.test('registrar 403, retried with backoff, then 200; unregister sends Expires: 0', async (t) => {
    const registrar = await SipCaller.open(t, 'registrar', sipPort);
    const states: RegistrationState[] = [];
    const backend = new DrachtioBackend(
      options({
        registrations: [
          { aor: 'sip:bot@127.0.0.1', registrar: `sip:127.0.0.1:${registrar.peer.port}`, expiresSec: 120 },
        ],
      }),
    );
    backend.events.on('registration', (s) => states.push(s));
    t.teardown(() => backend.stop());
    await backend.start();

    const registers = async (n: number): Promise<string> => {
      const all = await registrar.peer.waitFor((m) => m.startsWith('REGISTER '), n, 8000);
      t.equal(all.length, n, `REGISTER #${n} arrived`);
      return all[n - 1]!;
    };
    const first = await registers(1);
    t.equal(header(first, 'Expires'), '120');
    registrar.respond(first, 403, 'Forbidden');
    await until(() => backend.registrations()[0]?.status === 'failed');
    const failed = backend.registrations()[0]!;
    t.match(failed, { status: 'failed', lastError: '403 Forbidden' });
    t.ok((failed.nextAttemptAtMs ?? 0) > Date.now(), 'a retry is scheduled');

    const second = await registers(2);
    registrar.respond(second, 200, 'OK', [`Contact: ${header(second, 'Contact') ?? ''};expires=90`]);
    await until(() => backend.registrations()[0]?.status === 'registered');
    t.match(
      backend.registrations()[0],
      { status: 'registered', expiresSec: 90 },
      'granted time from Contact',
    );
    t.same(
      states.map((s) => s.status),
      ['registering', 'failed', 'registering', 'registered'],
      "'registration' events for each change",
    );

    const done = backend.unregister();
    const third = await registers(3);
    t.equal(header(third, 'Expires'), '0', 'un-REGISTER');
    registrar.respond(third, 200, 'OK');
    await done;
    t.equal(backend.registrations()[0]?.status, 'unregistered');
  });
});
