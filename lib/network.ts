/**
 * Parameters of the three Evrmore networks: ports, data-dir subfolders and
 * address prefixes, as the node defines them.
 *
 * @module
 */

/** The Evrmore network a node runs on. */
export type Network = "main" | "test" | "regtest";

/** Fixed parameters of one Evrmore network. */
export interface NetworkParams {
  /** Default JSON-RPC port. */
  readonly rpcPort: number;
  /** Default peer-to-peer port. */
  readonly p2pPort: number;
  /** Subfolder of the base data dir holding this network's data ("" on mainnet). */
  readonly dataSubdir: string;
  /** Base58 version byte of pay-to-pubkey-hash addresses. */
  readonly pubkeyHashPrefix: number;
  /** Base58 version byte of pay-to-script-hash addresses. */
  readonly scriptHashPrefix: number;
  /** Base58 version byte of WIF private keys. */
  readonly wifPrefix: number;
  /** Whether block headers are 120 bytes hashed with EvrProgPoW (else 80 bytes, SHA-256d). */
  readonly progpowHeader: boolean;
}

/**
 * The parameters of each network.
 *
 * @example
 * ```ts
 * import { NETWORKS } from "@evrmore/rpc";
 *
 * console.log(NETWORKS.main.rpcPort); // 8819
 * console.log(NETWORKS.regtest.dataSubdir); // "regtest"
 * ```
 */
export const NETWORKS: Readonly<Record<Network, NetworkParams>> = Object.freeze(
  {
    main: Object.freeze({
      rpcPort: 8819,
      p2pPort: 8820,
      dataSubdir: "",
      pubkeyHashPrefix: 33,
      scriptHashPrefix: 92,
      wifPrefix: 128,
      progpowHeader: true,
    }),
    test: Object.freeze({
      rpcPort: 18819,
      p2pPort: 18820,
      dataSubdir: "testnet1",
      pubkeyHashPrefix: 111,
      scriptHashPrefix: 196,
      wifPrefix: 239,
      progpowHeader: false,
    }),
    regtest: Object.freeze({
      rpcPort: 18443,
      p2pPort: 18444,
      dataSubdir: "regtest",
      pubkeyHashPrefix: 111,
      scriptHashPrefix: 196,
      wifPrefix: 239,
      progpowHeader: false,
    }),
  },
);

/**
 * Checks that a value names a network, and returns it typed.
 *
 * @example
 * ```ts
 * import { parseNetwork } from "@evrmore/rpc";
 *
 * console.log(parseNetwork("regtest")); // "regtest"
 * ```
 *
 * @param value The value to check ("main", "mainnet", "test", "testnet" or "regtest").
 * @returns The network.
 * @throws {TypeError} When the value names no network.
 */
export function parseNetwork(value: unknown): Network {
  switch (value) {
    case "main":
    case "mainnet":
      return "main";
    case "test":
    case "testnet":
      return "test";
    case "regtest":
      return "regtest";
    default:
      throw new TypeError(
        `Cannot use network ${
          JSON.stringify(value)
        }: expected "main", "test" or "regtest"`,
      );
  }
}
