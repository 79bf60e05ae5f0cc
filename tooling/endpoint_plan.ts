/**
 * The endpoints of a service about to be started: the ports the caller left open chosen
 * here, so they are known before the service starts, and whether and where it serves
 * `GET /healthz` over plain HTTP.
 *
 * @module
 */

/** The service's arguments with every endpoint it will bind decided. */
export interface EndpointPlan {
  /** The arguments, with every `*` port and the default `--bind` filled in. */
  args: string[];
  /** The environment, with `GEOIPMQ_BIND` decided when it gave the endpoints. */
  env: Record<string, string>;
  /** What the service will report as its endpoints. */
  endpoints: string[];
  /** Whether a port was chosen here (so a clash is worth a retry). */
  chosePorts: boolean;
  /** A `GET /healthz` URL when the service serves HTTP on a known port. */
  healthz: string | undefined;
  /** Only `--connect`: nothing bound to ask. */
  connectOnly: boolean;
  /** CURVE is on: a client needs keys on the allow-list. */
  curve: boolean;
}

/** The values of a repeatable flag, in `--flag value` and `--flag=value` forms. */
function flagValues(args: readonly string[], flag: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === flag && i + 1 < args.length) values.push(args[++i]!);
    else if (arg.startsWith(`${flag}=`)) values.push(arg.slice(flag.length + 1));
  }
  return values;
}

/** @returns a TCP port nobody listens on at this moment, on `hostname` */
function freePort(hostname: string): number {
  const listener = Deno.listen({ hostname, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** `tcp://host:*` with a free port; anything else as it is. */
function choosePort(endpoint: string): { endpoint: string; chosen: boolean } {
  const match = endpoint.match(/^tcp:\/\/(.+):\*$/);
  if (match === null) return { endpoint, chosen: false };
  const host = match[1]!;
  const listenOn = host === "*" ? "0.0.0.0" : host.replace(/^\[(.*)\]$/, "$1");
  const reported = host === "*" ? "0.0.0.0" : host;
  return { endpoint: `tcp://${reported}:${freePort(listenOn)}`, chosen: true };
}

/**
 * Where a client on this machine reaches a bound endpoint.
 *
 * @param endpoint a bound endpoint, perhaps on every interface
 * @returns the same endpoint on loopback
 */
export function reachable(endpoint: string): string {
  return endpoint.replace(/^tcp:\/\/(0\.0\.0\.0|\*):/, "tcp://127.0.0.1:")
    .replace(/^tcp:\/\/\[::\]:/, "tcp://[::1]:");
}

/**
 * Decides the endpoints the caller left open, in the arguments or in `GEOIPMQ_BIND`: no
 * `--bind` (nor `GEOIPMQ_BIND`, nor `--connect`) gets `--bind tcp://127.0.0.1:<free port>`,
 * and the `*` of a `tcp://host:*` bind becomes a free port.
 *
 * @example
 * ```ts
 * import { planEndpoints } from "./endpoint_plan.ts";
 * const plan = planEndpoints(["--db", "city.mmdb", "--bind", "tcp://127.0.0.1:*"], {});
 * console.log(plan.endpoints.length, plan.chosePorts, plan.args[2]); // 1 true --bind
 * ```
 *
 * @param given the service's arguments
 * @param env the environment it will run with
 * @returns its arguments and environment with every port decided, and how to reach it
 */
export function planEndpoints(given: readonly string[], env: Record<string, string>): EndpointPlan {
  const args = [...given];
  let chosePorts = false;
  const resolve = (endpoint: string) => {
    const { endpoint: resolved, chosen } = choosePort(endpoint);
    chosePorts ||= chosen;
    return resolved;
  };
  const connects = flagValues(args, "--connect").length > 0 ||
    (env.GEOIPMQ_CONNECT ?? "").trim() !== "";
  let endpoints: string[];
  if (flagValues(args, "--bind").length > 0) {
    endpoints = [];
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      if (arg === "--bind" && i + 1 < args.length) {
        args[i + 1] = resolve(args[i + 1]!);
        endpoints.push(args[++i]!);
      } else if (arg.startsWith("--bind=")) {
        args[i] = `--bind=${resolve(arg.slice("--bind=".length))}`;
        endpoints.push(args[i]!.slice("--bind=".length));
      }
    }
  } else if ((env.GEOIPMQ_BIND ?? "").trim() !== "") {
    endpoints = env.GEOIPMQ_BIND!.split(",").map((e) => e.trim()).filter((e) => e !== "")
      .map(resolve);
    env = { ...env, GEOIPMQ_BIND: endpoints.join(",") };
  } else if (connects) {
    endpoints = [];
  } else {
    endpoints = [resolve("tcp://127.0.0.1:*")];
    args.unshift("--bind", endpoints[0]!);
  }
  const http = flagValues(args, "--http").at(-1) ?? env.GEOIPMQ_HTTP;
  const httpMatch = http?.match(/^(.*):(\d+)$/);
  let healthz: string | undefined;
  // Over HTTPS the probe would need the service's certificate: ask over ZeroMQ instead.
  const tls = flagValues(args, "--http-tls-cert").length > 0 ||
    (env.GEOIPMQ_HTTP_TLS_CERT ?? "") !== "";
  if (httpMatch && httpMatch[2] !== "0" && !tls) {
    const host = ["", "0.0.0.0", "*"].includes(httpMatch[1]!) ? "127.0.0.1" : httpMatch[1]!;
    healthz = `http://${host}:${httpMatch[2]}/healthz`;
  }
  const curve = flagValues(args, "--curve-secret-key-file").length > 0 ||
    (env.GEOIPMQ_CURVE_SECRET_KEY_FILE ?? "") !== "";
  return {
    args,
    env,
    endpoints,
    chosePorts,
    healthz,
    connectOnly: endpoints.length === 0,
    curve,
  };
}
