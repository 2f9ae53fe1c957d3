import { pino, type DestinationStream, type Logger } from 'pino';

const NONE = {};
let context: (fields: Record<string, unknown>) => object = () => NONE;

/** Fields every log line gets from its own fields (tracing adds `trace_id`, `span_id` to a run's lines). */
export function setLogContext(fn: (fields: Record<string, unknown>) => object): void {
  context = fn;
}

/** JSON logs on stdout; credentials are redacted wherever they might appear. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: ['req.headers.authorization', 'req.headers["x-api-key"]', '*.apiKey', '*.authToken', 'config.credentials'],
        censor: '[redacted]',
      },
      mixin: (fields) => context(fields as Record<string, unknown>),
    },
    destination,
  );
}
