/**
 * Regenerates the committed API artefacts from the code: `openapi/openapi.json` and the
 * openapi-typescript types the generated-SDK test compiles against. Tests fail when either drifts.
 */
import { writeFileSync } from 'node:fs';
import { renderOpenApi } from './render-openapi.js';

const { json, types } = await renderOpenApi();
writeFileSync(new URL('../openapi/openapi.json', import.meta.url), json);
writeFileSync(new URL('../test/generated/openapi.d.ts', import.meta.url), types);
process.stdout.write('wrote openapi/openapi.json and test/generated/openapi.d.ts\n');
