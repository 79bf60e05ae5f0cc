/**
 * The environment a child process of the tooling runs in.
 *
 * @module
 */

/**
 * This process's environment without its `GEOIPMQ_*` variables (which would change a
 * service's setup behind the caller's back), with `extra` on top.
 *
 * @example
 * ```ts
 * import { childEnvironment } from "./child_environment.ts";
 * Deno.env.set("GEOIPMQ_WORKERS", "9");
 * const env = childEnvironment({ GEOIPMQ_BIND: "tcp://127.0.0.1:5555" });
 * console.log(env.GEOIPMQ_WORKERS, env.GEOIPMQ_BIND); // undefined tcp://127.0.0.1:5555
 * Deno.env.delete("GEOIPMQ_WORKERS");
 * ```
 *
 * @param extra variables to set on top
 * @returns the environment, for `Deno.Command` with `clearEnv: true`
 */
export function childEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const own = Object.entries(Deno.env.toObject()).filter(([name]) => !name.startsWith("GEOIPMQ_"));
  return { ...Object.fromEntries(own), ...extra };
}
