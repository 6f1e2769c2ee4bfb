/**
 * wirecable/channels: ActionCable-compatible channels over wirecable's WebSocket server, with
 * in-memory, Redis, Redis Cluster, NATS and PostgreSQL brokers. See docs/channels.md.
 */

export { CableError, type CableErrorCode, UnauthorizedError } from "../cable/errors.js";
export {
  Feature,
  type HistoryRequest,
  PROTOCOL_V1_EXT_JSON,
  type WirePosition,
  type WireResync,
} from "../cable/extensions.js";
export {
  CABLE_PROTOCOLS,
  DEFAULT_MOUNT_PATH,
  DisconnectReason,
  MessageType,
  PROTOCOL_UNSUPPORTED,
  PROTOCOL_V1_JSON,
  selectProtocol,
} from "../cable/protocol.js";
export { AckLedger, DEFAULT_ACK_WINDOW } from "./acks.js";
export { type Broadcaster, createBroadcaster } from "./broadcaster.js";
export {
  type Broker,
  type BrokerEvents,
  type BrokerHandler,
  INTERNAL_STREAM_PREFIX,
  isInternalStream,
  type LostMessage,
  type Unsubscribe,
} from "./brokers/broker.js";
export { type DedupClaim, type Deduplicator, MAX_DEDUP_ENTRIES, MemoryDedup } from "./brokers/dedup.js";
export {
  BROKER_URL_HELP,
  type BrokerFromUrlOptions,
  type BrokerKind,
  brokerKind,
  createBroker,
} from "./brokers/from-url.js";
export { MemoryBroker, type MemoryBrokerOptions } from "./brokers/memory.js";
export {
  NatsBroker,
  type NatsBrokerOptions,
  type NatsClientOptions,
  parseNatsUrl,
  subjectToken,
} from "./brokers/nats.js";
export { NatsHistory } from "./brokers/nats-history.js";
export { MissingPeerError, providePeer } from "./brokers/optional-peer.js";
export {
  MAX_NOTIFY_PAYLOAD,
  PostgresBroker,
  type PostgresBrokerOptions,
  type PostgresClientOptions,
} from "./brokers/postgres.js";
export {
  PostgresDedup,
  PostgresHistory,
  PostgresPresence,
  PostgresStore,
  type PostgresStoreOptions,
} from "./brokers/postgres-store.js";
export { PubSubPresence } from "./brokers/pubsub-presence.js";
export { RedisBroker, type RedisBrokerOptions, type RedisClientOptions } from "./brokers/redis.js";
export {
  parseClusterUrl,
  RedisClusterBroker,
  type RedisClusterBrokerOptions,
  type RedisClusterClientOptions,
} from "./brokers/redis-cluster.js";
export type { RedisCommander, ScriptRunner } from "./brokers/redis-scripts.js";
export { RedisDedup, RedisHistory, RedisPresence, RedisStore, type RedisStoreOptions } from "./brokers/redis-store.js";
export { SessionPresence } from "./brokers/session-presence.js";
export {
  DEFAULT_HISTORY_LIMIT,
  DEFAULT_HISTORY_TTL,
  type HistoryFailure,
  type HistoryOptions,
  type HistoryRead,
  MemoryHistory,
  type StreamEntry,
  type StreamHistory,
  type StreamPosition,
} from "./brokers/stream-history.js";
export {
  DEFAULT_MAX_MEMBERS,
  DEFAULT_PRESENCE_TTL,
  MemoryPresence,
  type PresenceEvent,
  type PresenceJoin,
  type PresenceListener,
  type PresenceMember,
  type PresenceOptions,
  type PresenceSnapshot,
  type ResolvedPresenceOptions,
  resolvePresenceOptions,
  type StreamPresence,
} from "./brokers/stream-presence.js";
export { CableConnection, type CableLimits, DEFAULT_LIMITS, MAX_QUEUED_COMMANDS } from "./cable-connection.js";
export { CableCore, type CableCoreOptions, type CableEvents } from "./cable-core.js";
export { CableServer, type CableServerOptions } from "./cable-server.js";
export {
  ActionError,
  Channel,
  type ChannelClass,
  type ChannelDefinition,
  type ChannelObject,
  type ChannelParams,
  defineChannel,
  type ParamsValidator,
  type StreamOptions,
} from "./channel.js";
export { type BrokerRelayOptions, brokerRelay } from "./fallback-relay.js";
export { broadcastingFor, channelName, type Streamable, serializeBroadcasting } from "./naming.js";
export { DEFAULT_PRESENCE_INTERVAL, PresenceHub, type PresenceWatcher } from "./presence-hub.js";
export { MAX_CATCHUP_BUFFER, Phase, type Prepared, StreamHub, type StreamListener } from "./stream-hub.js";
export type { CableRequest, CableTransport, PrepareText } from "./transport.js";
