/**
 * When this process is scraped, and when the next scrape is due. Prometheus scrapes a target at a
 * fixed interval, so a background job that folds history in short batches can run them between
 * scrapes instead of during one: on two cores, a scrape that meets such a batch takes 20–30 ms
 * longer. Only this process's scrapes are known; another replica's job may still meet them.
 */

/** Gaps between scrape starts remembered to estimate the interval (two Prometheus servers in HA interleave). */
const GAPS_KEPT = 4;
/** Room kept before the next expected scrape: its start jitters. */
const MARGIN_SHARE = 0.1;
const MARGIN_AT_LEAST_MS = 50;
/** A running scrape's end wakes the waiter; this bounds the wait should it never come. */
const RUNNING_WAIT_MS = 1_000;

export class ScrapeRhythm {
  private running = 0;
  private readonly starts: number[] = [];
  private waiters: Array<() => void> = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** A scrape of this process began. */
  started(): void {
    this.running += 1;
    this.starts.push(this.now());
    if (this.starts.length > GAPS_KEPT + 1) this.starts.shift();
  }

  /** A scrape of this process ended (answered or abandoned). */
  finished(): void {
    this.running = Math.max(0, this.running - 1);
    if (this.running > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * When the next scrape is expected: the earliest time after now that is a recent start plus a
   * recent gap between starts. One Prometheus gives its interval; two in HA, offset, give both
   * of their gaps, and the guess then tends to come early (the work waits a little longer).
   * Undefined when no scrape is expected (fewer than two seen, or they stopped coming).
   */
  nextStart(): number | undefined {
    const now = this.now();
    let next = Infinity;
    for (const gap of this.gaps()) for (const start of this.starts) if (start + gap > now) next = Math.min(next, start + gap);
    return next === Infinity ? undefined : next;
  }

  /**
   * Milliseconds to wait before work expected to take `expectedMs` can run without meeting one of
   * this process's scrapes: 0 when none is running and the next one is not due before the work
   * would end (or none is expected).
   */
  delayFor(expectedMs: number): number {
    // While one runs, wait for its end (which wakes the waiter).
    if (this.running > 0) return RUNNING_WAIT_MS;
    const next = this.nextStart();
    if (next === undefined) return 0;
    const margin = Math.max(MARGIN_AT_LEAST_MS, MARGIN_SHARE * Math.min(...this.gaps()));
    const now = this.now();
    if (now + expectedMs + margin <= next) return 0;
    // The next scrape is too close: wait until it has begun (then for its end).
    return next - now + margin;
  }

  /** The recent gaps between consecutive scrape starts. */
  private gaps(): number[] {
    return this.starts.slice(1).map((start, i) => start - this.starts[i]!);
  }

  /**
   * Waits until work expected to take `expectedMs` would meet none of this process's scrapes, but
   * at most `atMostMs` in all: work longer than the interval, or scrapes back to back, must not
   * starve the job.
   */
  async quietFor(expectedMs: number, atMostMs: number): Promise<void> {
    const deadline = this.now() + atMostMs;
    for (;;) {
      const delay = this.delayFor(expectedMs);
      const left = deadline - this.now();
      if (delay <= 0 || left <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(delay, left));
        const waiters = this.waiters;
        waiters.push(done);
        function done() {
          clearTimeout(timer);
          const at = waiters.indexOf(done);
          if (at >= 0) waiters.splice(at, 1);
          resolve();
        }
      });
    }
  }
}
