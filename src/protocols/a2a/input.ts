import { Buffer } from 'node:buffer';
import type { Part } from '@a2a-js/sdk';
import { ContentTypeNotSupportedError, RequestMalformedError } from '@a2a-js/sdk/errors';
import type { PendingInputs } from '../../../contracts/common.js';
import type { RunInputs } from '../../runtime/runtime.js';
import { bareMediaType, IMAGE_TYPES, mediaBlock, SUPPORTED_MEDIA } from '../content.js';
import { DECISION_FORMAT, readDecision } from '../decisions.js';

/** A2A messages → what a run takes: user content blocks, approval decisions. */

const fileLabel = (p: Part) => [p.filename, p.mediaType && `(${p.mediaType})`].filter(Boolean).join(' ');

/**
 * An A2A message's parts → the content blocks of one user turn. Text as text, data
 * as its JSON, images and PDFs (bytes or URL) as image/document blocks, other text
 * files decoded; any other file type is refused with ContentTypeNotSupported.
 */
export function contentFromParts(parts: Part[] | undefined): unknown[] {
  const blocks: unknown[] = [];
  for (const [i, p] of (parts ?? []).entries()) {
    const c = p.content;
    if (!c) continue;
    // The SDK's wire conversion leaves a part without its content field as `undefined`.
    const missing = c.$case === 'data' ? false : c.$case === 'raw' ? !(c.value instanceof Uint8Array) : typeof c.value !== 'string';
    if (missing) throw new RequestMalformedError(`message.parts[${i}]: a ${c.$case} part needs its ${c.$case === 'raw' ? 'bytes' : c.$case}`);
    const type = bareMediaType(p.mediaType);
    switch (c.$case) {
      case 'text':
        if (c.value.trim() !== '') blocks.push({ type: 'text', text: c.value });
        break;
      case 'data':
        blocks.push({ type: 'text', text: JSON.stringify(c.value ?? null) });
        break;
      case 'raw': {
        const media = type.startsWith('text/') ? undefined : mediaBlock(type, { kind: 'base64', data: Buffer.from(c.value).toString('base64') });
        if (media) blocks.push(media);
        else if (type.startsWith('text/') || type === 'application/json') {
          const text = Buffer.from(c.value).toString('utf8');
          if (text.trim() !== '') blocks.push({ type: 'text', text: p.filename ? `${p.filename}:\n${text}` : text });
        } else throw new ContentTypeNotSupportedError(`file parts of type "${p.mediaType || 'unknown'}" are not supported; send ${SUPPORTED_MEDIA}`);
        break;
      }
      case 'url':
        if (type === 'image/*') blocks.push({ type: 'image', source: { type: 'url', url: c.value } });
        else if (IMAGE_TYPES.has(type) || type === 'application/pdf') blocks.push(mediaBlock(type, { kind: 'url', url: c.value })!);
        else blocks.push({ type: 'text', text: `[file${fileLabel(p) ? ` ${fileLabel(p)}` : ''}: ${c.value}]` });
        break;
    }
  }
  if (blocks.length === 0) throw new RequestMalformedError('message.parts must contain some content (a non-empty text, data or file part)');
  return blocks;
}

/**
 * The decisions an A2A message brings to a task in `input-required` (a run waiting on
 * approvals): data parts `{approved, reason?, approval_id?}` (without an id: every open
 * approval), or text such as "approve" / "deny: reason" (every open approval). Every
 * approval must be decided; otherwise, or when nothing reads as a decision, invalid params.
 */
export function a2aDecisions(parts: Part[] | undefined, pending: PendingInputs): NonNullable<RunInputs['decisions']> {
  const decided = new Map<string, { approved: boolean; reason?: string }>();
  const open = pending.approvals.filter((a) => !a.decision);
  for (const p of parts ?? []) {
    const c = p.content;
    const value = c?.$case === 'data' || c?.$case === 'text' ? c.value : undefined;
    const d = readDecision(value);
    if (!d) continue;
    const target = typeof value === 'object' && value !== null ? ((value as Record<string, unknown>).approval_id ?? (value as Record<string, unknown>).tool_call_id) : undefined;
    const hits = target === undefined ? open : open.filter((a) => a.approval_id === target || a.tool_call_id === target);
    if (target !== undefined && hits.length === 0) throw new RequestMalformedError(`no open approval ${JSON.stringify(target)} on this task`);
    for (const a of hits) decided.set(a.approval_id, d);
  }
  if (decided.size === 0) throw new RequestMalformedError(`the task is waiting for a decision: send ${DECISION_FORMAT} as a text or data part`);
  const missing = open.filter((a) => !decided.has(a.approval_id));
  if (missing.length) throw new RequestMalformedError(`every open approval needs a decision; missing: ${missing.map((a) => `${a.approval_id} (${a.name})`).join(', ')}`);
  return [...decided].map(([approval_id, d]) => ({ approval_id, ...d }));
}

/** Standard or URL-safe base64, padded or not: what protobuf JSON accepts for bytes. */
const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/;

/**
 * File bytes in a JSON-RPC body that are not base64 (the SDK would decode them leniently,
 * dropping what it cannot read): the path of the first, for an invalid-params answer.
 * v1.0 parts carry `raw`, v0.3 `file.bytes`.
 */
export function invalidFileBytes(body: unknown): string | undefined {
  const parts = (body as { params?: { message?: { parts?: unknown } } } | null)?.params?.message?.parts;
  if (!Array.isArray(parts)) return undefined;
  for (const [i, part] of parts.entries()) {
    const p = part as { raw?: unknown; file?: { bytes?: unknown } } | null;
    if (typeof p?.raw === 'string' && !BASE64.test(p.raw)) return `message.parts[${i}].raw`;
    if (typeof p?.file?.bytes === 'string' && !BASE64.test(p.file.bytes)) return `message.parts[${i}].file.bytes`;
  }
  return undefined;
}
