/** Content blocks every protocol builds user turns from: which media the model takes, in one place. */

export type Block = { type: string; [k: string]: unknown };

/** Image types the Messages API accepts. */
export const IMAGE_TYPES: ReadonlySet<string> = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

export const SUPPORTED_MEDIA = 'images (jpeg, png, gif, webp), PDFs and plain text';

/** A media type without parameters, lower-cased (`Image/PNG; x=y` → `image/png`). */
export const bareMediaType = (type: string | undefined): string => (type ?? '').split(';')[0].trim().toLowerCase();

export type MediaSource = { kind: 'base64'; data: string } | { kind: 'url'; url: string };

/**
 * A file as a content block: images and PDFs by bytes (base64) or URL, plain text by bytes
 * (decoded into a text document). Undefined for anything else; each protocol says so in
 * its own error shape.
 */
export function mediaBlock(mediaType: string, source: MediaSource): Block | undefined {
  const type = bareMediaType(mediaType);
  const src = source.kind === 'base64' ? { type: 'base64', media_type: type, data: source.data } : { type: 'url', url: source.url };
  if (IMAGE_TYPES.has(type)) return { type: 'image', source: src };
  if (type === 'application/pdf') return { type: 'document', source: src };
  if (type === 'text/plain' && source.kind === 'base64') return { type: 'document', source: { type: 'text', media_type: type, data: Buffer.from(source.data, 'base64').toString('utf8') } };
  return undefined;
}

/** The text of a tool result's content (a string or text blocks). */
export function blockText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Block[])
    .filter((b) => b.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text as string)
    .join('\n\n');
}

/** A turn made only of tool results (the answers to a step's tool calls). */
export const isToolResultOnly = (content: unknown[]): boolean => content.length > 0 && (content as Block[]).every((b) => b.type === 'tool_result');
