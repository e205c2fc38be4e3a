// The last line of the input boundary: an exception thrown from a SIP library's timer or promise
// chain (no caller of ours on the stack) is logged and counted, and the process keeps running.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';

const root = path.resolve(import.meta.dirname, '..', '..');

t.test('an uncaught exception and an unhandled rejection from sip.js do not end the process', async (t) => {
  const script = path.join(t.testdir(), 'child.mts');
  writeFileSync(
    script,
    `
import { installProcessSafetyNet } from '${path.join(root, 'src/cli/process-safety-net.ts')}';
import { logger } from '${path.join(root, 'src/observability/logger.ts')}';
import { rejectedInputs } from '${path.join(root, 'src/observability/rejected-input.ts')}';
installProcessSafetyNet(logger);
const fromSipJs = (message: string): Error => {
  const err = new Error(message);
  err.stack = 'Error: ' + message + '\\n    at timerL (file:///x/node_modules/sip.js/lib/core/transactions/invite-server-transaction.js:1:1)';
  return err;
};
setTimeout(() => { throw fromSipJs('Invalid state transition from Terminated to Terminated'); }, 10);
setTimeout(() => { void Promise.reject(fromSipJs('transport gone')); }, 20);
setTimeout(() => { throw new Error('a bug of ours'); }, 30);
setTimeout(() => {
  console.log(JSON.stringify({ sipStack: rejectedInputs.count('sip-stack'), alive: true }));
}, 200);
`,
  );
  const r = spawnSync(process.execPath, ['--import=tsx', script], {
    cwd: root,
    env: { ...process.env, TAP: '0', GROK_SIP_LOG_LEVEL: 'error' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  t.equal(r.status, 0, `exit 0 ${r.stderr.slice(-500)}`);
  const last = r.stdout.trim().split('\n').pop() ?? '{}';
  t.same(JSON.parse(last), { sipStack: 2, alive: true }, 'both sip.js errors counted, the process ran on');
  const errors = r.stdout.split('\n').filter((l) => l.includes('the process keeps running'));
  t.equal(errors.length, 3, 'each logged once, ours too (with its stack, as a bug to fix)');
});
