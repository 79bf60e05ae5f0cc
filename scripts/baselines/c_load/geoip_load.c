/*
 * geoip_load: the bench's load generator. Native, so that it costs the server under test
 * little of the cores they share: one thread per client, each with its own libzmq socket,
 * sending `geoip` requests of one or more addresses for a fixed time and reporting
 * requests/s, latency percentiles, errors and the server's CPU time over the measured window.
 *
 *   cc -O2 -Wall -pthread -o geoip_load geoip_load.c -lzmq -lm
 *   ./geoip_load --endpoint tcp://127.0.0.1:5555 --socket dealer --clients 4 --in-flight 16 \
 *       --shape uniform --seconds 3 --warmup 1 --server-pid 1234
 *   ./geoip_load --print 5 --shape zipf --seed 1      (the first 5 addresses, one a line)
 *
 * Clients: REQ sockets in lock-step (one request in flight), or DEALERs with --in-flight
 * requests each. A DEALER sends [send time, empty, request]; REP and geoipmq's ROUTER send
 * the envelope back in front of the reply, so each reply carries its own send time.
 *
 * Address shapes (--seed fixes every one of them):
 *   uniform  the whole IPv4 space in a random order, never repeated: address i of a run is
 *            a bijection of (offset + i) over 32 bits, each thread taking every Nth i;
 *   pool     the addresses of --file (one a line), or --universe addresses made here, cycled;
 *   zipf     Zipf's law (s = 1) over --universe distinct addresses (default 1,000,000):
 *            rank k is asked with probability proportional to 1/k;
 *   same     --address again and again (default 81.2.69.142);
 *   v6       random IPv6 addresses in eight busy /16 blocks of the regional registries
 *            (2001::, 2409::, 240e::, 2601::, 2603::, 2a01::, 2a02::, 2804::).
 *
 * Output: one line of JSON on stdout. Every wait has a deadline (--timeout-ms): a request
 * unanswered that long counts as a timeout, and the program ends at most that long after
 * the measured window. Exit status 0, or 2 on bad arguments, 1 when it cannot run.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_CLIENTS 256
#define MAX_IN_FLIGHT 1024
#define MAX_BATCH 1000
#define MAX_ADDRESS 46
#define MAX_POOL 20000000
/* Latency histogram: 1 µs buckets up to 65.5 ms, then 1 ms buckets up to 65.5 s. */
#define FINE 65536
#define COARSE 65536

/* v6: busy /16 blocks of the regional registries (random addresses in the whole of 2000::/3
 * are almost all NOT_FOUND; in these, about a quarter are found in GeoLite2-City). */
static const uint16_t V6_PREFIXES[] = {0x2001, 0x2409, 0x240e, 0x2601, 0x2603, 0x2a01, 0x2a02, 0x2804};

enum shape_kind { UNIFORM, POOL, ZIPF, SAME, V6 };

struct options {
    const char *endpoint, *file, *address, *shape_name;
    enum shape_kind shape;
    int dealer, clients, in_flight, batch, print, timeout_ms, server_pid;
    uint64_t seed, offset, universe;
    double seconds, warmup;
};

/* What every thread reads: the shape's data and the clock marks. */
struct shared {
    const struct options *options;
    void *context;
    char **pool;        /* POOL: the addresses */
    size_t pool_count;
    double *zipf;       /* ZIPF: cumulative weights of ranks 1..universe */
    uint64_t measure_at, end_at; /* CLOCK_MONOTONIC ns */
};

