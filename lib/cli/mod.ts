/**
 * The command line: arguments and environment become typed options for each command.
 *
 * @module
 */

export {
  checkEndpoint,
  type Config,
  DEFAULT_BIND,
  DEFAULT_CACHE_CHARS,
  DEFAULT_CACHE_SIZE,
  DEFAULT_HWM,
  DEFAULT_KEY_PREFIX,
  httpAddress,
  KEYGEN_USAGE,
  type KeygenConfig,
  parseConfig,
  parseKeygenConfig,
  USAGE,
  UsageError,
} from "./config.ts";
