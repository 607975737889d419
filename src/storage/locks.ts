/**
 * Every PostgreSQL advisory-lock key the exporter uses, in one catalogue, so that no two uses can
 * collide. Keys are arbitrary constants shared by every replica; a new job adds its key here.
 */
export const LOCKS = {
  /** Session lock held while migrations run: replicas starting together migrate once. */
  migrations: 7_331_001,
  /** Transaction lock of the conversation timers job: one replica at a time. */
  conversationTimers: 7_331_002,
  /** Transaction lock of each retention batch: one replica removes expired personal data at a time. */
  retention: 7_331_003,
  /** Transaction lock of the agent time job: one replica folds agent time totals at a time. */
  agentTime: 7_331_004,
  /** Base of the thread locks: THREAD_LOCK_BUCKETS keys from here serialise writers of the same threads. */
  threadsBase: 7_340_000,
} as const;

/** Threads hash into this many lock buckets: a group of 1,000-recipient webhooks must not fill PostgreSQL's lock table. */
export const THREAD_LOCK_BUCKETS = 256;
