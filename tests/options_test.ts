import assert from "node:assert/strict";
import { checkOptions, editDistance, suggestOption } from "../lib/_options.ts";
import {
  CLIENT_OPTION_KEYS,
  type EvrmoreWebSocketClientOptions,
} from "../lib/websocket/_client_options.ts";
import {
  type EvrmoreWebSocketServerOptions,
  SERVER_OPTION_KEYS,
} from "../lib/websocket/_server_options.ts";
import { RPC_CLIENT_OPTION_KEYS } from "../lib/rpc/_client.ts";
import type { EvrmoreRPCClientOptions } from "../lib/rpc/_types.ts";
import { ZMQ_CLIENT_OPTION_KEYS } from "../lib/zmq/_client.ts";
import type { EvrmoreZMQClientOptions } from "../lib/zmq/types.ts";
import {
  EvrmoreRPCClient,
  EvrmoreWebSocketClient,
  EvrmoreWebSocketServer,
  EvrmoreZMQClient,
} from "../mod.ts";
import { EvrmoreDevnet, type EvrmoreDevnetOptions } from "../lib/devnet/mod.ts";

// Each list names exactly the keys of its options interface: the object
// literals below must name every key (type-checked), and the lists must
// equal them (an option added to an interface but not to its list would
// throw at run time).
type Keys<T> = Exclude<keyof T, symbol | number>;
const lists = {
  client: CLIENT_OPTION_KEYS,
  server: SERVER_OPTION_KEYS,
  rpc: RPC_CLIENT_OPTION_KEYS,
  zmq: ZMQ_CLIENT_OPTION_KEYS,
};
function sameKeys<T>(list: readonly string[], all: Record<Keys<T>, true>) {
  assert.deepEqual([...list].sort(), Object.keys(all).sort());
}

Deno.test("checkOptions() lists match the options interfaces", () => {
  sameKeys<EvrmoreWebSocketClientOptions>(lists.client, {
    uri: true,
    pingInterval: true,
    pingTimeout: true,
    reconnect: true,
    reconnectDelay: true,
    maxReconnectDelay: true,
    maxReconnectAttempts: true,
    requestTimeout: true,
    maxQueueSize: true,
    onError: true,
    welcomeTimeout: true,
    token: true,
  });
  sameKeys<EvrmoreZMQClientOptions>(lists.zmq, {
    address: true,
    host: true,
    port: true,
    topics: true,
    decode: true,
    network: true,
    bufferSize: true,
    isolation: true,
    hangTimeout: true,
    subscriberCommand: true,
  });
  sameKeys<EvrmoreRPCClientOptions>(lists.rpc, {
    url: true,
    host: true,
    port: true,
    user: true,
    password: true,
    network: true,
    datadir: true,
    conf: true,
    cookieFile: true,
    wallet: true,
    timeout: true,
    maxConcurrency: true,
    retries: true,
    retryDelay: true,
    validate: true,
    env: true,
    caCerts: true,
    batching: true,
    maxBatchSize: true,
    singleFlight: true,
    priority: true,
    maxQueueSize: true,
  });
  sameKeys<EvrmoreWebSocketServerOptions>(lists.server, {
    rpcClient: true,
    zmqClient: true,
    host: true,
    port: true,
    pingInterval: true,
    pingTimeout: true,
    path: true,
    allowedCommands: true,
    maxMessageSize: true,
    maxBufferedAmount: true,
    maxPendingCommands: true,
    maxFiltersPerClient: true,
    maxClients: true,
    mempoolInterval: true,
    seenTransactions: true,
    hashBlockDelay: true,
    startZmq: true,
    maxBackfillBlocks: true,
    maxReplayBlocks: true,
    authToken: true,
    authenticate: true,
    allowedOrigins: true,
    maxMessagesPerSecond: true,
    messageBurst: true,
    maxClientsPerIp: true,
    metrics: true,
    dashboard: true,
    onError: true,
    certFile: true,
    keyFile: true,
    reusePort: true,
    trustProxy: true,
    guard: true,
    handshakeTimeout: true,
    maxPendingHandshakes: true,
    maxUnsentBytes: true,
    drainTimeout: true,
    maxReplySize: true,
    maxCommandsInFlight: true,
    maxQueuedCommands: true,
    listen: true,
    onEvent: true,
    maxLoggedEvents: true,
    cursors: true,
    resumeAfter: true,
  });
});

Deno.test("checkOptions() suggests the camelCase name of a snake_case option", () => {
  assert.equal(
    suggestOption("ping_interval", ["pingInterval", "pingTimeout"]),
    "pingInterval",
  );
  assert.equal(suggestOption("rpc-client", ["rpcClient"]), "rpcClient");
  assert.equal(suggestOption("pingIntreval", ["pingInterval"]), "pingInterval");
  assert.equal(suggestOption("URI", ["uri"]), "uri");
  assert.equal(suggestOption("banana", ["uri", "token"]), undefined);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("same", "same"), 0);
});

Deno.test("checkOptions() passes known options and no options; refuses non-objects", () => {
  checkOptions("X", undefined, ["a"]);
  checkOptions("X", null, ["a"]);
  checkOptions("X", { a: 1 }, ["a"]);
  assert.throws(() => checkOptions("X", "a", ["a"]), TypeError);
  assert.throws(
    () => checkOptions("X", { zzz: 1 }, ["a", "b"]),
    /Cannot create X: unknown option "zzz" \(options: a, b\)/,
  );
});

const didYouMean = (option: string, wanted: string) => (error: unknown) =>
  error instanceof TypeError &&
  error.message.includes(`unknown option "${option}"`) &&
  error.message.includes(`did you mean ${wanted}?`);

Deno.test("every public constructor throws TypeError on an unknown option, naming the right one", () => {
  // The design document's snake_case names.
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => new EvrmoreWebSocketClient({ ping_interval: 30 } as any),
    didYouMean("ping_interval", "pingInterval"),
  );
  const rpcClient = {
    call: () => Promise.resolve(0),
    getmempoolinfo: () => Promise.resolve({ size: 0, bytes: 0, usage: 0 }),
  };
  const zmqClient = { on: () => () => {}, start: () => Promise.resolve() };
  assert.throws(
    () =>
      new EvrmoreWebSocketServer({
        rpcClient,
        zmqClient,
        ping_timeout: 10,
        // deno-lint-ignore no-explicit-any
      } as any),
    didYouMean("ping_timeout", "pingTimeout"),
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => new EvrmoreRPCClient({ cookie_file: "x" } as any),
    didYouMean("cookie_file", "cookieFile"),
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => new EvrmoreZMQClient({ buffer_size: 10 } as any),
    didYouMean("buffer_size", "bufferSize"),
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => new EvrmoreDevnet({ rpcport: 0 } as any),
    didYouMean("rpcport", "rpcPort"),
  );
  // Known options still work.
  const options: EvrmoreDevnetOptions = { rpcPort: 0 };
  assert.ok(new EvrmoreDevnet(options));
});
