import type { RunEvent } from '../../contracts/events.js';
import { TERMINAL_EVENTS } from '../../contracts/events.js';

export interface PublishedEvent {
  seq: number;
  event: RunEvent;
  /** JSON of `event`, computed once and shared by storage and every wire mapping. */
  json: string;
}

type Listener = (e: PublishedEvent) => void;

/**
 * An active run in this process: its events so far (so a late subscriber
 * replays from memory) and its live listeners. A resumed run holds only the
 * events of its current stretch: `events[0].seq === base + 1`.
 */
export class LiveRun {
  readonly events: PublishedEvent[] = [];
  readonly controller = new AbortController();
  private readonly listeners = new Set<Listener>();
  private settle!: () => void;
  /** Resolves after the terminal event is stored and the run row is final. */
  readonly done: Promise<void> = new Promise((r) => (this.settle = r));

  constructor(
    readonly runId: string,
    readonly threadId: string,
    readonly agentId: string,
    private readonly persist: (e: PublishedEvent) => void,
    /** Seq of the last event stored before this stretch (0 for a new run). */
    readonly base = 0,
  ) {}

  /** Seq of the latest event. */
  get lastSeq(): number {
    return this.base + this.events.length;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get ended(): boolean {
    const last = this.events[this.events.length - 1];
    return last !== undefined && TERMINAL_EVENTS.has(last.event.type);
  }

  emit(event: RunEvent): PublishedEvent {
    const published = { seq: this.base + this.events.length + 1, event, json: JSON.stringify(event) };
    this.events.push(published);
    this.persist(published);
    for (const l of this.listeners) l(published);
    return published;
  }

  /**
   * Replays buffered events with seq > `after` (at most this stretch's), then delivers
   * live ones; synchronous, so nothing can fall between replay and live.
   */
  subscribe(listener: Listener, after = this.base): () => void {
    for (let i = Math.max(0, after - this.base); i < this.events.length; i++) listener(this.events[i]);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  markDone(): void {
    this.listeners.clear();
    this.settle();
  }
}
