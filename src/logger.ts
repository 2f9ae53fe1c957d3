import { pino, type DestinationStream, type Logger } from 'pino';

const NONE = {};
let context: () => object = () => NONE;

/** Fields every log line gets from where it is logged (tracing sets `trace_id`, `span_id`). */
export function setLogContext(fn: () => object): void {
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
      mixin: () => context(),
    },
    destination,
  );
}
