// `variables` of a placed call fill `{{name}}` placeholders in the profile's instructions and
// greeting (issue 18): "Remind {{name}} of the appointment on {{date}}". A placeholder with no
// variable is left as written, so a missing value is visible in the transcript, not silently "".
import type { AgentProfile } from './agent-profile.js';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export function fillPlaceholders(text: string, variables: Readonly<Record<string, string>>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) =>
    Object.hasOwn(variables, name) ? variables[name]! : whole,
  );
}

/** The profile with `variables` filled into its instructions and greeting. */
export function withVariables(
  profile: AgentProfile,
  variables: Readonly<Record<string, string>> | undefined,
): AgentProfile {
  if (variables === undefined || Object.keys(variables).length === 0) return profile;
  return {
    ...profile,
    instructions: fillPlaceholders(profile.instructions, variables),
    ...(profile.greeting !== undefined && { greeting: fillPlaceholders(profile.greeting, variables) }),
  };
}
