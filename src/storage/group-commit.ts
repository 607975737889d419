/**
 * Group commit: concurrent requests share one database transaction. Each request is answered
 * after the transaction that holds its rows commits, exactly as with a transaction per request,
 * but a busy exporter pays for one commit and one statement per table per group rather than per
 * request. A lone request is committed at once, so there is no added wait at low load.
 */
export interface GroupCommitOptions {
  /** The most items one transaction takes. */
  maxGroupSize: number;
  /** Transactions in flight at once; further items queue and form the next group. */
  maxConcurrentGroups: number;
  /** Whether a failed group is retried item by item (so one bad item fails only itself). */
  splitOnError: (error: unknown) => boolean;
}

interface Waiting<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export class GroupCommitter<I, R> {
  private readonly queue: Waiting<I, R>[] = [];
  private running = 0;

  constructor(
    private readonly commit: (items: I[]) => Promise<R[]>,
    private readonly options: GroupCommitOptions,
  ) {}

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.options.maxConcurrentGroups && this.queue.length > 0) {
      const group = this.queue.splice(0, this.options.maxGroupSize);
      this.running += 1;
      void this.run(group).finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
  }

  private async run(group: Waiting<I, R>[]): Promise<void> {
    try {
      const results = await this.commit(group.map((w) => w.item));
      group.forEach((w, i) => {
        w.resolve(results[i]!);
      });
    } catch (error) {
      if (group.length === 1 || !this.options.splitOnError(error)) {
        for (const w of group) w.reject(error);
        return;
      }
      // One at a time: a burst of retries must not crowd out the pool.
      for (const w of group) {
        await this.commit([w.item]).then(
          (results) => w.resolve(results[0]!),
          (itemError: unknown) => w.reject(itemError),
        );
      }
    }
  }
}
