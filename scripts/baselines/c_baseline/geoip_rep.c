/*
 * geoip_rep: the plain C loop geoipmq is measured against. One thread, one libzmq REP
 * socket, libmaxminddb on an mmap'ed database; it answers geoipmq's `geoip` and `ping`
 * requests with geoipmq's reply format (docs/PROTOCOL.md).
 *
 *   cc -O2 -Wall -o geoip_rep geoip_rep.c -lzmq -lmaxminddb
 *   ./geoip_rep tcp://127.0.0.1:5556 GeoLite2-City.mmdb
 *
 * It prints "geoip_rep: ready on <endpoint> (...)" on stderr once bound, and stops
 * cleanly on SIGTERM or SIGINT. Addresses are parsed by libmaxminddb (getaddrinfo), which
 * is laxer than geoipmq: the benchmark only sends well-formed addresses.
 */
#include <errno.h>
#include <maxminddb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define MAX_REQUEST_BYTES 65536

/* A growable output buffer. */
struct out {
    char *data;
    size_t length, capacity;
};

static void reserve(struct out *out, size_t more) {
    if (out->length + more <= out->capacity) return;
    while (out->length + more > out->capacity) out->capacity *= 2;
    out->data = realloc(out->data, out->capacity);
    if (out->data == NULL) { perror("geoip_rep: realloc"); exit(1); }
}

static void append(struct out *out, const char *bytes, size_t length) {
    reserve(out, length);
    memcpy(out->data + out->length, bytes, length);
    out->length += length;
}

#define append_literal(out, text) append(out, text, sizeof text - 1)

/* printf into the buffer; every format used here gives well under 256 bytes. */
static void appendf(struct out *out, const char *format, ...) {
    char text[256];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(text, sizeof text, format, args);
    va_end(args);
    append(out, text, length < (int)sizeof text ? (size_t)length : sizeof text - 1);
}

static const char *const COUNTRY[] = {"country", "iso_code", NULL};
static const char *const SUBDIVISION[] = {"subdivisions", "0", "iso_code", NULL};
static const char *const CITY[] = {"city", "names", "en", NULL};
static const char *const POSTAL[] = {"postal", "code", NULL};
static const char *const LATITUDE[] = {"location", "latitude", NULL};
static const char *const LONGITUDE[] = {"location", "longitude", NULL};
static const char *const METRO[] = {"location", "metro_code", NULL};

/* Looks up a path; returns whether it holds a value of the wanted type. */
static int value(MMDB_entry_s *entry, const char *const *path, uint32_t type,
                 MMDB_entry_data_s *data) {
    return MMDB_aget_value(entry, data, path) == MMDB_SUCCESS && data->has_data &&
           data->type == type;
}

/* A string field; tabs and line breaks become spaces so a line keeps 8 fields. */
static void append_string(struct out *out, MMDB_entry_s *entry, const char *const *path) {
    MMDB_entry_data_s data;
    if (!value(entry, path, MMDB_DATA_TYPE_UTF8_STRING, &data)) {
        append_literal(out, "(null)");
        return;
    }
    size_t start = out->length;
    append(out, data.utf8_string, data.data_size);
    for (size_t i = start; i < out->length; i++) {
        char c = out->data[i];
        if (c == '\t' || c == '\n' || c == '\r') out->data[i] = ' ';
    }
}

/* One address: the eight tab-separated fields, NOT_FOUND, or an ERROR line. */
static void append_lookup(struct out *out, const MMDB_s *mmdb, const char *ip) {
    int gai_error = 0, mmdb_error = MMDB_SUCCESS;
    MMDB_lookup_result_s result = MMDB_lookup_string(mmdb, ip, &gai_error, &mmdb_error);
    if (gai_error != 0) {
        appendf(out, "ERROR\tinvalid IP address \"%.40s\"", ip);
        return;
    }
    if (mmdb_error != MMDB_SUCCESS) {
        appendf(out, "ERROR\tdatabase error for \"%.40s\": %s", ip, MMDB_strerror(mmdb_error));
        return;
    }
    if (!result.found_entry) {
        append_literal(out, "NOT_FOUND");
        return;
    }
    MMDB_entry_s *entry = &result.entry;
    MMDB_entry_data_s data;
    const char *const *strings[] = {COUNTRY, SUBDIVISION, CITY, POSTAL};
    for (int i = 0; i < 4; i++) {
        append_string(out, entry, strings[i]);
        append_literal(out, "\t");
    }
    const char *const *coordinates[] = {LATITUDE, LONGITUDE};
    for (int i = 0; i < 2; i++) {
        if (value(entry, coordinates[i], MMDB_DATA_TYPE_DOUBLE, &data))
            appendf(out, "%f\t", data.double_value);
        else
            append_literal(out, "(null)\t");
    }
    if (value(entry, METRO, MMDB_DATA_TYPE_UINT16, &data)) appendf(out, "%u", data.uint16);
    else append_literal(out, "(null)");
    append_literal(out, "\t(null)"); /* GeoIP2 has no area code */
}

