/**
 * Self-signed TLS pairs for tests, made with `openssl` (skipped loudly where it is
 * missing, failed under `GEOIPMQ_REQUIRE_TOOLS=1`).
 *
 * @module
 */

import type { TlsPem } from "../../lib/http/mod.ts";
import { skipForMissingTool } from "./required_tool.ts";

/** A pair written to a temporary directory. */
export interface TlsPair {
  /** The PEM texts. */
  pem: TlsPem;
  /** The files holding them. */
  certFile: string;
  keyFile: string;
  /** Removes the files. */
  remove(): Promise<void>;
}

/**
 * Makes a self-signed EC certificate for 127.0.0.1 and localhost.
 *
 * @param name the certificate's common name, to tell pairs apart
 * @returns the pair, or undefined when `openssl` is missing (and not required)
 */
export async function makeTlsPair(name: string): Promise<TlsPair | undefined> {
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-tls-" });
  const certFile = `${directory}/cert.pem`;
  const keyFile = `${directory}/key.pem`;
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        keyFile,
        "-out",
        certFile,
        "-days",
        "2",
        "-subj",
        `/CN=${name}`,
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        // A server certificate, not a CA: rustls refuses a CA as the end entity.
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "extendedKeyUsage=serverAuth",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
  } catch {
    await Deno.remove(directory, { recursive: true });
    skipForMissingTool("openssl (apt-get install openssl)");
    return undefined;
  }
  if (!output.success) {
    throw new Error(`openssl failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return {
    pem: { cert: await Deno.readTextFile(certFile), key: await Deno.readTextFile(keyFile) },
    certFile,
    keyFile,
    remove: () => Deno.remove(directory, { recursive: true }),
  };
}
