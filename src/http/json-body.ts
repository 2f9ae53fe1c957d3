import type { Request } from 'express';
import { AppError } from '../errors.js';

export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Reads one JSON object from the request with precise errors: 415 for a
 * non-JSON content type, 413 over the limit, 400 for empty, malformed,
 * several values, or a non-object.
 */
export async function readJsonObject(req: Request, limit = MAX_BODY_BYTES): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new AppError('unsupported_media_type', `content-type must be application/json (got ${type ? `"${type}"` : 'none'})`);
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new AppError('payload_too_large', `request body is larger than ${limit} bytes`);

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new AppError('payload_too_large', `request body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new AppError('bad_request', 'request body is empty; send one JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const detail = (err as Error).message;
    const several = /after JSON|Unexpected non-whitespace/.test(detail);
    throw new AppError('bad_request', several ? 'request body must be exactly one JSON value' : `request body is not valid JSON: ${detail}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AppError('bad_request', `request body must be a JSON object (got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value})`);
  }
  return value as Record<string, unknown>;
}
