// CDRs as JSON lines: one pino line {cdr} per call, appended to a JSONL file when configured;
// a file that cannot be written is logged once and never thrown.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import type { CallDetailRecord } from '../../src/observability/call-detail-record.js';
import { CallDetailLog } from '../../src/observability/call-detail-log.js';

/** A real pino logger writing JSON lines into an array. */
function capturingLogger(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

function record(callId: string, over: Partial<CallDetailRecord> = {}): CallDetailRecord {
  return {
    callId,
    backend: 'embedded',
    from: '"Alice" <sip:alice@127.0.0.1>;tag=a1',
    to: '<sip:4000@127.0.0.1>',
    dialledUser: '4000',
    sourceAddress: '127.0.0.1:5061',
    agent: 'assistant',
    codec: 'PCMA',
    apiFormat: 'pcma',
    sipStatus: 200,
    endReason: 'agent-hangup',
    startedAt: '2026-01-01T00:00:00.000Z',
    answeredAt: '2026-01-01T00:00:00.030Z',
    endedAt: '2026-01-01T00:01:00.000Z',
    durationMs: 60000,
    setupMs: 30,
    firstAgentAudioMs: 650,
    bargeIns: 0,
    turns: 4,
    dtmfDigits: 2,
    realtimeErrors: 0,
    realtimeReconnects: 0,
    ...over,
  };
}

t.test('one pino info line {cdr} per call', async (t) => {
  const { log, lines } = capturingLogger();
  const cdrLog = new CallDetailLog({ log });
  const r = record('call-1');
  cdrLog.write(r);
  await cdrLog.flush();
  t.equal(lines.length, 1);
  t.equal(lines[0]?.level, 30, 'info');
  t.same(lines[0]?.cdr, r, 'the whole record, unchanged');
});

t.test('appends one parseable JSON line per call to the CDR file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'grok-sip-cdr-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cdrFile = join(dir, 'cdr.jsonl');
  const { log, lines } = capturingLogger();
  const cdrLog = new CallDetailLog({ log, cdrFile });
  const records = [
    record('call-1'),
    record('call-2', { endReason: 'rejected', sipStatus: 404, agent: undefined }),
    record('call-3', { transferTarget: 'sip:sales@pbx.example.com', endReason: 'transfer' }),
  ];
  for (const r of records) cdrLog.write(r);
  await cdrLog.flush();
  const text = await readFile(cdrFile, 'utf8');
  t.ok(text.endsWith('\n'), 'newline-terminated');
  const parsed = text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as CallDetailRecord);
  t.same(parsed, JSON.parse(JSON.stringify(records)), 'three lines in call-end order');
  t.equal(lines.length, 3, 'and three log lines');

  // A second writer (restart) appends, it does not truncate.
  const again = new CallDetailLog({ log, cdrFile });
  again.write(record('call-4'));
  await again.flush();
  const after = (await readFile(cdrFile, 'utf8')).trimEnd().split('\n');
  t.equal(after.length, 4);
  t.equal((JSON.parse(after[3] ?? '') as CallDetailRecord).callId, 'call-4');
});

t.test('a missing directory is logged once, never thrown, and the log line still goes out', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'grok-sip-cdr-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { log, lines } = capturingLogger();
  const cdrLog = new CallDetailLog({ log, cdrFile: join(dir, 'no-such-dir', 'cdr.jsonl') });
  t.doesNotThrow(() => {
    cdrLog.write(record('call-1'));
    cdrLog.write(record('call-2'));
    cdrLog.write(record('call-3'));
  });
  await cdrLog.flush();
  const errors = lines.filter((l) => l.level === 50);
  t.equal(errors.length, 1, 'one error line for three failed writes');
  t.match(errors[0], { msg: 'cannot append CDR to the file', err: /ENOENT/ });
  t.equal(lines.filter((l) => l.cdr !== undefined).length, 3, 'every CDR still logged');
});

t.test('bad options and unserialisable records', async (t) => {
  const { log, lines } = capturingLogger();
  t.throws(() => new CallDetailLog({ log, cdrFile: '' }), TypeError);
  const cdrLog = new CallDetailLog({ log });
  const cyclic = record('cyc') as CallDetailRecord & { self?: unknown };
  cyclic.self = cyclic;
  t.doesNotThrow(() => cdrLog.write(cyclic));
  t.doesNotThrow(() => cdrLog.write(cyclic));
  await cdrLog.flush();
  t.equal(lines.filter((l) => l.level === 50).length, 1, 'logged once');
});
