// PROVISIONAL (lead): minimal tool dispatcher so the call bridge runs; the tools helper replaces
// this file with the full version (webhooks, argument validation, tests).
import type { Logger } from '../../observability/logger.js';
import type { RealtimeFunctionCall, RealtimeTool } from '../../realtime/index.js';
import type { AgentTool } from '../agent-profile.js';
import type { CallControl } from './call-control.js';

export class AgentTools {
  readonly #tools: readonly AgentTool[];
  readonly #control: CallControl;
  readonly #hangupTimeoutMs: number;

  constructor(
    tools: readonly AgentTool[],
    control: CallControl,
    opts: { log: Logger; hangupTimeoutMs?: number },
  ) {
    this.#tools = tools;
    this.#control = control;
    this.#hangupTimeoutMs = opts.hangupTimeoutMs ?? 5000;
  }

  realtimeTools(): RealtimeTool[] {
    const out: RealtimeTool[] = [];
    for (const tool of this.#tools) {
      if (tool.type === 'end_call') {
        out.push({ type: 'function', name: 'end_call', description: 'Hang up after saying goodbye.' });
      }
    }
    return out;
  }

  async handle(call: RealtimeFunctionCall): Promise<{ output: string; reply: boolean }> {
    if (call.name === 'end_call') {
      this.#control.hangupAfterPlayout(this.#hangupTimeoutMs);
      return { output: JSON.stringify({ ok: true }), reply: false };
    }
    return { output: JSON.stringify({ error: `unknown tool ${call.name}` }), reply: true };
  }
}
