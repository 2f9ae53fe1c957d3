// The model client, made on first use: the SDK and undici under it are a third of the server's code, which start-up need not compile.
import type { Config } from '../config.js';
import type { ModelClient, UpstreamListener } from './model.js';

export type ModelClientSource = () => Promise<ModelClient>;

/** None without credentials (runs answer 503); else one client for the process, loaded by the first run that needs it. */
export function modelClientSource(config: Config, opts: { onUpstream?: UpstreamListener } = {}): ModelClientSource | null {
  if (!config.credentials) return null;
  let client: Promise<ModelClient> | undefined;
  return () => (client ??= import('./model.js').then((m) => m.createModelClient(config, opts)!));
}
