// What a call asks of the realtime session: the profile's voice and instructions, the audio
// format on both sides of the socket, and the tools the model may call.
import type { AudioFormat, CallCodec } from '../audio/audio-format.js';
import type { RealtimeSessionConfig, RealtimeTool } from '../realtime/index.js';
import { realtimeAudioFormat, type AgentProfile } from './agent-profile.js';

/** The API format for a call: the call's own G.711 (zero transcode) or PCM16 at 16/24 kHz. */
export function apiAudioFormat(profile: Pick<AgentProfile, 'audioFormat'>, codec: CallCodec): AudioFormat {
  switch (realtimeAudioFormat(profile, codec)) {
    case 'pcmu':
      return { encoding: 'pcmu' };
    case 'pcma':
      return { encoding: 'pcma' };
    case 'pcm16':
      return { encoding: 'pcm', sampleRate: 16000 };
    case 'pcm24':
      return { encoding: 'pcm', sampleRate: 24000 };
  }
}

export function agentSessionConfig(
  profile: AgentProfile,
  format: AudioFormat,
  tools: readonly RealtimeTool[],
): RealtimeSessionConfig {
  const transcription = profile.transcription ?? { model: 'grok-transcribe' };
  return {
    voice: profile.voice,
    instructions: profile.instructions,
    inputFormat: format,
    outputFormat: format,
    tools,
    ...(transcription !== false && { transcription }),
    ...(profile.vad !== undefined && { turnDetection: profile.vad }),
  };
}

/**
 * The response.create instructions that make the agent speak the profile's greeting first.
 * Quoted verbatim so the model says it as written (a legally required intro, a company name).
 */
export function greetingInstructions(greeting: string): string {
  return `Greet the caller now by saying exactly: "${greeting}"`;
}