/* One client's numbers. */
struct client {
    const struct shared *shared;
    int index;
    uint64_t counter, rng;
    uint64_t replies, lookups, errors, timeouts, not_found, late;
    char example[160];
    uint32_t fine[FINE], coarse[COARSE];
    pthread_t thread;
};

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void sleep_until(uint64_t at) {
    struct timespec t = {(time_t)(at / 1000000000u), (long)(at % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {
    }
}

/* A bijection of 32-bit integers (lowbias32). */
static uint32_t lowbias32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

/* Address i of stream `stream` under `seed`: a bijection of i for each (seed, stream). */
static uint32_t mix32(uint32_t i, uint32_t seed, uint32_t stream) {
    uint32_t key = lowbias32(seed * 0x9e3779b9u + stream * 0x85ebca6bu + 0x6a09e667u);
    return lowbias32(lowbias32(i ^ key) + key);
}

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static int format_ipv4(char *out, uint32_t a) {
    return sprintf(out, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static int format_ipv6(char *out, uint64_t *rng) {
    uint64_t high = splitmix64(rng), low = splitmix64(rng);
    uint16_t first = V6_PREFIXES[(high >> 48) % (sizeof V6_PREFIXES / sizeof V6_PREFIXES[0])];
    return sprintf(out, "%x:%x:%x:%x:%x:%x:%x:%x", first, (unsigned)((high >> 32) & 0xffff),
                   (unsigned)((high >> 16) & 0xffff), (unsigned)(high & 0xffff),
                   (unsigned)(low >> 48), (unsigned)((low >> 32) & 0xffff),
                   (unsigned)((low >> 16) & 0xffff), (unsigned)(low & 0xffff));
}

/* The rank (0-based) whose cumulative weight first exceeds u. */
static uint64_t zipf_rank(const double *cumulative, uint64_t n, double u) {
    uint64_t low = 0, high = n - 1;
    while (low < high) {
        uint64_t middle = low + (high - low) / 2;
        if (cumulative[middle] > u) high = middle;
        else low = middle + 1;
    }
    return low;
}

/* Writes the client's next address; returns its length. */
static int next_address(struct client *c, char *out) {
    const struct shared *s = c->shared;
    const struct options *o = s->options;
    uint64_t i = o->offset + c->counter;
    c->counter += (uint64_t)o->clients;
    uint32_t seed = (uint32_t)o->seed;
    switch (o->shape) {
    case UNIFORM:
        return format_ipv4(out, mix32((uint32_t)i, seed, 0));
    case POOL: {
        const char *text = s->pool[i % s->pool_count];
        size_t length = strlen(text);
        memcpy(out, text, length + 1);
        return (int)length;
    }
    case ZIPF: {
        double u = (double)(splitmix64(&c->rng) >> 11) * 0x1.0p-53 * s->zipf[o->universe - 1];
        return format_ipv4(out, mix32((uint32_t)zipf_rank(s->zipf, o->universe, u), seed, 1));
    }
    case SAME:
        strcpy(out, o->address);
        return (int)strlen(o->address);
    case V6:
        return format_ipv6(out, &c->rng);
    }
    return 0;
}

/* `geoip a b c`: --batch addresses. */
static size_t build_request(struct client *c, char *out) {
    size_t length = 5;
    memcpy(out, "geoip", 5);
    for (int n = 0; n < c->shared->options->batch; n++) {
        out[length++] = ' ';
        length += (size_t)next_address(c, out + length);
    }
    return length;
}

static void note(struct client *c, const char *problem, const char *data, size_t size) {
    c->errors++;
    if (c->example[0] != '\0') return;
    int shown = size > 80 ? 80 : (int)size;
    snprintf(c->example, sizeof c->example, "%s: %.*s", problem, shown, data);
    for (char *p = c->example; *p; p++)
        if (*p == '\t' || *p == '\n' || *p == '"' || *p == '\\' || (unsigned char)*p < 32) *p = ' ';
}

/* Checks a reply (one line per address, none an ERROR) and records it if in the window. */
static void account(struct client *c, const char *data, size_t size, uint64_t sent_at) {
    int batch = c->shared->options->batch;
    int lines = 1;
    uint64_t not_found = 0;
    const char *line = data, *end = data + size;
    for (;;) {
        if (end - line >= 5 && memcmp(line, "ERROR", 5) == 0) {
            note(c, "error reply", line, (size_t)(end - line));
            return;
        }
        if (end - line >= 9 && memcmp(line, "NOT_FOUND", 9) == 0) not_found++;
        const char *newline = memchr(line, '\n', (size_t)(end - line));
        if (newline == NULL) break;
        line = newline + 1;
        lines++;
    }
    if (lines != batch) {
        note(c, "wrong line count", data, size);
        return;
    }
    uint64_t at = now_ns();
    if (at < c->shared->measure_at || at >= c->shared->end_at) return;
    c->replies++;
    c->lookups += (uint64_t)batch;
    c->not_found += not_found;
    uint64_t micros = (at - sent_at) / 1000;
    if (micros < FINE) c->fine[micros]++;
    else c->coarse[micros / 1000 < COARSE ? micros / 1000 : COARSE - 1]++;
}

static void *open_socket(struct client *c, int type) {
    const struct options *o = c->shared->options;
    void *socket = zmq_socket(c->shared->context, type);
    int zero = 0, one = 1;
    zmq_setsockopt(socket, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(socket, ZMQ_SNDTIMEO, &o->timeout_ms, sizeof o->timeout_ms);
    zmq_setsockopt(socket, ZMQ_RCVTIMEO, &o->timeout_ms, sizeof o->timeout_ms);
    if (type == ZMQ_REQ) {
        /* After a timeout, a new request may be sent; a late reply to the old one is dropped. */
        zmq_setsockopt(socket, ZMQ_REQ_RELAXED, &one, sizeof one);
        zmq_setsockopt(socket, ZMQ_REQ_CORRELATE, &one, sizeof one);
    }
    if (zmq_connect(socket, o->endpoint) != 0) {
        fprintf(stderr, "geoip_load: cannot connect to %s: %s\n", o->endpoint,
                zmq_strerror(zmq_errno()));
        exit(1);
    }
    return socket;
}

/* Waits for a reply until `deadline` (ns); returns whether one can be read. */
static int wait_readable(void *socket, uint64_t deadline) {
    uint64_t at = now_ns();
    if (at >= deadline) return 0;
    zmq_pollitem_t item = {socket, 0, ZMQ_POLLIN, 0};
    long ms = (long)((deadline - at + 999999) / 1000000);
    int ready = zmq_poll(&item, 1, ms);
    return ready > 0 && (item.revents & ZMQ_POLLIN);
}

static void *run_req(void *argument) {
    struct client *c = argument;
    void *socket = open_socket(c, ZMQ_REQ);
    static __thread char request[MAX_BATCH * (MAX_ADDRESS + 1) + 8];
    zmq_msg_t reply;
    zmq_msg_init(&reply);
    while (now_ns() < c->shared->end_at) {
        size_t length = build_request(c, request);
        uint64_t sent_at = now_ns();
        if (zmq_send(socket, request, length, 0) < 0) {
            note(c, "send failed", zmq_strerror(zmq_errno()), 40);
            break;
        }
        /* A blocking receive (ZMQ_RCVTIMEO) costs less than a poll and then a receive. */
        int size = zmq_msg_recv(&reply, socket, 0);
        if (size < 0) {
            if (zmq_errno() == EAGAIN) c->timeouts++;
            continue;
        }
        account(c, zmq_msg_data(&reply), (size_t)size, sent_at);
    }
    zmq_msg_close(&reply);
    zmq_close(socket);
    return NULL;
}

/* Reads one [send time, empty, reply] message; returns 0 when none was waiting. */
static int receive_dealer(struct client *c, void *socket) {
    zmq_msg_t frames[3];
    int count = 0, more = 1;
    while (more) {
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, socket, count == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&frame);
            return count;
        }
        more = zmq_msg_more(&frame);
        if (count < 3) frames[count] = frame;
        else zmq_msg_close(&frame);
        count++;
    }
    uint64_t sent_at = 0;
    if (count != 3 || zmq_msg_size(&frames[0]) != sizeof sent_at) {
        note(c, "unexpected envelope", "", 0);
    } else {
        memcpy(&sent_at, zmq_msg_data(&frames[0]), sizeof sent_at);
        account(c, zmq_msg_data(&frames[2]), zmq_msg_size(&frames[2]), sent_at);
    }
    for (int i = 0; i < count && i < 3; i++) zmq_msg_close(&frames[i]);
    return 1;
}

static void *run_dealer(void *argument) {
    struct client *c = argument;
    const struct options *o = c->shared->options;
    void *socket = open_socket(c, ZMQ_DEALER);
    static __thread char request[MAX_BATCH * (MAX_ADDRESS + 1) + 8];
    uint64_t timeout = (uint64_t)o->timeout_ms * 1000000u;
    int in_flight = 0;
    for (;;) {
        uint64_t at = now_ns();
        while (at < c->shared->end_at && in_flight < o->in_flight) {
            size_t length = build_request(c, request);
            if (zmq_send(socket, &at, sizeof at, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) break;
            zmq_send(socket, "", 0, ZMQ_SNDMORE);
            zmq_send(socket, request, length, 0);
            in_flight++;
            at = now_ns();
        }
        if (in_flight == 0) break;
        if (!wait_readable(socket, now_ns() + timeout)) {
            c->timeouts += (uint64_t)in_flight; /* nothing for a whole timeout: give them up */
            in_flight = 0;
            if (now_ns() >= c->shared->end_at) break;
            continue;
        }
        while (in_flight > 0 && receive_dealer(c, socket)) in_flight--;
    }
    zmq_close(socket);
    return NULL;
}

/* utime + stime of a process from /proc/<pid>/stat, in seconds; -1 when unreadable. */
static double process_cpu_seconds(int pid) {
    char path[64], text[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *file = fopen(path, "r");
    if (file == NULL) return -1;
    size_t size = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[size] = '\0';
    char *p = strrchr(text, ')');
    if (p == NULL) return -1;
    unsigned long user = 0, system = 0;
    /* After ") ": state, then fields 4..13; utime and stime are fields 14 and 15. */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &user, &system) != 2)
        return -1;
    return (double)(user + system) / (double)sysconf(_SC_CLK_TCK);
}

static double own_cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
           (double)usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static void usage_error(const char *problem, const char *value) {
    fprintf(stderr, "geoip_load: %s \"%s\"\n", problem, value);
    fprintf(stderr,
            "usage: geoip_load --endpoint E [--socket req|dealer] [--clients N] [--in-flight K]\n"
            "                  [--batch B] [--shape uniform|pool|zipf|same|v6] [--file PATH]\n"
            "                  [--universe N] [--address A] [--seed S] [--offset N]\n"
            "                  [--warmup S] [--seconds S] [--server-pid PID] [--timeout-ms MS]\n"
            "       geoip_load --print N [shape options]\n");
    exit(2);
}

static double number(const char *name, const char *text, double min, double max) {
    char *end = NULL;
    double value = strtod(text, &end);
    if (end == text || *end != '\0' || !(value >= min && value <= max))
        usage_error(name, text);
    return value;
}

static void parse_options(int argc, char **argv, struct options *o) {
    *o = (struct options){.endpoint = NULL, .address = "81.2.69.142", .shape_name = "uniform",
                          .clients = 1, .in_flight = 1, .batch = 1, .timeout_ms = 2000,
                          .seed = 1, .universe = 0, .seconds = 3, .warmup = 1};
    for (int i = 1; i < argc; i += 2) {
        const char *name = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (value == NULL) usage_error("missing value after", name);
        if (!strcmp(name, "--endpoint")) o->endpoint = value;
        else if (!strcmp(name, "--socket")) {
            if (strcmp(value, "req") && strcmp(value, "dealer")) usage_error("bad --socket", value);
            o->dealer = !strcmp(value, "dealer");
        } else if (!strcmp(name, "--clients")) o->clients = (int)number(name, value, 1, MAX_CLIENTS);
        else if (!strcmp(name, "--in-flight")) o->in_flight = (int)number(name, value, 1, MAX_IN_FLIGHT);
        else if (!strcmp(name, "--batch")) o->batch = (int)number(name, value, 1, MAX_BATCH);
        else if (!strcmp(name, "--shape")) o->shape_name = value;
        else if (!strcmp(name, "--file")) o->file = value;
        else if (!strcmp(name, "--universe")) o->universe = (uint64_t)number(name, value, 1, MAX_POOL);
        else if (!strcmp(name, "--address")) o->address = value;
        else if (!strcmp(name, "--seed")) o->seed = (uint64_t)number(name, value, 0, 4294967295.0);
        else if (!strcmp(name, "--offset")) o->offset = (uint64_t)number(name, value, 0, 1e18);
        else if (!strcmp(name, "--warmup")) o->warmup = number(name, value, 0, 3600);
        else if (!strcmp(name, "--seconds")) o->seconds = number(name, value, 0.01, 3600);
        else if (!strcmp(name, "--server-pid")) o->server_pid = (int)number(name, value, 1, 1e9);
        else if (!strcmp(name, "--timeout-ms")) o->timeout_ms = (int)number(name, value, 1, 600000);
        else if (!strcmp(name, "--print")) o->print = (int)number(name, value, 1, MAX_POOL);
        else usage_error("unknown option", name);
    }
    static const char *const names[] = {"uniform", "pool", "zipf", "same", "v6"};
    o->shape = (enum shape_kind)-1;
    for (int k = 0; k < 5; k++)
        if (!strcmp(o->shape_name, names[k])) o->shape = (enum shape_kind)k;
    if ((int)o->shape < 0) usage_error("unknown --shape", o->shape_name);
    if (strlen(o->address) >= MAX_ADDRESS) usage_error("--address too long", o->address);
    if (o->universe == 0) o->universe = o->shape == ZIPF ? 1000000 : 100000;
    if (o->print == 0 && o->endpoint == NULL) usage_error("missing", "--endpoint");
    if (!o->dealer) o->in_flight = 1;
}

/* The pool: the lines of --file, or --universe distinct addresses of the seed. */
static void load_pool(struct shared *s) {
    const struct options *o = s->options;
    s->pool = malloc(sizeof(char *) * (o->file ? MAX_POOL : o->universe));
    if (o->file == NULL) {
        for (uint64_t k = 0; k < o->universe; k++) {
            char text[MAX_ADDRESS];
            format_ipv4(text, mix32((uint32_t)k, (uint32_t)o->seed, 2));
            s->pool[s->pool_count++] = strdup(text);
        }
        return;
    }
    FILE *file = fopen(o->file, "r");
    if (file == NULL) usage_error("cannot read --file", o->file);
    char line[256];
    while (s->pool_count < MAX_POOL && fgets(line, sizeof line, file)) {
        line[strcspn(line, " \t\r\n")] = '\0';
        if (line[0] == '\0') continue;
        if (strlen(line) >= MAX_ADDRESS) usage_error("address too long in --file", line);
        s->pool[s->pool_count++] = strdup(line);
    }
    fclose(file);
    if (s->pool_count == 0) usage_error("no address in --file", o->file);
}

static void load_zipf(struct shared *s) {
    uint64_t n = s->options->universe;
    s->zipf = malloc(sizeof(double) * n);
    double sum = 0;
    for (uint64_t k = 0; k < n; k++) s->zipf[k] = sum += 1.0 / (double)(k + 1);
}

static void init_client(struct client *c, const struct shared *s, int index) {
    memset(c, 0, sizeof *c);
    c->shared = s;
    c->index = index;
    c->counter = (uint64_t)index;
    c->rng = s->options->seed * 0x9e3779b97f4a7c15u ^ (s->options->offset + 1) * 0xd1b54a32d192ed03u ^
             (uint64_t)(index + 1) * 0x8cb92ba72f3d8dd7u;
}

/* The value at quantile q of the merged histograms, in microseconds. */
static double percentile(struct client *clients, int count, uint64_t total, double q) {
    if (total == 0) return -1;
    uint64_t wanted = (uint64_t)ceil(q * (double)total), seen = 0;
    if (wanted == 0) wanted = 1;
    for (int b = 0; b < FINE + COARSE; b++) {
        for (int i = 0; i < count; i++)
            seen += b < FINE ? clients[i].fine[b] : clients[i].coarse[b - FINE];
        if (seen >= wanted) return b < FINE ? b + 0.5 : (b - FINE) * 1000.0 + 500;
    }
    return -1;
}

static void report(struct client *clients, const struct options *o, double seconds,
                   double server_cpu, double own_cpu) {
    uint64_t replies = 0, lookups = 0, errors = 0, timeouts = 0, not_found = 0;
    const char *example = "";
    for (int i = 0; i < o->clients; i++) {
        replies += clients[i].replies;
        lookups += clients[i].lookups;
        errors += clients[i].errors;
        timeouts += clients[i].timeouts;
        not_found += clients[i].not_found;
        if (example[0] == '\0') example = clients[i].example;
    }
    printf("{\"shape\":\"%s\",\"socket\":\"%s\",\"clients\":%d,\"inFlight\":%d,\"batch\":%d,"
           "\"seconds\":%.6f,\"replies\":%llu,\"lookups\":%llu,\"requestsPerSecond\":%.1f,"
           "\"lookupsPerSecond\":%.1f,\"p50Us\":%.1f,\"p99Us\":%.1f,\"errors\":%llu,"
           "\"timeouts\":%llu,\"notFound\":%llu,\"errorExample\":\"%s\","
           "\"serverCpuSeconds\":",
           o->shape_name, o->dealer ? "dealer" : "req", o->clients, o->in_flight, o->batch,
           seconds, (unsigned long long)replies, (unsigned long long)lookups, replies / seconds,
           lookups / seconds, percentile(clients, o->clients, replies, 0.50),
           percentile(clients, o->clients, replies, 0.99), (unsigned long long)errors,
           (unsigned long long)timeouts, (unsigned long long)not_found, example);
    if (server_cpu < 0) printf("null");
    else printf("%.3f", server_cpu);
    printf(",\"generatorCpuSeconds\":%.3f}\n", own_cpu);
}

static int print_addresses(const struct shared *s) {
    struct client *c = malloc(sizeof *c);
    init_client(c, s, 0);
    char text[MAX_ADDRESS];
    for (int n = 0; n < s->options->print; n++) {
        next_address(c, text);
        puts(text);
    }
    free(c);
    return 0;
}

int main(int argc, char **argv) {
    struct options o;
    parse_options(argc, argv, &o);
    struct shared s = {.options = &o};
    if (o.shape == POOL) load_pool(&s);
    if (o.shape == ZIPF) load_zipf(&s);
    if (o.print > 0) {
        o.clients = 1;
        return print_addresses(&s);
    }
    s.context = zmq_ctx_new();
    uint64_t start = now_ns();
    s.measure_at = start + (uint64_t)(o.warmup * 1e9);
    s.end_at = s.measure_at + (uint64_t)(o.seconds * 1e9);
    struct client *clients = calloc((size_t)o.clients, sizeof *clients);
    for (int i = 0; i < o.clients; i++) {
        init_client(&clients[i], &s, i);
        pthread_create(&clients[i].thread, NULL, o.dealer ? run_dealer : run_req, &clients[i]);
    }
    sleep_until(s.measure_at);
    double server0 = o.server_pid ? process_cpu_seconds(o.server_pid) : -1;
    double own0 = own_cpu_seconds();
    sleep_until(s.end_at);
    double server1 = o.server_pid ? process_cpu_seconds(o.server_pid) : -1;
    double own1 = own_cpu_seconds();
    for (int i = 0; i < o.clients; i++) pthread_join(clients[i].thread, NULL);
    zmq_ctx_term(s.context);
    report(clients, &o, o.seconds, server0 < 0 || server1 < 0 ? -1 : server1 - server0,
           own1 - own0);
    free(clients);
    return 0;
}
