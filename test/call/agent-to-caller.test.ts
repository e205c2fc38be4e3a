// Barge-in against a server that keeps streaming: deltas of a response we cancelled (or that
// already finished) never reach the caller, and they are counted.
import t from 'tap';
import { AgentToCaller } from '../../src/call/agent-to-caller.js';

function setup() {
  const sent: (Buffer | null)[] = [];
  const path = new AgentToCaller({
    apiFormat: { encoding: 'pcmu' },
    legFormat: { encoding: 'pcmu' },
    sink: { sendFrame: (payload) => sent.push(payload) },
  });
  const delta = (responseId: string, fill: number) =>
    path.onAgentAudio({ chunk: Buffer.alloc(160, fill), itemId: `item_${responseId}`, responseId });
  const frames = (n: number) => {
    sent.length = 0;
    for (let i = 0; i < n; i++) path.tick(i * 20);
    return sent.filter((p): p is Buffer => p !== null);
  };
  return { path, delta, frames };
}

t.test('after barge-in, the cancelled response keeps streaming: nothing of it plays', async (t) => {
  const { path, delta, frames } = setup();
  delta('resp_1', 0x11);
  delta('resp_1', 0x11);
  t.equal(frames(1).length, 1, 'the agent talks');
  path.bargeIn();
  for (let i = 0; i < 10; i++) delta('resp_1', 0x11); // a slow server after our response.cancel
  t.equal(frames(5).length, 0, 'none of the cancelled response reaches the caller');
  t.equal(path.staleDeltas, 10, 'each late delta counted');
  delta('resp_2', 0x22);
  const next = frames(2);
  t.equal(next.length, 1, 'the next response plays');
  t.equal(next[0]![0], 0x22);
});

t.test('a delta that trails its response.done is dropped too; other responses are not', async (t) => {
  const { path, delta, frames } = setup();
  delta('resp_1', 0x11);
  path.onResponseDone('resp_1');
  t.equal(frames(2).length, 1);
  delta('resp_1', 0x11);
  t.equal(frames(2).length, 0, 'late delta of a finished response');
  t.equal(path.staleDeltas, 1);
  delta('', 0x33);
  t.equal(frames(2).length, 1, 'a delta without a response id (old servers) still plays');
});
