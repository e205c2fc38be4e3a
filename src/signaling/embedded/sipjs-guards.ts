// Nothing sip.js throws may reach the process (issue 13). Three ways in exist: a message we hand
// it (node-transport.ts wraps every delivery), a timer it armed, and a promise it chains. This
// file covers the timers: every RFC 3261 transaction timer (A–N) runs through one guard that
// turns an exception into a counted, once-logged `sip-stack` rejection; the transaction whose
// timer threw is left to its other timers, the process and the other calls go on.
//
// And one known sip.js 0.21.2 bug at its root: a call whose ACK is lost and which the caller
// then ends with BYE has its 2xx-retransmission timeout (Timer L, 64*T1 after the 200) call
// Invitation.onAckTimeout on a session that is already Terminated, which throws "Invalid state
// transition from Terminated to Terminated" from the timer. A session already ended needs no BYE.
import { Core, Invitation, SessionState } from 'sip.js';
import { rejectedInputs, reasonOf } from '../../observability/rejected-input.js';

let installed = false;

/** Idempotent: the prototypes are shared by every UserAgent in the process. */
export function guardSipJs(): void {
  if (installed) return;
  installed = true;
  const classes: Record<string, { prototype: object }> = {
    InviteClientTransaction: Core.InviteClientTransaction,
    InviteServerTransaction: Core.InviteServerTransaction,
    NonInviteClientTransaction: Core.NonInviteClientTransaction,
    NonInviteServerTransaction: Core.NonInviteServerTransaction,
    SubscribeUserAgentClient: Core.SubscribeUserAgentClient,
    SubscriptionDialog: Core.SubscriptionDialog,
  };
  for (const [className, cls] of Object.entries(classes)) {
    const proto = cls.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const original = proto[name];
      if (!/^timer[A-Z]$/.test(name) || typeof original !== 'function') continue;
      proto[name] = function guardedTimer(this: unknown, ...args: unknown[]): unknown {
        try {
          return (original as (...a: unknown[]) => unknown).apply(this, args);
        } catch (err) {
          rejectedInputs.reject('sip-stack', `${className}.${name}`, reasonOf(err), err);
          return undefined;
        }
      };
    }
  }
  const invitation = Invitation.prototype as unknown as { onAckTimeout(this: Invitation): void };
  const onAckTimeout = invitation.onAckTimeout;
  invitation.onAckTimeout = function (this: Invitation): void {
    if (this.state === SessionState.Terminated) return;
    onAckTimeout.call(this);
  };
}

/** Timer method names the guard wrapped, for the test that proves sip.js still has them. */
export function guardedTimerNames(): string[] {
  const names: string[] = [];
  for (const cls of [
    Core.InviteClientTransaction,
    Core.InviteServerTransaction,
    Core.NonInviteClientTransaction,
    Core.NonInviteServerTransaction,
  ]) {
    const proto = cls.prototype as unknown as Record<string, { name?: string }>;
    for (const n of Object.getOwnPropertyNames(proto)) {
      if (/^timer[A-Z]$/.test(n) && proto[n]?.name === 'guardedTimer') names.push(n);
    }
  }
  return names;
}
