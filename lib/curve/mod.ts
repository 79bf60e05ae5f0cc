/**
 * CURVE for geoipmq: key files, key pairs, the allow-list of clients and the ZAP handler
 * that applies it in its own Worker.
 *
 * @module
 */

export {
  KeyFileError,
  keyProblem,
  parseAllowList,
  readAllowFile,
  readPublicKeyFile,
  readSecretKeyFile,
  type ServerKey,
  Z85_KEY_LENGTH,
  type Z85Codec,
} from "./key_files.ts";
export { KeygenError, writeKeyPair, type WrittenKeyPair } from "./keygen.ts";
export { type AuthenticatorOptions, type Refusal, ZapAuthenticator } from "./zap_authenticator.ts";
export { ZapState } from "./zap_state.ts";
export { type KeygenOptions, runKeygen } from "./keygen_command.ts";
