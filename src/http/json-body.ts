import type { Request } from 'express';
import { AppError } from '../errors.js';
import { httpLimits } from './limits.js';

export const MAX_BODY_BYTES = 1024 * 1024;

/** Fatal: a body that is not UTF-8 is refused, not stored with U+FFFD in place of its bytes. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Is the content type JSON (`application/json` or `…+json`)? */
export function isJsonContentType(header: string | undefined): boolean {
  const type = (header ?? '').split(';')[0].trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
}

/**
 * Reads one JSON object from the request with precise errors: 415 for a
 * non-JSON content type, 413 over the limit, 400 for empty, malformed,
 * too deep, not UTF-8, several values, or a non-object.
 */
export async function readJsonObject(req: Request, limit = MAX_BODY_BYTES): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (!isJsonContentType(type)) {
    throw new AppError('unsupported_media_type', `content-type must be application/json (got ${type ? `"${type}"` : 'none'})`);
  }
  const text = decodeJsonText(await readRawBody(req, limit));
  if (text.trim() === '') throw new AppError('bad_request', 'request body is empty; send one JSON object');
  const value = parseJsonText(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AppError('bad_request', `request body must be a JSON object (got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value})`);
  }
  return value as Record<string, unknown>;
}

/**
 * The raw body, refused with 413 as soon as it is declared or turns out larger than `limit`.
 * Read with listeners, not the stream's async iterator: a small body is most requests, and the
 * iterator's promises per chunk were a measurable part of a run's time to its first token.
 */
export function readRawBody(req: Request | import('node:http').IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  // Listeners would wait forever for events already emitted (read before, or the client gone).
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  if (req.destroyed) return Promise.reject(prematureClose());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (err: Error | null) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (err) {
        // As the async iterator did when its loop threw: the rest of the body is not read.
        req.destroy();
        reject(err);
      } else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return settle(tooLarge(limit));
      chunks.push(chunk);
    };
    const onEnd = () => settle(null);
    const onError = (err: Error) => settle(err);
    // Closed before its end: the client went away mid-body.
    const onClose = () => settle(prematureClose());
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

const prematureClose = () => Object.assign(new Error('premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
const tooLarge = (limit: number) => new AppError('payload_too_large', `request body is larger than ${limit} bytes`);

/** Bytes → text, 400 unless they are valid UTF-8. */
export function decodeJsonText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new AppError('bad_request', 'request body is not valid UTF-8');
  }
}

/**
 * JSON text → value, with the checks every JSON body gets: nesting depth first (before
 * JSON.parse, and before anything recursive such as zod or JSON.stringify walks it and
 * overflows the stack), then no lone surrogate in any string (they cannot be stored as UTF-8
 * nor sent to the model).
 */
export function parseJsonText(text: string, what = 'request body'): unknown {
  const max = httpLimits().jsonMaxDepth;
  if (jsonDepthExceeds(text, max)) throw new AppError('bad_request', `${what} is nested deeper than ${max} levels`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const detail = (err as Error).message;
    const several = /after JSON|Unexpected non-whitespace/.test(detail);
    throw new AppError('bad_request', several ? `${what} must be exactly one JSON value` : `${what} is not valid JSON: ${detail}`);
  }
  // Decoded UTF-8 is well-formed: a lone surrogate can only come from a \uD800-\uDFFF escape.
  if (SURROGATE_ESCAPE.test(text)) {
    const path = loneSurrogatePath(value);
    if (path) throw new AppError('bad_request', `${what} has a string with an unpaired UTF-16 surrogate`, { issues: [{ path, message: 'unpaired UTF-16 surrogate' }] });
  }
  return value;
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * Does the JSON text nest `[`/`{` deeper than `max`? One pass over the characters, no
 * recursion and no parse, so a body of a million brackets costs a scan, not a stack.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return false;
}

const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

/** Path to the first string (value or key) with a lone surrogate; iterative, like the depth scan. */
export function loneSurrogatePath(value: unknown): Array<string | number> | undefined {
  const stack: Array<{ v: unknown; path: Array<string | number> }> = [{ v: value, path: [] }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (!isWellFormed(v)) return path;
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push({ v: v[i], path: [...path, i] });
    } else if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (!isWellFormed(k)) return [...path, k];
        stack.push({ v: child, path: [...path, k] });
      }
    }
  }
  return undefined;
}
