-- Agent time counters from running totals (see docs/metrics.md, "How agent time is kept").
-- A scrape used to compute every agent's online and busy time from the whole presence and
-- handling history; now the history before a watermark is folded into per-agent totals by the
-- agent_time job, and a scrape computes only the short interval since then.

-- Per agent: online and busy seconds over (-infinity, until) — exact sums of microseconds — and
-- the presence status in effect at `until` (the latest event before it; NULL when none).
-- until = '-infinity' means nothing is folded yet: a scrape computes the agent's whole history
-- (the write path starts new agents so; their history is short until the job folds it).
CREATE TABLE agent_time_totals (
  agent          text PRIMARY KEY,
  until          timestamptz NOT NULL,
  status         text,
  online_seconds numeric     NOT NULL,
  busy_seconds   numeric     NOT NULL
);

-- Changes to presence or handling history far enough in the past that the job may already have
-- folded it: per agent, the earliest moment a statement changed. The job consumes them and
-- recomputes those agents. Written by the triggers below, so rows inserted by any client count.
CREATE TABLE agent_time_changes (
  agent text        NOT NULL,
  since timestamptz NOT NULL
);
CREATE INDEX agent_time_changes_agent_idx ON agent_time_changes (agent);

-- Changes younger than this are not logged: the job folds history only up to twice this long
-- ago, so a transaction shorter than this horizon cannot change what the job has folded without
-- logging it. The one definition; the job reads it too.
CREATE FUNCTION agent_time_log_horizon() RETURNS interval
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT interval '30 minutes' $$;

-- Inserted or deleted rows (transition table `changed`): presence from occurred_at, handling from started_at.
CREATE FUNCTION agent_time_presence_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO agent_time_changes (agent, since)
  SELECT agent, min(occurred_at) FROM changed WHERE occurred_at < now() - agent_time_log_horizon() GROUP BY agent;
  RETURN NULL;
END $$;

CREATE FUNCTION agent_time_handling_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO agent_time_changes (agent, since)
  SELECT agent, min(started_at) FROM changed WHERE started_at < now() - agent_time_log_horizon() GROUP BY agent;
  RETURN NULL;
END $$;

-- Updated rows: a presence event changes from the earlier of its two times; a handling interval
-- whose end moved changes from the earlier of its two ends (closing an interval opened hours ago
-- is no change of the past), otherwise from the earlier start. Both agents are touched when the
-- agent changes.
CREATE FUNCTION agent_time_presence_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO agent_time_changes (agent, since)
  SELECT agent, min(at) FROM (SELECT agent, occurred_at AS at FROM old_rows UNION ALL SELECT agent, occurred_at FROM new_rows) c
   WHERE at < now() - agent_time_log_horizon() GROUP BY agent;
  RETURN NULL;
END $$;

CREATE FUNCTION agent_time_handling_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO agent_time_changes (agent, since)
  SELECT agent, min(since) FROM (
    SELECT n.agent,
           CASE WHEN o.agent = n.agent AND o.started_at = n.started_at
                THEN least(coalesce(o.ended_at, 'infinity'), coalesce(n.ended_at, 'infinity'))
                ELSE least(o.started_at, n.started_at) END AS since
      FROM old_rows o JOIN new_rows n ON n.id = o.id
     WHERE (o.agent, o.started_at, o.ended_at) IS DISTINCT FROM (n.agent, n.started_at, n.ended_at)
    UNION ALL
    SELECT o.agent, least(o.started_at, n.started_at)
      FROM old_rows o JOIN new_rows n ON n.id = o.id
     WHERE o.agent <> n.agent
  ) c
   WHERE since < now() - agent_time_log_horizon() GROUP BY agent;
  RETURN NULL;
END $$;

-- TRUNCATE of either history: every total is recomputed.
CREATE FUNCTION agent_time_history_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM agent_time_totals;
  RETURN NULL;
END $$;

CREATE TRIGGER agent_time_presence_inserted AFTER INSERT ON agent_status_events
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION agent_time_presence_changed();
CREATE TRIGGER agent_time_presence_deleted AFTER DELETE ON agent_status_events
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION agent_time_presence_changed();
CREATE TRIGGER agent_time_presence_updated AFTER UPDATE ON agent_status_events
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION agent_time_presence_updated();
CREATE TRIGGER agent_time_presence_truncated AFTER TRUNCATE ON agent_status_events
  FOR EACH STATEMENT EXECUTE FUNCTION agent_time_history_truncated();

CREATE TRIGGER agent_time_handling_inserted AFTER INSERT ON agent_handling
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION agent_time_handling_changed();
CREATE TRIGGER agent_time_handling_deleted AFTER DELETE ON agent_handling
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION agent_time_handling_changed();
CREATE TRIGGER agent_time_handling_updated AFTER UPDATE ON agent_handling
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION agent_time_handling_updated();
CREATE TRIGGER agent_time_handling_truncated AFTER TRUNCATE ON agent_handling
  FOR EACH STATEMENT EXECUTE FUNCTION agent_time_history_truncated();

-- An agent's presence in a time range, and its latest event (ties broken by event id, as the
-- intervals are): one index range scan or one backward step.
DROP INDEX agent_status_events_agent_idx;
CREATE INDEX agent_status_events_agent_idx ON agent_status_events (agent, occurred_at, event_id) INCLUDE (status);
-- Everyone's presence of the last hour or so (a scrape's windows): one range scan, not a probe per agent.
CREATE INDEX agent_status_events_occurred_idx ON agent_status_events (occurred_at) INCLUDE (agent, event_id, status);
-- An agent's handling in a window: its earliest open interval (open ones reach to now, so their
-- union is one range from there) and the closed ones that end after the window starts.
DROP INDEX agent_handling_agent_idx;
CREATE INDEX agent_handling_agent_open_idx ON agent_handling (agent, started_at) WHERE ended_at IS NULL;
CREATE INDEX agent_handling_agent_end_idx ON agent_handling (agent, ended_at) INCLUDE (started_at) WHERE ended_at IS NOT NULL;
-- A conversation's intervals, which every fold of it reads and rewrites (and deleting a
-- conversation cascades to): without this index each was a scan of the whole handling history.
DROP INDEX agent_handling_open_idx;
CREATE INDEX agent_handling_conversation_idx ON agent_handling (conversation_id);
