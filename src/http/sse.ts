import type { Response } from 'express';
import { httpLimits } from './limits.js';

export interface SseOptions {
  pingMs: number;
  /** The ping frame, protocol-specific (a data frame or an SSE comment). */
  ping: string;
  headers?: Record<string, string>;
}

/** Per-process counters, for tests and diagnostics: how far the slow-reader protection went. */
export const sseStats = { maxBuffered: 0, overflowCloses: 0, writeTimeouts: 0 };

/**
 * An SSE response: headers, periodic pings, and writes coalesced per tick. The frames of a
 * burst are joined into one string and written once: one HTTP chunk and one buffer for the
 * socket, instead of a chunk and a string conversion per frame (corking still converts each).
 *
 * A reader slower than the run must not make the server hold the rest of the stream: once a
 * write is refused (`write()` returned false) frames wait here until 'drain'; past
 * `sseMaxBufferBytes` waiting (here and in the socket) or `sseWriteTimeoutMs` without a
 * drain, the connection is ended. Clients resume with Last-Event-ID where the route allows it.
 */
let openStreams = 0;
/** SSE responses open now (a metrics gauge). */
export function openSseStreams(): number {
  return openStreams;
}

export class SseStream {
  private timer: NodeJS.Timeout | null;
  private pending = '';
  private scheduled = false;
  /** A write was refused; nothing more is written until 'drain'. */
  private blocked = false;
  private drainTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly closeListeners: Array<() => void> = [];
  private readonly limits = httpLimits();

  constructor(private readonly res: Response, private readonly opts: SseOptions) {
    openStreams++;
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
    res.on('close', () => {
      if (this.drainTimer) clearTimeout(this.drainTimer);
      this.drainTimer = null;
      this.onClosed();
    });
    this.timer = setInterval(() => this.write(opts.ping), opts.pingMs);
    this.timer.unref();
  }

  /** One `data:` frame (with `id:` when given). `data` must not contain newlines (JSON does not). */
  send(data: string, id?: number): void {
    this.write(id === undefined ? `data: ${data}\n\n` : `id: ${id}\ndata: ${data}\n\n`);
  }

  write(raw: string): void {
    if (this.closed) return;
    this.pending += raw;
    // String length stands for bytes here: exact enough for a cap, and free to compute.
    const buffered = this.pending.length + this.res.writableLength;
    if (buffered > sseStats.maxBuffered) sseStats.maxBuffered = buffered;
    // Only what waits behind a refused write counts: the socket holds at most one flush (a
    // single frame larger than the cap, e.g. a long final output, still goes out whole).
    if (this.blocked && this.pending.length > this.limits.sseMaxBufferBytes) {
      sseStats.overflowCloses++;
      this.abort();
      return;
    }
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true;
      process.nextTick(this.flush);
    }
  }

  /** What waits goes out now, not at the end of the tick (a first token, PublishedEvent.urgent). */
  flushNow(): void {
    this.flush();
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.closed || this.blocked || this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    if (!this.res.write(text)) this.waitForDrain();
  };

  private waitForDrain(): void {
    this.blocked = true;
    this.res.once('drain', this.onDrain);
    this.drainTimer = setTimeout(() => {
      sseStats.writeTimeouts++;
      this.abort();
    }, this.limits.sseWriteTimeoutMs);
  }

  private readonly onDrain = (): void => {
    this.blocked = false;
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainTimer = null;
    this.flush();
  };

  /** Drop the connection (the client sees a cut stream and may resume). */
  private abort(): void {
    this.pending = '';
    this.res.destroy();
    this.onClosed();
  }

  /**
   * Resolves once the socket takes more (at once when it is not backed up): a producer that can
   * wait, such as a replay from the store, awaits it between frames instead of racing the cap.
   */
  ready(): Promise<void> {
    if (!this.blocked || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.once('drain', done);
      this.res.once('close', done);
    });
  }

  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closeListeners.push(fn);
  }

  end(): void {
    if (this.closed) return;
    const text = this.pending;
    this.pending = '';
    this.res.end(text || undefined);
    // A reader that never takes the rest still holds the socket: the write timeout still applies.
    if (this.res.writableLength > 0 && !this.drainTimer) {
      this.drainTimer = setTimeout(() => this.res.destroy(), this.limits.sseWriteTimeoutMs);
    }
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
    openStreams--;
    this.stopPing();
    this.res.off('drain', this.onDrain);
    for (const fn of this.closeListeners) fn();
  }
}

/**
 * For streams a library writes frame by frame (tRPC, the A2A SDK): the writes of one tick leave
 * in one socket write (cork now, uncork on the next tick) instead of one syscall per frame.
 */
export function coalesceWrites(res: Response): void {
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    res.uncork();
  };
  res.write = ((...args: unknown[]) => {
    if (!corked && !res.writableEnded) {
      corked = true;
      res.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as Response['write'];
}
