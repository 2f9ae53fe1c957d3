import type { Ajv, ValidateFunction } from 'ajv';
import type { Tool } from './tool.js';

let ajv: Promise<Ajv> | undefined;
/** Ajv (a quarter of a MB of code) loads with the first tool call, not at start-up. */
const validator = (): Promise<Ajv> =>
  // strict: false — MCP servers send schemas with keywords Ajv does not know; those are ignored, not fatal.
  (ajv ??= import('ajv').then((m) => {
    // A CommonJS package: Node's loader names its exports, the bundle's dynamic import has only
    // `default` (module.exports, which carries `Ajv` too).
    const Ajv = m.Ajv ?? (m.default as unknown as { Ajv: typeof m.Ajv }).Ajv;
    return new Ajv({ strict: false, allErrors: true });
  }));
const compiled = new WeakMap<Tool, ValidateFunction | null>();

/** Checks a call's input against the tool's JSON schema; resolves with what is wrong, or undefined. */
export async function inputProblem(tool: Tool, input: unknown): Promise<string | undefined> {
  let validate = compiled.get(tool);
  if (validate === undefined) {
    const ajv = await validator();
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
