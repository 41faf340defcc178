/**
 * The wake-up loop the outbox's consumers share (the webhook dispatcher, the audit writer): a round
 * runs when an event is appended and at every poll; a wake-up during a round runs one more round
 * after it, never two at once; a failed round is logged and retried at the next wake-up.
 *
 * Wake-ups are coalesced: one that comes within `coalesceMs` of the previous round's start waits
 * until that much time has passed, so under load the commits of several requests land in one
 * round (one transaction) instead of one round each. An idle loop (no round started in the last
 * `coalesceMs`) starts a round at once: the first event after a pause gets no added latency.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Outbox } from './outbox.ts';

/** The default of {@link OutboxLoopOptions.coalesceMs}, ms. */
export const defaultCoalesceMs = 4;

/** What a loop needs: the outbox to listen to, the poll interval, the round to run, and how to log a failure. */
export interface OutboxLoopOptions {
  outbox: Outbox;
  pollMs: number;
  /** Minimum time between the starts of two rounds, ms (default {@link defaultCoalesceMs}; 0: no coalescing). */
  coalesceMs?: number;
  logger: Logger;
  /** The log message of a failed round. */
  failureMessage: string;
  /** One round of consuming the outbox. */
  round: () => Promise<void>;
}

/** Runs `round` on outbox appends and polls, one round at a time, until stopped. */
export class OutboxLoop {
  private timer: NodeJS.Timeout | null = null;
  /** The coalescing delay before the next round, when one is scheduled. */
  private delayed: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private isStopped = true;
  /** When the last round started (performance.now()); -Infinity before the first. */
  private lastStart = Number.NEGATIVE_INFINITY;
  private readonly coalesceMs: number;
  private readonly wake = () => this.kick();

  constructor(private readonly opts: OutboxLoopOptions) {
    this.coalesceMs = Math.max(0, opts.coalesceMs ?? defaultCoalesceMs);
  }

  /** True before `start()` and after `stop()`; rounds check it to end early. */
  get stopped(): boolean {
    return this.isStopped;
  }

  /** Starts listening and polling, and runs a first round. No-op when already started. */
  start(): void {
    if (!this.isStopped) return;
    this.isStopped = false;
    this.opts.outbox.signal.on('appended', this.wake);
    this.timer = setInterval(this.wake, this.opts.pollMs);
    this.timer.unref();
    this.kick();
  }

  /** Stops (a round scheduled but not started never starts) and waits for the round in progress. */
  async stop(): Promise<void> {
    this.isStopped = true;
    this.opts.outbox.signal.off('appended', this.wake);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.delayed) clearTimeout(this.delayed);
    this.delayed = null;
    await this.running;
  }

  /** A wake-up: a round now, after the coalescing delay, or after the round in progress. */
  private kick(): void {
    if (this.isStopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.delayed) return; // a round is already scheduled; it will see this wake-up's work
    const wait = this.lastStart + this.coalesceMs - performance.now();
    if (wait <= 0) {
      this.run();
      return;
    }
    this.delayed = setTimeout(() => {
      this.delayed = null;
      this.kick();
    }, Math.ceil(wait));
  }

  private run(): void {
    this.again = false;
    this.lastStart = performance.now();
    this.running = (async () => {
      let ok = false;
      try {
        await this.opts.round();
        ok = true;
      } catch (err) {
        this.opts.logger.error({ err }, this.opts.failureMessage);
      } finally {
        this.running = null;
      }
      // A wake-up came during the round: go again (coalesced). A failed round waits for the next wake-up.
      const again = this.again;
      this.again = false;
      if (ok && again) this.kick();
    })();
  }
}
