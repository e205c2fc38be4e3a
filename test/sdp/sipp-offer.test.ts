// The offer a real SIPp (built-in uac scenario) sends parses and negotiates to PCMU.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { negotiate, parseSdp } from '../../src/signaling/sdp/index.js';

const freeUdpPort = async (): Promise<number> => {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  return port;
};

t.test('SIPp uac INVITE body', async (t) => {
  const listener = createSocket('udp4');
  listener.bind(0, '127.0.0.1');
  await once(listener, 'listening');
  t.teardown(() => listener.close());
  const mediaPort = await freeUdpPort();
  const sipp = spawn(
    'sipp',
    [
      '-sn',
      'uac',
      `127.0.0.1:${listener.address().port}`,
      '-i',
      '127.0.0.1',
      '-p',
      String(await freeUdpPort()),
      '-mp',
      String(mediaPort),
      '-m',
      '1',
      '-nostdin',
      '-timeout',
      '20s',
    ],
    { stdio: 'ignore' },
  );
  t.teardown(() => sipp.kill('SIGKILL'));
  const [message] = (await once(listener, 'message')) as [Buffer];
  const text = message.toString('utf8');
  t.match(text, /^INVITE sip:/);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  const remote = parseSdp(body);
  t.equal(remote.address, '127.0.0.1');
  t.equal(remote.port, mediaPort);
  t.same(remote.codecs, [{ payloadType: 0, name: 'PCMU', clockRate: 8000 }]);
  const n = negotiate(remote, { codecs: ['PCMA', 'PCMU'] });
  t.equal(n?.codec, 'PCMU');
  t.equal(n?.remotePort, mediaPort);
});
