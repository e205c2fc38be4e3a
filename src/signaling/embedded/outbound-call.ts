// A call we place (UAC) on the embedded stack: INVITE with our offer, provisional responses,
// 2xx → ACK (sip.js) → a Dialog like any other; a final failure rejects with its status.
// Used by `grok-sip call` and the call benchmarks.
import { ignore } from '../../observability/ignored-errors.js';
import { performance } from 'node:perf_hooks';
import { Inviter, SessionState, UserAgent } from 'sip.js';
import type { Dialog } from '../signaling-backend.js';
import { EmbeddedDialog } from './embedded-call.js';
import { useCallCredentials, type OutboundCredentials } from './outbound-credentials.js';
import { arrivalOf } from './message-handoff.js';
import { SdpExchange, attachExchange } from './sdp-passthrough.js';

export type { OutboundCredentials } from './outbound-credentials.js';

export interface OutboundCallOptions {
  /** sip:user@host[:port][;transport=tcp] */
  readonly target: string;
  readonly offerSdp: string;
  /** From user (default the UA's contact user). */
  readonly fromUser?: string;
  /** From host (default our advertised address); a trunk's fromDomain. */
  readonly fromDomain?: string;
  /** Outbound proxy (a trunk's): sent as a preloaded `Route: <uri;lr>` (RFC 3261 §8.1.2). */
  readonly route?: string;
  /** Call-ID of the INVITE (default a random one): lets the caller name the call before it is sent. */
  readonly callId?: string;
  /** Aborting it CANCELs the INVITE (rejects with 487 once the far end confirms). */
  readonly signal?: AbortSignal;
  /** Each provisional response's status (180, 183); the call is not answered yet. */
  readonly onProgress?: (status: number) => void;
  /** Extra request headers, `Name: value` each. */
  readonly extraHeaders?: readonly string[];
  /** No final response within this time → CANCEL and reject (default 32 s, Timer B). */
  readonly timeoutMs?: number;
  /** Answers one 401/407 challenge (sip.js retries once; a second challenge is the final status). */
  readonly credentials?: OutboundCredentials;
}

export interface OutboundCall {
  readonly dialog: Dialog;
  /** INVITE handed to sip.js → its 2xx received by our transport. */
  readonly setupMs: number;
  /** The answer in the 2xx. */
  readonly remoteSdp: string;
}

export class OutboundCallError extends Error {
  /** Final SIP status (408 for our own timeout), undefined for a local failure. */
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = 'OutboundCallError';
    this.status = status;
  }
}

export function placeCall(
  ua: UserAgent,
  options: OutboundCallOptions,
  onDialog: (dialog: EmbeddedDialog) => void,
): Promise<OutboundCall> {
  const target = UserAgent.makeURI(options.target);
  if (target === undefined) {
    return Promise.reject(new TypeError(`${JSON.stringify(options.target)} is not a SIP URI`));
  }
  const fromUri =
    options.fromUser !== undefined || options.fromDomain !== undefined
      ? UserAgent.makeURI(
          `sip:${options.fromUser ?? ua.configuration.uri.user ?? 'grok-sip'}@${options.fromDomain ?? ua.configuration.uri.host}`,
        )
      : undefined;
  const route = options.route !== undefined ? [`Route: <${options.route.replace(/;lr\b/i, '')};lr>`] : [];
  const inviter = new Inviter(ua, target, {
    extraHeaders: [...route, ...(options.extraHeaders ?? [])],
    // sip.js copies params into the request (callId included, though its type does not say so).
    params: {
      ...(fromUri !== undefined && { fromUri }),
      ...(options.callId !== undefined && ({ callId: options.callId } as object)),
    },
  });
  const exchange = new SdpExchange(null);
  exchange.localSdp = options.offerSdp;
  attachExchange(inviter, exchange);
  const dialog = new EmbeddedDialog(inviter, exchange, { outbound: true });
  let forgetCredentials = (): void => undefined;
  if (options.credentials !== undefined) {
    try {
      forgetCredentials = useCallCredentials(ua, inviter.request.callId, options.credentials);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
  dialog.events.once('terminated', forgetCredentials);
  const startedAtMs = performance.now();
  return new Promise<OutboundCall>((resolve, reject) => {
    let settled = false;
    const fail = (err: OutboundCallError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      forgetCredentials();
      reject(err);
    };
    const timeoutMs = options.timeoutMs ?? 32_000;
    const timer = setTimeout(() => {
      fail(new OutboundCallError(`no final response within ${timeoutMs} ms`, 408));
      inviter.cancel().catch(ignore('outbound-call.cancel'));
    }, timeoutMs);
    const onAbort = (): void => {
      if (settled) return;
      inviter.cancel().catch(ignore('outbound-call.cancel'));
    };
    if (options.signal?.aborted === true) {
      queueMicrotask(onAbort);
    } else {
      options.signal?.addEventListener('abort', onAbort, { once: true });
    }
    inviter.stateChange.addListener((state) => {
      if (state === SessionState.Terminated) {
        // sip.js ends the session before it calls onReject: let the status reach us first.
        setImmediate(() => fail(new OutboundCallError('the call ended before it was answered')));
      }
    });
    inviter
      .invite({
        requestDelegate: {
          // After sip.js has taken the answer, sent the ACK and moved to Established (or failed:
          // then Terminated above settles it). The setup time ends at the 2xx's arrival at our
          // transport, as the far end's CDR would see its 200 leave: not at our ACK.
          onAccept: (response) => {
            if (settled || inviter.state !== SessionState.Established) return;
            settled = true;
            clearTimeout(timer);
            exchange.settled = true;
            onDialog(dialog);
            const answeredAtMs = arrivalOf(response.message) ?? performance.now();
            resolve({ dialog, setupMs: answeredAtMs - startedAtMs, remoteSdp: exchange.remoteSdp ?? '' });
          },
          onProgress: (response) => {
            if (!settled) options.onProgress?.(response.message.statusCode ?? 180);
          },
          onReject: (response) => {
            const { statusCode, reasonPhrase } = response.message;
            fail(new OutboundCallError(`${statusCode} ${reasonPhrase}`, statusCode));
          },
        },
      })
      .catch((err: unknown) => fail(new OutboundCallError(`INVITE not sent: ${(err as Error).message}`)));
  });
}
