/**
 * podman for tests, in a store of its own under a temporary directory (images and
 * containers of the machine are neither seen nor touched), with the settings containers
 * need on hosts where podman's defaults fail: the `runc` runtime (crun cannot run on a
 * cgroup v1 host) and open-file and process limits below what such a host lets root raise
 * (podman's default `nofile=1048576` fails with "setrlimit: Operation not permitted").
 *
 * @module
 */

import { join } from "node:path";
import { type CommandOutput, commandOutput } from "../../tooling/mod.ts";

/** A private podman store; remove it with `await using` or {@linkcode Podman.remove}. */
export class Podman implements AsyncDisposable {
  /** The directory holding the store and the configuration. */
  readonly directory: string;
  /** The environment that points podman (and buildah) at them. */
  readonly env: Record<string, string>;

  private constructor(directory: string) {
    this.directory = directory;
    this.env = {
      CONTAINERS_CONF: join(directory, "containers.conf"),
      CONTAINERS_STORAGE_CONF: join(directory, "storage.conf"),
    };
  }

  /**
   * Makes a store in a new temporary directory.
   *
   * @returns the store
   */
  static async create(): Promise<Podman> {
    const directory = await Deno.makeTempDir({ prefix: "geoipmq-podman-" });
    const podman = new Podman(directory);
    await Deno.writeTextFile(
      podman.env.CONTAINERS_CONF!,
      [
        "[containers]",
        'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]',
        "[engine]",
        'runtime = "runc"',
        "",
      ].join("\n"),
    );
    await Deno.writeTextFile(
      podman.env.CONTAINERS_STORAGE_CONF!,
      [
        "[storage]",
        'driver = "overlay"',
        `graphroot = "${join(directory, "root")}"`,
        `runroot = "${join(directory, "run")}"`,
        "",
      ].join("\n"),
    );
    return podman;
  }

  /**
   * Runs `podman ARGS` on this store.
   *
   * @param args its arguments
   * @returns what it wrote and its exit code
   */
  run(args: string[]): Promise<CommandOutput> {
    return commandOutput("podman", { args, env: this.env });
  }

  /**
   * Runs `podman ARGS` and fails unless it exits 0.
   *
   * @param args its arguments
   * @returns its stdout, trimmed
   * @throws {Error} with its stderr when it fails
   */
  async ok(args: string[]): Promise<string> {
    const output = await this.run(args);
    if (output.code !== 0) {
      throw new Error(`podman ${args.join(" ")} exited ${output.code}: ${output.stderr.trim()}`);
    }
    return output.stdout.trim();
  }

  /** Removes every container and image of the store, then the directory. */
  async remove(): Promise<void> {
    await this.run(["rm", "--all", "--force", "--time", "0"]);
    await this.run(["rmi", "--all", "--force"]);
    await Deno.remove(this.directory, { recursive: true });
  }

  /** Same as {@linkcode Podman.remove}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove();
  }
}
