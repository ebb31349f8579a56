/* A small HTTP load generator for bench/web: C connections, each a thread
 * sending GET requests one after another (a new TCP connection per
 * request, as the server closes after each answer) for a fixed time,
 * cycling through the URL paths given. Prints requests, errors, requests
 * per second and latency percentiles in milliseconds.
 *
 *   bench_web_loadgen PORT SECONDS CONNECTIONS TOKEN PATH...
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 2000000

typedef struct shared {
    int port;
    double seconds;
    const char *token;
    char **paths;
    int npaths;
    pthread_mutex_t lock;
    double *lat;
    size_t nlat;
    long errors;
} shared;

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One request; returns the HTTP status or -1. */
static int get(const shared *s, const char *path)
{
    struct sockaddr_in a;
    char req[2048], buf[65536], head[64];
    int fd, status = -1, one = 1;
    size_t hl = 0;
    ssize_t n;

    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)s->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        goto out;
    n = snprintf(req, sizeof req,
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                 "Connection: close\r\n\r\n", path, s->token);
    if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n)
        goto out;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        size_t c = sizeof head - 1 - hl;
        if (c > (size_t)n)
            c = (size_t)n;
        memcpy(head + hl, buf, c);
        hl += c;
    }
    head[hl] = '\0';
    if (sscanf(head, "HTTP/1.%*d %d", &status) != 1)
        status = -1;
out:
    close(fd);
    return status;
}

static void *run(void *arg)
{
    shared *s = arg;
    double end = now_ms() + s->seconds * 1e3;
    unsigned k = (unsigned)(size_t)pthread_self();

    while (now_ms() < end) {
        const char *path = s->paths[k++ % (unsigned)s->npaths];
        double t0 = now_ms();
        int st = get(s, path);
        double dt = now_ms() - t0;
        pthread_mutex_lock(&s->lock);
        if (st != 200)
            s->errors++;
        else if (s->nlat < MAX_SAMPLES)
            s->lat[s->nlat++] = dt;
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double pct(const double *v, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);

    return n ? v[i < n ? i : n - 1] : 0;
}

int main(int argc, char **argv)
{
    shared s;
    pthread_t *th;
    int conns, i;
    double t0, wall;

    if (argc < 6) {
        fprintf(stderr, "usage: %s PORT SECONDS CONNECTIONS TOKEN PATH...\n", argv[0]);
        return 2;
    }
    memset(&s, 0, sizeof s);
    s.port = (int)strtol(argv[1], NULL, 10);
    s.seconds = strtod(argv[2], NULL);
    conns = (int)strtol(argv[3], NULL, 10);
    s.token = argv[4];
    s.paths = argv + 5;
    s.npaths = argc - 5;
    pthread_mutex_init(&s.lock, NULL);
    if (conns < 1 || conns > 1000 || (s.lat = malloc(MAX_SAMPLES * sizeof *s.lat)) == NULL ||
        (th = calloc((size_t)conns, sizeof *th)) == NULL) {
        fprintf(stderr, "bad arguments or no memory\n");
        return 2;
    }
    t0 = now_ms();
    for (i = 0; i < conns; i++)
        if (pthread_create(&th[i], NULL, run, &s) != 0)
            return 1;
    for (i = 0; i < conns; i++)
        pthread_join(th[i], NULL);
    wall = (now_ms() - t0) / 1e3;
    qsort(s.lat, s.nlat, sizeof *s.lat, cmp);
    printf("%8zu %6ld %9.0f %8.2f %8.2f %8.2f %8.2f\n", s.nlat, s.errors, (double)s.nlat / wall,
           pct(s.lat, s.nlat, 0.50), pct(s.lat, s.nlat, 0.90), pct(s.lat, s.nlat, 0.99),
           s.nlat ? s.lat[s.nlat - 1] : 0);
    free(s.lat);
    free(th);
    return s.errors ? 1 : 0;
}
