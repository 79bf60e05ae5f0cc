/**
 * A secret key file given as the CURVE allow file is refused at start, on the real
 * service process: exit 1 and one line, the secret never shown. A real allow file of
 * public keys, readable by others, is still accepted.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CurveClient } from "../support/curve_client.ts";
import { CurveFiles } from "../support/curve_files.ts";
import { runService, startService } from "../support/service_process.ts";

Deno.test("geoipmq refuses a secret key file as its CURVE allow file (exit 1, one line)", async (t) => {
  await using client = new CurveClient();
  const clientKeys = client.lib.curveKeypair();
  await using files = await CurveFiles.create(client.lib, [clientKeys.publicKey]);
  const secret = (await Deno.readTextFile(files.secretKeyFile)).split("\n")[1]!;
  const args = (allowFile: string) => [
    "--db",
    files.database,
    "--bind",
    "tcp://127.0.0.1:*",
    "--curve-secret-key-file",
    files.secretKeyFile,
    "--curve-allow-file",
    allowFile,
  ];
  const refused = async (allowFile: string, expected: string) => {
    const result = await runService(args(allowFile));
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr.split("\n").filter((line) => line.startsWith("geoipmq:"));
    assert.equal(lines.at(-1), `geoipmq: error: ${expected}`);
    assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
    assert.ok(!result.stderr.includes(secret), "the secret key is never shown");
  };

  await t.step("the server's own secret key file", async () => {
    await refused(
      files.secretKeyFile,
      `Cannot read CURVE allow file "${files.secretKeyFile}": a .key file is a secret key; ` +
        "list the clients' public keys (their .pub files) in an allow file of another name",
    );
  });
  await t.step("a copy of it under another name, readable by its owner only", async () => {
    const path = await files.write("copied.allow", `${secret}\n`, 0o600);
    await refused(
      path,
      `Cannot read CURVE allow file "${path}": one key readable by its owner only ` +
        "(mode 0600) looks like a secret key file; an allow file lists public keys: chmod 644 it",
    );
  });
  await t.step("a client's secret key file, as keygen writes it (0600)", async () => {
    const path = await files.write("alice.key", `${clientKeys.secretKey}\n`, 0o600);
    await refused(
      path,
      `Cannot read CURVE allow file "${path}": a .key file is a secret key; ` +
        "list the clients' public keys (their .pub files) in an allow file of another name",
    );
  });
  await t.step("the same one key in a file others may read is an allow file", async () => {
    const path = await files.write("one.allow", `${clientKeys.publicKey}\n`, 0o644);
    await using service = await startService(args(path), {
      probe: { curve: { ...clientKeys, serverKey: files.serverKey } },
    });
    assert.ok(service.log.includes(`geoipmq: CURVE allow-list: 1 client key from ${path}`));
  });
});
