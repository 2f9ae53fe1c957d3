import { Ajv, type ValidateFunction } from 'ajv';
import type { Tool } from './tool.js';

// strict: false — MCP servers send schemas with keywords Ajv does not know; those are ignored, not fatal.
const ajv = new Ajv({ strict: false, allErrors: true });
const compiled = new WeakMap<Tool, ValidateFunction | null>();

/** Checks a call's input against the tool's JSON schema; returns what is wrong, or undefined. */
export function inputProblem(tool: Tool, input: unknown): string | undefined {
  let validate = compiled.get(tool);
  if (validate === undefined) {
    try {
      // The dialect marker is dropped: the schema's keywords are checked as Ajv's default draft.
      const { $schema: _dialect, ...schema } = tool.input_schema;
      validate = ajv.compile(schema);
    } catch {
      validate = null; // an uncompilable schema is the tool's own business: it validates itself
    }
    compiled.set(tool, validate);
  }
  if (!validate || validate(input)) return undefined;
  const errors = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '(input)'} ${e.message}${e.keyword === 'additionalProperties' ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : ''}`);
  return `invalid input for ${tool.name}: ${errors.join('; ')}`;
}
