// One source list (native/sources.txt), two builders: node-gyp (binding.gyp -> build/Release) and
// cmake-js (CMakeLists.txt -> a temporary directory). Each .node is loaded in a fresh node process
// that checks the ABI version and a G.711 round trip with known codes.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const buildTimeoutMs = 240_000;
t.setTimeout(2 * buildTimeoutMs + 60_000);

// Runs in the child: mu-law and A-law of 0, 1000, -1000, 32767, -32768 and back.
const probe = `
const addon = require(process.argv[1]);
const pcm = Buffer.alloc(10);
[0, 1000, -1000, 32767, -32768].forEach((v, i) => pcm.writeInt16LE(v, i * 2));
const u = addon.ulawEncode(pcm);
const a = addon.alawEncode(pcm);
const back = (b) => Array.from({ length: b.length / 2 }, (_, i) => b.readInt16LE(i * 2));
console.log(JSON.stringify({
  abiVersion: addon.abiVersion,
  ulaw: u.toString('hex'),
  alaw: a.toString('hex'),
  ulawBack: back(addon.ulawDecode(u)),
  alawBack: back(addon.alawDecode(a)),
}));
`;

const expected = {
  abiVersion: 1,
  ulaw: 'ffce4e8000',
  alaw: 'd5fa7aaa2a',
  ulawBack: [0, 988, -988, 32124, -32124],
  alawBack: [8, 1008, -1008, 32256, -32256],
};

async function check(t: Test, addonPath: string): Promise<void> {
  t.ok(existsSync(addonPath), `${path.relative(root, addonPath)} exists`);
  const { stdout } = await run(process.execPath, ['-e', probe, addonPath], { timeout: 30_000 });
  t.same(JSON.parse(stdout), expected, 'abiVersion and G.711 round trip');
}

t.test('node-gyp rebuild (binding.gyp)', async (t) => {
  await run('npx', ['node-gyp', 'rebuild'], { cwd: root, timeout: buildTimeoutMs, maxBuffer: 64 << 20 });
  await check(t, path.join(root, 'build', 'Release', 'grok_sip_media.node'));
});

t.test('cmake-js compile (CMakeLists.txt)', async (t) => {
  const out = mkdtempSync(path.join(tmpdir(), 'grok-sip-cmake-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  await run('npx', ['cmake-js', 'compile', '-O', out], {
    cwd: root,
    timeout: buildTimeoutMs,
    maxBuffer: 64 << 20,
  });
  await check(t, path.join(out, 'Release', 'grok_sip_media.node'));
});
