import type { Tool } from './tool.js';

export const currentTime: Tool = {
  name: 'current_time',
  description: 'Returns the current date and time (ISO 8601, UTC) and, when a valid IANA time zone is given, the local time there.',
  input_schema: {
    type: 'object',
    properties: { timezone: { type: 'string', description: 'IANA time zone, e.g. Europe/Paris' } },
  },
  async execute(input: { timezone?: string }) {
    const now = new Date();
    const result: Record<string, string> = { utc: now.toISOString() };
    if (input?.timezone) {
      // Throws RangeError for an unknown zone: the model sees it as a tool error.
      result.local = now.toLocaleString('sv-SE', { timeZone: input.timezone, hour12: false }).replace(' ', 'T');
      result.timezone = input.timezone;
    }
    return result;
  },
};
