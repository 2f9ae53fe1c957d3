import { pino, type Logger } from 'pino';

/** JSON logs on stdout; credentials are redacted wherever they might appear. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', '*.apiKey', '*.authToken', 'config.credentials'],
      censor: '[redacted]',
    },
  });
}
