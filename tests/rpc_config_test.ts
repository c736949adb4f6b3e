import assert from "node:assert/strict";
import { AuthError } from "../lib/errors.ts";
import { EvrmoreRPCClient } from "../lib/rpc/mod.ts";
import { startFixtureRpcServer } from "./_rpc_fixture_server.ts";

const ENV_NAMES = [
  "EVR_RPC_URL",
  "EVR_RPC_USER",
  "EVR_RPC_PASSWORD",
  "EVR_RPC_PORT",
  "EVR_DATADIR",
  "EVR_NETWORK",
  "HOME",
];

/** Runs `fn` with the EVR_* variables (and HOME) set as given, unset otherwise; restores them after. */
async function withEnv(
  vars: Record<string, string>,
  fn: () => Promise<void>,
): Promise<void> {
  const saved = new Map(ENV_NAMES.map((name) => [name, Deno.env.get(name)]));
  try {
    for (const name of ENV_NAMES) {
      const value = vars[name];
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
    await fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
}

/** A temporary base data dir with the given files (relative path → content). */
async function dataDir(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "evr_rpc_conf_" });
  for (const [path, content] of Object.entries(files)) {
    const full = `${dir}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, content);
  }
  return dir;
}

const COOKIE_HEX =
  "549a29db2a47a331d8ccc2ee1df3f2e8071a83b1ffaaae0547ffb125931569b9";

Deno.test("EvrmoreRPCClient.config() reads evrmore.conf in the data dir, every value a string", async () => {
  await using server = await startFixtureRpcServer({
    user: "alice",
    password: "1",
  });
  const dir = await dataDir({
    "evrmore.conf": [
      "# comment",
      "rpcuser=alice",
      "rpcpassword=1 # trailing comment",
      `rpcport=${server.port}`,
      "rpcconnect=127.0.0.1",
      "rpcuser=ignored-second-value",
      "",
    ].join("\n"),
  });
  try {
    await withEnv({}, async () => {
      await using client = new EvrmoreRPCClient({ datadir: dir });
      const before = client.configSource;
      assert.equal(before, undefined);
      const config = await client.config();
      assert.equal(config.url, server.url);
      assert.equal(config.user, "alice");
      assert.equal(config.network, "main");
      assert.equal(config.confFile, `${dir}/evrmore.conf`);
      assert.equal(config.sources.user.origin, "conf");
      assert.equal(config.sources.password.origin, "conf");
      assert.equal(config.sources.url.origin, "conf");
      assert.equal(config.sources.network.origin, "default");
      assert.match(config.sources.password.detail, /evrmore\.conf/);
      assert.ok(!JSON.stringify(config).includes('"1"'), "no password");
      assert.equal(client.configSource?.user.origin, "conf");
      // The password "1" reaches the node as the string "1".
      assert.equal(await client.getblockcount(), 177);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("EvrmoreRPCClient.config() selects the network from evrmore.conf with its default port", async () => {
  const cases: [string, string, string][] = [
    ["", "main", "http://127.0.0.1:8819/"],
    ["testnet=1\n", "test", "http://127.0.0.1:18819/"],
    ["regtest=1\n", "regtest", "http://127.0.0.1:18443/"],
    ["regtest=0\ntestnet=1\n", "test", "http://127.0.0.1:18819/"],
  ];
  await withEnv({}, async () => {
    for (const [conf, network, url] of cases) {
      const dir = await dataDir({
        "evrmore.conf": `rpcuser=u\nrpcpassword=p\n${conf}`,
      });
      try {
        await using client = new EvrmoreRPCClient({ datadir: dir });
        const config = await client.config();
        assert.equal(config.network, network, conf);
        assert.equal(config.url, url, conf);
        assert.equal(config.sources.url.origin, "default");
        assert.equal(
          config.sources.network.origin,
          network === "main" ? "default" : "conf",
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
  });
});

Deno.test("EvrmoreRPCClient falls back to the .cookie in the network's subdir", async () => {
  await using server = await startFixtureRpcServer({
    user: "__cookie__",
    password: COOKIE_HEX,
  });
  const subdirs: [string, string][] = [
    ["", ""],
    ["testnet=1\n", "testnet1/"],
    ["regtest=1\n", "regtest/"],
  ];
  await withEnv({}, async () => {
    for (const [conf, subdir] of subdirs) {
      const dir = await dataDir({
        "evrmore.conf": `${conf}rpcport=${server.port}\n`,
        [`${subdir}.cookie`]: `__cookie__:${COOKIE_HEX}`,
      });
      try {
        await using client = new EvrmoreRPCClient({ datadir: dir });
        assert.equal(await client.getblockcount(), 177);
        const config = await client.config();
        assert.equal(config.user, "__cookie__");
        assert.equal(config.cookieFile, `${dir}/${subdir}.cookie`);
        assert.equal(config.sources.user.origin, "cookie");
        assert.equal(
          config.sources.password.detail,
          `cookie ${dir}/${subdir}.cookie`,
        );
        assert.ok(!JSON.stringify(config).includes(COOKIE_HEX));
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
  });
});

Deno.test("EvrmoreRPCClient uses rpccookiefile relative to the network dir, and names the cookie on 401", async () => {
  await using server = await startFixtureRpcServer({
    user: "__cookie__",
    password: "fresh",
  });
  const dir = await dataDir({
    "evrmore.conf":
      `regtest=1\nrpcport=${server.port}\nrpccookiefile=auth.cookie\n`,
    "regtest/auth.cookie": "__cookie__:stale",
  });
  try {
    await withEnv({}, async () => {
      await using client = new EvrmoreRPCClient({ datadir: dir });
      const error = await client.getblockcount().then(
        () => assert.fail("expected AuthError"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof AuthError);
      assert.match(
        error.message,
        new RegExp(`cookie ${dir}/regtest/auth\\.cookie`),
      );
      assert.doesNotMatch(error.message, /stale/);
      // The node restarted with a new cookie: the client reads it again on 401.
      await Deno.writeTextFile(
        `${dir}/regtest/auth.cookie`,
        "__cookie__:fresh",
      );
      assert.equal(await client.getblockcount(), 177);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("EvrmoreRPCClient lets the environment override evrmore.conf, and options override both", async () => {
  await using server = await startFixtureRpcServer({
    user: "envuser",
    password: "1",
  });
  const dir = await dataDir({
    "evrmore.conf":
      "rpcuser=confuser\nrpcpassword=confpass\nrpcport=1\ntestnet=1\n",
  });
  try {
    await withEnv({
      EVR_DATADIR: dir,
      EVR_RPC_USER: "envuser",
      EVR_RPC_PASSWORD: "1",
      EVR_RPC_PORT: String(server.port),
      EVR_NETWORK: "regtest",
    }, async () => {
      await using client = new EvrmoreRPCClient();
      const config = await client.config();
      assert.equal(config.url, server.url);
      assert.equal(config.user, "envuser");
      assert.equal(config.network, "regtest");
      assert.equal(config.confFile, `${dir}/evrmore.conf`);
      assert.deepEqual(config.sources.user, {
        origin: "env",
        detail: "env EVR_RPC_USER",
      });
      assert.equal(config.sources.password.detail, "env EVR_RPC_PASSWORD");
      assert.equal(config.sources.network.detail, "env EVR_NETWORK");
      assert.equal(config.sources.url.origin, "env");
      assert.equal(await client.getblockcount(), 177);

      await using overridden = new EvrmoreRPCClient({
        user: "optuser",
        network: "main",
        port: 9999,
      });
      const mixed = await overridden.config();
      assert.equal(mixed.user, "optuser");
      assert.equal(mixed.sources.user.origin, "options");
      assert.equal(mixed.sources.password.origin, "env");
      assert.equal(mixed.network, "main");
      assert.equal(mixed.url, "http://127.0.0.1:9999/");
      assert.equal(mixed.sources.url.origin, "options");
    });

    await withEnv({
      EVR_RPC_URL: `http://envuser:1@127.0.0.1:${server.port}/`,
      EVR_NETWORK: "testnet",
    }, async () => {
      await using client = new EvrmoreRPCClient({ datadir: dir });
      const config = await client.config();
      assert.equal(config.url, server.url);
      assert.equal(config.user, "envuser");
      assert.equal(config.network, "test");
      assert.equal(config.sources.url.detail, "env EVR_RPC_URL");
      assert.equal(config.sources.password.origin, "env");
      assert.equal(await client.getblockcount(), 177);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("EvrmoreRPCClient finds evrmore.conf in the OS's default data dir", async () => {
  const home = await Deno.makeTempDir({ prefix: "evr_rpc_home_" });
  const base = Deno.build.os === "darwin"
    ? `${home}/Library/Application Support/Evrmore`
    : `${home}/.evrmore`;
  await Deno.mkdir(base, { recursive: true });
  await Deno.writeTextFile(
    `${base}/evrmore.conf`,
    "regtest=1\nrpcuser=u\nrpcpassword=p\n",
  );
  try {
    await withEnv({ HOME: home }, async () => {
      await using client = new EvrmoreRPCClient();
      const config = await client.config();
      assert.equal(config.confFile, `${base}/evrmore.conf`);
      assert.equal(config.network, "regtest");
      assert.equal(config.url, "http://127.0.0.1:18443/");
    });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("EvrmoreRPCClient reports a missing explicit conf file by its path, and ignores a missing default one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evr_rpc_conf_" });
  try {
    await withEnv({}, async () => {
      const missing = `${dir}/nope/evrmore.conf`;
      // Constructing never reads files.
      await using client = new EvrmoreRPCClient({ conf: missing });
      await assert.rejects(client.config(), (e: unknown) => {
        assert.ok(e instanceof Error);
        assert.match(e.message, /^Cannot read configuration file /);
        assert.ok(e.message.includes(missing));
        return true;
      });
      await assert.rejects(client.getblockcount(), (e: unknown) => {
        assert.ok(e instanceof Error && e.message.includes(missing));
        return true;
      });

      await using fallback = new EvrmoreRPCClient({ datadir: dir });
      const config = await fallback.config();
      assert.equal(config.confFile, undefined);
      assert.equal(config.user, undefined);
      assert.equal(config.sources.user.origin, "none");
      assert.equal(config.url, "http://127.0.0.1:8819/");

      await Deno.writeTextFile(
        `${dir}/other.conf`,
        "rpcuser=x\nrpcpassword=y\n",
      );
      await using explicit = new EvrmoreRPCClient({
        conf: `${dir}/other.conf`,
      });
      assert.equal((await explicit.config()).user, "x");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("EvrmoreRPCClient treats missing env permission as unset", async () => {
  const dir = await dataDir({
    "evrmore.conf": "testnet=1\nrpcuser=u\nrpcpassword=p\n",
  });
  const script = `
    import { EvrmoreRPCClient } from ${
    JSON.stringify(new URL("../lib/rpc/mod.ts", import.meta.url).href)
  };
    const client = new EvrmoreRPCClient({ datadir: ${JSON.stringify(dir)} });
    const config = await client.config();
    await client.close();
    console.log(JSON.stringify({ url: config.url, network: config.network, user: config.user }));
  `;
  try {
    await Deno.writeTextFile(`${dir}/probe.ts`, script);
    const repo = new URL("..", import.meta.url).pathname;
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-lock",
        `--config=${repo}deno.json`,
        `--allow-read=${dir}`,
        "--no-prompt",
        `${dir}/probe.ts`,
      ],
      cwd: repo,
      env: { EVR_RPC_USER: "should-not-be-read", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(output.stdout)), {
      url: "http://127.0.0.1:18819/",
      network: "test",
      user: "u",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("EvrmoreRPCClient rejects malformed settings clearly", async () => {
  await withEnv({ EVR_RPC_PORT: "notaport" }, async () => {
    await using client = new EvrmoreRPCClient({ datadir: "/nonexistent-evr" });
    await assert.rejects(
      client.config(),
      /Cannot use RPC port "notaport" from env EVR_RPC_PORT/,
    );
  });
  await withEnv({}, async () => {
    await using bad = new EvrmoreRPCClient({ url: "ftp://x/" });
    await assert.rejects(bad.config(), TypeError);
    await using garbled = new EvrmoreRPCClient({ url: "not a url" });
    await assert.rejects(garbled.config(), /not a valid URL/);
  });
});