/* Answers one request (a NUL-terminated, writable copy of the frame). */
static void respond(struct out *out, const MMDB_s *mmdb, char *request) {
    const char *separators = " \t\r\n";
    char *save = NULL;
    char *verb = strtok_r(request, separators, &save);
    if (verb == NULL) {
        append_literal(out, "ERROR\tempty request");
    } else if (strcmp(verb, "ping") == 0) {
        append_literal(out, "pong");
    } else if (strcmp(verb, "geoip") == 0) {
        char *ip = strtok_r(NULL, separators, &save);
        if (ip == NULL) append_literal(out, "ERROR\t\"geoip\" needs an IP address");
        for (int n = 0; ip != NULL; ip = strtok_r(NULL, separators, &save), n++) {
            if (n > 0) append_literal(out, "\n");
            append_lookup(out, mmdb, ip);
        }
    } else {
        appendf(out, "ERROR\tunknown command \"%.40s\"; expected one of geoip, ping", verb);
    }
}

static volatile sig_atomic_t stopping = 0;

static void on_signal(int signal) {
    (void)signal;
    stopping = 1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s ENDPOINT DATABASE.mmdb\n", argv[0]);
        return 2;
    }
    MMDB_s mmdb;
    int status = MMDB_open(argv[2], MMDB_MODE_MMAP, &mmdb);
    if (status != MMDB_SUCCESS) {
        fprintf(stderr, "geoip_rep: cannot open %s: %s\n", argv[2], MMDB_strerror(status));
        return 1;
    }
    void *context = zmq_ctx_new();
    void *socket = zmq_socket(context, ZMQ_REP);
    int linger = 0;
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(socket, argv[1]) != 0) {
        fprintf(stderr, "geoip_rep: cannot bind %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
        return 1;
    }
    /* No SA_RESTART: a signal makes the blocking zmq_recv return EINTR. */
    struct sigaction action = {0};
    action.sa_handler = on_signal;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);

    char endpoint[256] = "";
    size_t endpoint_size = sizeof endpoint;
    zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, endpoint, &endpoint_size);
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    fprintf(stderr, "geoip_rep: ready on %s (libzmq %d.%d.%d, libmaxminddb %s, %s)\n", endpoint,
            major, minor, patch, MMDB_lib_version(), mmdb.metadata.database_type);

    static char request[MAX_REQUEST_BYTES + 1];
    struct out out = {malloc(65536), 0, 65536};
    while (!stopping) {
        int size = zmq_recv(socket, request, MAX_REQUEST_BYTES, 0);
        if (size < 0) {
            if (zmq_errno() == EINTR) continue;
            fprintf(stderr, "geoip_rep: receive failed: %s\n", zmq_strerror(zmq_errno()));
            break;
        }
        out.length = 0;
        int more = 0;
        size_t more_size = sizeof more;
        zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &more_size);
        if (more) {
            while (more && zmq_recv(socket, request, MAX_REQUEST_BYTES, 0) >= 0)
                zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &more_size);
            append_literal(&out, "ERROR\ta request must be a single frame");
        } else if (size > MAX_REQUEST_BYTES) {
            appendf(&out, "ERROR\trequest larger than %d bytes", MAX_REQUEST_BYTES);
        } else {
            request[size] = '\0';
            respond(&out, &mmdb, request);
        }
        while (zmq_send(socket, out.data, out.length, 0) < 0 && zmq_errno() == EINTR && !stopping) {
        }
    }
    free(out.data);
    zmq_close(socket);
    zmq_ctx_term(context);
    MMDB_close(&mmdb);
    return 0;
}
