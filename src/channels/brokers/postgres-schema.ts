/**
 * The tables and functions behind PostgreSQL history, presence, dedup and large payloads
 * (postgres-store.ts). Created on first use with `CREATE ... IF NOT EXISTS` / `CREATE OR
 * REPLACE`, serialised between processes by an advisory lock; the broker's `prefix` is a
 * column, so several applications can share them.
 *
 * - wirecable_streams: a stream's epoch and last offset (the row lock on it orders publishes:
 *   a second publisher waits for the first to commit, so NOTIFY order is offset order).
 * - wirecable_history: one row per retained message, deleted past `limit` at each publish and
 *   past `ttl` by a periodic sweep (reads ignore expired rows meanwhile).
 * - wirecable_spill: payloads too large for NOTIFY's 8000 bytes: the notification carries the
 *   row's id and listeners read it; rows live a minute.
 * - wirecable_presence(_meta): sessions with their member, info, owner (the process) and
 *   deadline; the set's epoch and version. Functions change them under a per-stream advisory
 *   lock and NOTIFY each event on the stream's presence channel (wirecable_presence_channel).
 * - wirecable_dedup: claimed command ids with their outcome and expiry.
 * Payloads are stored as JSON string literals (PostgreSQL text cannot hold NUL).
 */

/** Serialises schema creation between processes (pg_advisory_xact_lock key). */
export const SCHEMA_LOCK = 7_206_461_019;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS wirecable_streams (
  prefix text NOT NULL, stream text NOT NULL, epoch text NOT NULL, "offset" bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (prefix, stream));
CREATE TABLE IF NOT EXISTS wirecable_history (
  prefix text NOT NULL, stream text NOT NULL, "offset" bigint NOT NULL, payload text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (prefix, stream, "offset"));
