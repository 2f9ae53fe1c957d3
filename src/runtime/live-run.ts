import type { RunEvent } from '../../contracts/events.js';
import { TERMINAL_EVENTS } from '../../contracts/events.js';

export interface PublishedEvent {
  seq: number;
  event: RunEvent;
  /** JSON of `event`, computed once and shared by storage and every wire mapping. */
  json: string;
  /**
   * A model call's first token: streams write it at once instead of at the end of the tick,
   * since one chunk of the model's answer may carry many events.
   */
  urgent?: true;
}

type Listener = (e: PublishedEvent) => void;

/**
 * The run's seq reservation in the database (runs.seq_reserved). Events are streamed before
 * they are stored, so after a crash recovery closes the log at `reserved + 1`: no event may be
 * streamed with a seq past what is reserved.
 */
export interface SeqReservation {
  /** Highest seq already reserved when the run (or its stretch) starts. */
  reserved: number;
  /** Block size: a new block is asked for once half of the current one is used. */
  block: number;
  /** Moves the reservation to `upTo`; false when the run was taken over (not active any more). */
  extend(upTo: number): Promise<boolean>;
  /** The run could not reserve: told once, with the terminal event its log ends on at `seq`. */
  lost(seq: number): RunEvent;
}

const RETRY_MS = [50, 200, 500, 1000, 2000, 4000];

/**
 * An active run in this process: its events so far (so a late subscriber
 * replays from memory) and its live listeners. A resumed run holds only the
 * events of its current stretch, from seq `base + 1` on.
 */
export class LiveRun {
  readonly events: PublishedEvent[] = [];
  readonly controller = new AbortController();
  private readonly listeners = new Set<Listener>();
  private settle!: () => void;
  /** Resolves after the terminal event is stored and the run row is final. */
  readonly done: Promise<void> = new Promise((r) => (this.settle = r));
  /** Seq of the last event emitted (published or held). */
  private next: number;
  private reserved: number;
  /** Emitted past the reservation: published once the next block is stored. */
  private held: PublishedEvent[] = [];
  private reserving: Promise<void> | null = null;
  /** The reservation failed: the log was (or will be) closed by recovery; nothing more is published. */
  private detached = false;

  constructor(
    readonly runId: string,
    readonly threadId: string,
    readonly agentId: string,
    private readonly persist: (e: PublishedEvent) => void,
    /** Seq of the last event stored before this stretch (0 for a new run). */
    readonly base = 0,
    private readonly seqs?: SeqReservation,
  ) {
    this.next = base;
    this.reserved = seqs ? seqs.reserved : Infinity;
  }

  /** Seq of the latest published event. */
  get lastSeq(): number {
    return this.events.length ? this.events[this.events.length - 1].seq : this.base;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get ended(): boolean {
    const last = this.events[this.events.length - 1];
    return last !== undefined && TERMINAL_EVENTS.has(last.event.type);
  }

  /** True once the run lost its seq reservation (its log is closed elsewhere; its end is not stored here). */
  get lost(): boolean {
    return this.detached;
  }

  emit(event: RunEvent, urgent = false): PublishedEvent {
    const published: PublishedEvent = { seq: ++this.next, event, json: JSON.stringify(event) };
    if (urgent) published.urgent = true;
    if (this.detached) return published;
    // Ask for the next block well before this one runs out, so events are rarely held.
    if (this.seqs && !this.reserving && published.seq > this.reserved - this.seqs.block / 2) this.reserving = this.reserve();
    if (published.seq <= this.reserved && this.held.length === 0) this.publish(published);
    else this.held.push(published);
    return published;
  }

  /** Resolves once no event waits for a reservation (the run's end is stored after this). */
  async published(): Promise<void> {
    while (this.reserving) await this.reserving;
  }

  private publish(e: PublishedEvent): void {
    this.events.push(e);
    this.persist(e);
    for (const l of this.listeners) l(e);
  }

  private async reserve(): Promise<void> {
    const seqs = this.seqs!;
    let attempt = 0;
    do {
      const upTo = Math.max(this.reserved, this.next) + seqs.block;
      let ok: boolean;
      try {
        ok = await seqs.extend(upTo);
      } catch {
        // The database is unreachable: retry for a while (events are held meanwhile), then give up.
        if (attempt < RETRY_MS.length) {
          await new Promise((r) => setTimeout(r, RETRY_MS[attempt++]));
          continue;
        }
        ok = false;
      }
      if (!ok) return this.detach();
      attempt = 0;
      this.reserved = upTo;
      const held = this.held;
      this.held = [];
      for (const e of held) this.publish(e);
      // Events emitted meanwhile may already call for the next block.
    } while (this.next > this.reserved - seqs.block / 2);
    this.reserving = null;
  }

  /**
   * Another instance closed the run (this one missed its lease): its log ends after the
   * reservation, so the run stops here the same way as when it cannot reserve.
   */
  async takenOver(): Promise<void> {
    await this.published();
    if (!this.detached && !this.ended) this.detach();
  }

  /**
   * Without a reservation nothing more may be streamed or stored: the run stops, and its
   * followers here get the terminal event recovery stores after the reservation.
   */
  private detach(): void {
    if (!this.seqs) return void this.controller.abort('shutdown');
    this.detached = true;
    this.held = [];
    this.reserving = null;
    this.controller.abort('shutdown');
    const seq = this.reserved + 1;
    const event = this.seqs!.lost(seq);
    const e = { seq, event, json: JSON.stringify(event) };
    this.events.push(e);
    for (const l of this.listeners) l(e);
  }

  /**
   * Replays buffered events with seq > `after` (at most this stretch's), then delivers
   * live ones; synchronous, so nothing can fall between replay and live.
   */
  subscribe(listener: Listener, after = this.base): () => void {
    // Seqs rise but need not be dense (a lost run ends past its reservation): binary search.
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.events[mid].seq <= after) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.events.length; i++) listener(this.events[i]);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  markDone(): void {
    this.listeners.clear();
    this.settle();
  }
}
