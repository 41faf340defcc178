/**
 * The wake-up loop the outbox's consumers share (the webhook dispatcher, the audit writer): a round
 * runs when an event is appended and at every poll; a wake-up during a round runs one more round
 * after it, never two at once; a failed round is logged and retried at the next wake-up.
 */
import type { Logger } from 'pino';
import type { Outbox } from './outbox.ts';

/** What a loop needs: the outbox to listen to, the poll interval, the round to run, and how to log a failure. */
export interface OutboxLoopOptions {
  outbox: Outbox;
  pollMs: number;
  logger: Logger;
  /** The log message of a failed round. */
  failureMessage: string;
  /** One round of consuming the outbox. */
  round: () => Promise<void>;
}

/** Runs `round` on outbox appends and polls, one round at a time, until stopped. */
export class OutboxLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private isStopped = true;
  private readonly wake = () => this.kick();

  constructor(private readonly opts: OutboxLoopOptions) {}

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

  /** Stops and waits for the round in progress. */
  async stop(): Promise<void> {
    this.isStopped = true;
    this.opts.outbox.signal.off('appended', this.wake);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private kick(): void {
    if (this.isStopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.opts.round();
        } while (this.again && !this.isStopped);
      } catch (err) {
        this.opts.logger.error({ err }, this.opts.failureMessage);
      } finally {
        this.running = null;
      }
    })();
  }
}
