// The last line of the input boundary (DESIGN.md "Failure rules"): an exception nobody caught
// — thrown from a timer or a promise chain inside a SIP library, where no caller of ours is on
// the stack — is logged and counted, and the process goes on answering the other calls. Node's
// default (exit) would end every call in progress for one broken transaction. The guards closer
// to the source (node-transport.ts around every message, sipjs-guards.ts around sip.js's
// timers) should leave nothing for this net; what it catches is a bug to fix, so it logs the
// stack once per distinct message at error level.
import { LogOnce, type Logger } from '../observability/logger.js';
import { rejectedInputs, reasonOf } from '../observability/rejected-input.js';

const SIP_LIBRARY = /[\\/]node_modules[\\/](?:sip\.js|drachtio-srf|drachtio-sip)[\\/]/;

let installed = false;

export function installProcessSafetyNet(log: Logger): void {
  if (installed) return;
  installed = true;
  const once = new LogOnce(256);
  const caught = (what: 'uncaught exception' | 'unhandled rejection', err: unknown): void => {
    const stack = err instanceof Error ? (err.stack ?? '') : '';
    const fromSipLibrary = SIP_LIBRARY.test(stack);
    if (fromSipLibrary) rejectedInputs.reject('sip-stack', 'process', reasonOf(err), err);
    if (once.first(`${what}|${reasonOf(err)}`)) {
      log.error({ err, fromSipLibrary }, `${what}; the process keeps running`);
    }
  };
  process.on('uncaughtException', (err) => caught('uncaught exception', err));
  process.on('unhandledRejection', (reason) => caught('unhandled rejection', reason));
}