CREATE INDEX IF NOT EXISTS wirecable_history_created ON wirecable_history (created_at);
CREATE TABLE IF NOT EXISTS wirecable_spill (
  id bigserial PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS wirecable_presence (
  prefix text NOT NULL, stream text NOT NULL, session text NOT NULL, member text NOT NULL,
  info text NOT NULL, owner text NOT NULL, expires_at timestamptz NOT NULL,
  PRIMARY KEY (prefix, stream, session));
CREATE INDEX IF NOT EXISTS wirecable_presence_member ON wirecable_presence (prefix, stream, member);
CREATE INDEX IF NOT EXISTS wirecable_presence_owner ON wirecable_presence (prefix, owner);
CREATE INDEX IF NOT EXISTS wirecable_presence_expiry ON wirecable_presence (prefix, expires_at);
CREATE TABLE IF NOT EXISTS wirecable_presence_meta (
  prefix text NOT NULL, stream text NOT NULL, epoch text NOT NULL, version bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (prefix, stream));
CREATE TABLE IF NOT EXISTS wirecable_dedup (
  key text PRIMARY KEY, outcome text, expires_at timestamptz NOT NULL);

CREATE OR REPLACE FUNCTION wirecable_presence_channel(p text, s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT 'wcp_' || md5(p || chr(1) || s) $$;

CREATE OR REPLACE FUNCTION wirecable_presence_lock(p text, s text) RETURNS void
LANGUAGE sql AS $$ SELECT pg_advisory_xact_lock(hashtextextended(p || chr(1) || s, 42)) $$;

CREATE OR REPLACE FUNCTION wirecable_presence_event(p text, s text, kind text, mid text, inf text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE e text; v bigint;
BEGIN
  UPDATE wirecable_presence_meta SET version = version + 1 WHERE prefix = p AND stream = s
    RETURNING epoch, version INTO e, v;
  PERFORM pg_notify(wirecable_presence_channel(p, s),
    json_build_object('presence', s, 'type', kind, 'epoch', e, 'version', v, 'id', mid, 'info', inf::json)::text);
END $$;

CREATE OR REPLACE FUNCTION wirecable_presence_leave(p text, s text, sid text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE mid text; inf text;
BEGIN
  PERFORM wirecable_presence_lock(p, s);
  DELETE FROM wirecable_presence WHERE prefix = p AND stream = s AND session = sid RETURNING member, info INTO mid, inf;
  IF mid IS NULL THEN RETURN; END IF;
  IF NOT EXISTS (SELECT 1 FROM wirecable_presence WHERE prefix = p AND stream = s AND member = mid) THEN
    PERFORM wirecable_presence_event(p, s, 'leave', mid, inf);
  END IF;
END $$;

CREATE OR REPLACE FUNCTION wirecable_presence_join(
  p text, s text, sid text, mid text, inf text, own text, ttl_ms bigint, max_members int, new_epoch text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE prev text; n int;
BEGIN
  PERFORM wirecable_presence_lock(p, s);
  INSERT INTO wirecable_presence_meta (prefix, stream, epoch) VALUES (p, s, new_epoch) ON CONFLICT DO NOTHING;
  SELECT member INTO prev FROM wirecable_presence WHERE prefix = p AND stream = s AND session = sid;
  IF prev = mid THEN
    UPDATE wirecable_presence SET info = inf, expires_at = now() + ttl_ms * interval '1 millisecond'
      WHERE prefix = p AND stream = s AND session = sid;
    UPDATE wirecable_presence SET info = inf WHERE prefix = p AND stream = s AND member = mid;
    RETURN 'present';
  END IF;
  IF prev IS NOT NULL THEN PERFORM wirecable_presence_leave(p, s, sid); END IF;
  SELECT count(*) INTO n FROM wirecable_presence WHERE prefix = p AND stream = s AND member = mid;
  IF n = 0 AND (SELECT count(DISTINCT member) FROM wirecable_presence WHERE prefix = p AND stream = s) >= max_members THEN
    RETURN 'full';
  END IF;
  INSERT INTO wirecable_presence VALUES (p, s, sid, mid, inf, own, now() + ttl_ms * interval '1 millisecond');
  UPDATE wirecable_presence SET info = inf WHERE prefix = p AND stream = s AND member = mid;
  IF n > 0 THEN RETURN 'present'; END IF;
  PERFORM wirecable_presence_event(p, s, 'join', mid, inf);
  RETURN 'joined';
END $$;

CREATE OR REPLACE FUNCTION wirecable_presence_sweep(p text, batch int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE r record; n int := 0;
BEGIN
  FOR r IN SELECT stream, session FROM wirecable_presence WHERE prefix = p AND expires_at < now() LIMIT batch LOOP
    PERFORM wirecable_presence_leave(p, r.stream, r.session);
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;
`;

/**
 * Publish on a stream keeping history: next offset, row, trim to `limit`, NOTIFY with the
 * position (and the payload when it fits), all in one statement.
 * $1 prefix, $2 stream, $3 new epoch, $4 payload (JSON literal), $5 limit, $6 channel,
 * $7 origin, $8 inline (boolean).
 */
export const HISTORY_PUBLISH = `
WITH s AS (
  INSERT INTO wirecable_streams AS t (prefix, stream, epoch, "offset") VALUES ($1, $2, $3, 1)
  ON CONFLICT (prefix, stream) DO UPDATE SET "offset" = t."offset" + 1, updated_at = now()
  RETURNING epoch, "offset"
), h AS (
  INSERT INTO wirecable_history (prefix, stream, "offset", payload) SELECT $1, $2, "offset", $4 FROM s
), d AS (
  DELETE FROM wirecable_history WHERE prefix = $1 AND stream = $2 AND "offset" <= (SELECT "offset" FROM s) - $5::bigint
)
SELECT epoch, "offset",
  pg_notify($6, json_build_array($7::text, $2::text, CASE WHEN $8::boolean THEN $4::json END, epoch, "offset")::text)
FROM s`;

/** $1 prefix, $2 stream, $3 new epoch. */
export const HISTORY_ENSURE = `
INSERT INTO wirecable_streams (prefix, stream, epoch) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`;

/**
 * The position and the retained, unexpired entries after $3 (at most $5 of them).
 * $1 prefix, $2 stream, $3 after offset, $4 ttl ms, $5 max rows.
 */
export const HISTORY_READ = `
SELECT s.epoch, s."offset", h."offset" AS at, h.payload FROM wirecable_streams s
LEFT JOIN LATERAL (
  SELECT "offset", payload FROM wirecable_history
  WHERE prefix = s.prefix AND stream = s.stream AND "offset" > $3::bigint
    AND created_at > clock_timestamp() - $4::bigint * interval '1 millisecond'
  ORDER BY "offset" DESC LIMIT $5::bigint
) h ON true
WHERE s.prefix = $1 AND s.stream = $2
ORDER BY h."offset"`;

/** A payload too large for NOTIFY: stored, and its id notified. $1 payload literal, $2 channel, $3 origin, $4 stream. */
export const SPILL_PUBLISH = `
WITH r AS (INSERT INTO wirecable_spill (payload) VALUES ($1) RETURNING id)
SELECT pg_notify($2, json_build_array($3::text, $4::text, NULL, id)::text) FROM r`;
