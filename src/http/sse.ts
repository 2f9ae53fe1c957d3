import type { Response } from 'express';

export interface SseOptions {
  pingMs: number;
  /** The ping frame, protocol-specific (a data frame or an SSE comment). */
  ping: string;
  headers?: Record<string, string>;
}

/**
 * An SSE response: headers, periodic pings, and writes coalesced per tick. The frames of a
 * burst are joined into one string and written once: one HTTP chunk and one buffer for the
 * socket, instead of a chunk and a string conversion per frame (corking still converts each).
 */
export class SseStream {
  private timer: NodeJS.Timeout | null;
  private pending = '';
  private closed = false;
  private readonly closeListeners: Array<() => void> = [];

  constructor(private readonly res: Response, private readonly opts: SseOptions) {
    res.status(200);
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-cache, no-transform');
    res.setHeader('connection', 'keep-alive');
    res.setHeader('x-accel-buffering', 'no');
    for (const [k, v] of Object.entries(opts.headers ?? {})) res.setHeader(k, v);
    // Headers go out at the end of this tick, with whatever was written in it: one write.
    process.nextTick(() => {
      if (this.pending === '' && !this.closed && !res.headersSent) res.flushHeaders();
    });
    res.on('close', () => this.onClosed());
    this.timer = setInterval(() => this.write(opts.ping), opts.pingMs);
    this.timer.unref();
  }

  /** One `data:` frame (with `id:` when given). `data` must not contain newlines (JSON does not). */
  send(data: string, id?: number): void {
    this.write(id === undefined ? `data: ${data}\n\n` : `id: ${id}\ndata: ${data}\n\n`);
  }

  write(raw: string): void {
    if (this.closed) return;
    if (this.pending === '') process.nextTick(this.flush);
    this.pending += raw;
  }

  private readonly flush = (): void => {
    const text = this.pending;
    this.pending = '';
    if (text && !this.closed) this.res.write(text);
  };

  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closeListeners.push(fn);
  }

  end(): void {
    if (this.closed) return;
    const text = this.pending;
    this.pending = '';
    this.res.end(text || undefined);
    this.onClosed();
  }

  /** The last frame is out (only the end is left, once the run is stored): no pings after it. */
  lastFrameSent(): void {
    this.stopPing();
  }

  private stopPing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopPing();
    for (const fn of this.closeListeners) fn();
  }
}
