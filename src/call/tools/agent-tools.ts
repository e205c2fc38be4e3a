// The tools a profile gives its agent: declared to the model in session.update, run here when
// the model calls them. Server-side tools (web_search, x_search, collections) are only declared;
// xAI runs them. Every call gets a JSON result (or `{"error": …}`), never an exception.
import { LogOnce, type Logger } from '../../observability/logger.js';
import type { RealtimeFunctionCall, RealtimeTool } from '../../realtime/index.js';
import type { AgentTool } from '../agent-profile.js';
import type { CallControl } from './call-control.js';
import { callWebhookFunction, type FetchFn } from './webhook-function.js';

export interface ToolResult {
  /** JSON text for function_call_output. */
  readonly output: string;
  /** Whether the model should answer the result (false after end_call and a done transfer). */
  readonly reply: boolean;
}

export interface AgentToolsOptions {
  readonly log: Logger;
  /** end_call's wait for the farewell to play (default 5000 ms; AVA uses 5 s). */
  readonly hangupTimeoutMs?: number;
  /** For webhook functions; default the global fetch. */
  readonly fetch?: FetchFn;
  /** Sent to webhooks so they can tell calls apart. */
  readonly callId?: string;
}

/** RFC 4733 events 0-15: digits, * # and A-D. */
const dtmfDigits = /^[0-9*#A-D]{1,32}$/;

const endCallName = 'end_call';
const transferName = 'transfer_call';
const sendDtmfName = 'send_dtmf';

export class AgentTools {
  readonly #tools: readonly AgentTool[];
  readonly #control: CallControl;
  readonly #options: AgentToolsOptions;
  /** One instance per call: each kind of failure is logged once per call. */
  readonly #logOnce = new LogOnce(100);

  constructor(tools: readonly AgentTool[], control: CallControl, options: AgentToolsOptions) {
    this.#tools = tools;
    this.#control = control;
    this.#options = options;
  }

  realtimeTools(): RealtimeTool[] {
    return this.#tools.map((tool): RealtimeTool => {
      switch (tool.type) {
        case 'web_search':
        case 'x_search':
          return { type: tool.type };
        case 'file_search':
          return { type: 'file_search', vectorStoreIds: tool.vectorStoreIds };
        case 'end_call':
          return {
            type: 'function',
            name: endCallName,
            description:
              'End the phone call. Say goodbye first: the line is hung up once your goodbye has played.',
            parameters: {
              type: 'object',
              properties: { reason: { type: 'string', description: 'why the call ends' } },
            },
          };
        case 'transfer':
          return {
            type: 'function',
            name: transferName,
            description: `Transfer the caller to another line. Tell the caller first. Targets: ${Object.keys(tool.targets).join(', ')}.`,
            parameters: {
              type: 'object',
              properties: { target: { type: 'string', enum: Object.keys(tool.targets) } },
              required: ['target'],
            },
          };
        case 'send_dtmf':
          return {
            type: 'function',
            name: sendDtmfName,
            description: 'Press telephone keys (DTMF) on the call, e.g. to answer an IVR menu.',
            parameters: {
              type: 'object',
              properties: { digits: { type: 'string', pattern: dtmfDigits.source } },
              required: ['digits'],
            },
          };
        case 'function':
        case 'in_process':
          return {
            type: 'function',
            name: tool.name,
            description: tool.description,
            parameters: tool.parameters,
          };
      }
    });
  }

  async handle(call: RealtimeFunctionCall): Promise<ToolResult> {
    // The model gets the reason and may retry; the log gets each kind of mistake once per call.
    const error = (message: string): ToolResult => {
      if (this.#logOnce.first(message))
        this.#options.log.warn({ tool: call.name, error: message }, 'tool call refused');
      return { output: JSON.stringify({ error: message }), reply: true };
    };
    let args: unknown;
    try {
      args = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
    } catch {
      return error(`${call.name}: arguments are not valid JSON`);
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      return error(`${call.name}: arguments must be a JSON object`);
    }
    const fields = args as Record<string, unknown>;
    try {
      switch (call.name) {
        case endCallName:
          if (!this.#has('end_call')) break;
          // No reply: the model speaks its goodbye before calling end_call (the declaration says so),
          // in the same response, so the farewell is already queued; the BYE waits for it to play
          // out, or for hangupTimeoutMs when the model produced no audio (peers.md §7.7). Asking
          // for a reply instead would race a second goodbye against the BYE.
          this.#control.hangupAfterPlayout(this.#options.hangupTimeoutMs ?? 5000);
          return { output: JSON.stringify({ ok: true }), reply: false };
        case transferName: {
          const tool = this.#tools.find((t) => t.type === 'transfer');
          if (tool === undefined) break;
          const name = fields.target;
          // Own keys only: "toString" or "__proto__" must not reach the prototype.
          const uri =
            typeof name === 'string' && Object.hasOwn(tool.targets, name) ? tool.targets[name] : undefined;
          if (typeof uri !== 'string') {
            return error(`${transferName}: target must be one of ${Object.keys(tool.targets).join(', ')}`);
          }
          const outcome = await this.#control.transfer(uri);
          const done = outcome.accepted && outcome.status >= 200 && outcome.status < 300;
          return {
            output: JSON.stringify({ ok: done, status: outcome.status, reason: outcome.reason }),
            reply: !done,
          };
        }
        case sendDtmfName: {
          if (!this.#has('send_dtmf')) break;
          const digits = typeof fields.digits === 'string' ? fields.digits.toUpperCase() : '';
          if (!dtmfDigits.test(digits))
            return error(`${sendDtmfName}: digits must match ${dtmfDigits.source}`);
          await this.#control.sendDtmf(digits);
          return { output: JSON.stringify({ ok: true, sent: digits }), reply: true };
        }
        default: {
          const local = this.#tools.find((t) => t.type === 'in_process' && t.name === call.name);
          if (local !== undefined && local.type === 'in_process') {
            const control = this.#control;
            const result: unknown = await local.run(fields, {
              callId: this.#options.callId ?? '',
              hangup: () => control.hangupAfterPlayout(this.#options.hangupTimeoutMs ?? 5000),
              transfer: (target) => control.transfer(target),
              sendDtmf: (digits) => control.sendDtmf(digits),
            });
            return { output: JSON.stringify(result ?? null), reply: true };
          }
          const fn = this.#tools.find((t) => t.type === 'function' && t.name === call.name);
          if (fn === undefined || fn.type !== 'function') break;
          const output = await callWebhookFunction(call.name, args, this.#options.callId ?? '', fn.webhook, {
            fetch: this.#options.fetch ?? fetch,
            log: this.#options.log,
            logOnce: this.#logOnce,
          });
          return { output, reply: true };
        }
      }
    } catch (err) {
      return error(`${call.name} failed: ${(err as Error).message}`);
    }
    return error(`${call.name} is not a tool of this agent`);
  }

  #has(type: AgentTool['type']): boolean {
    return this.#tools.some((t) => t.type === type);
  }
}
