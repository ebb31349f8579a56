/* A fast fake OpenAI-compatible server for the evaluator benchmark: one
 * thread, epoll, HTTP/1.1 keep-alive, every POST answered with the same
 * chat completion after a fixed latency. It stands for a model server so
 * that the benchmark measures assay, not the server (the Python fake of
 * the tests tops out at a few thousand requests per second).
 *
 * usage: bench_fakeserver [--latency-ms N] [--port P]
 * Prints the port it listens on (127.0.0.1), then serves until killed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 4096
#define BUF_MAX (1 << 20)

typedef struct conn {
    int fd;
    char *buf;
    size_t len;
    double due_ms;      /* a response is pending when > 0 */
} conn;

static const char body[] =
    "{\"id\":\"x\",\"object\":\"chat.completion\",\"model\":\"bench\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"positive\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":1,\"total_tokens\":13}}";

static conn conns[MAX_CONN];

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void drop(int ep, conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

/* A whole request in c->buf: its length, else 0. */
static size_t request_len(const conn *c)
{
    const char *end, *cl;
    size_t head;
    long n = 0;

    end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    head = (size_t)(end - c->buf) + 4;
    cl = memmem(c->buf, head, "Content-Length:", 15);
    if (cl == NULL)
        cl = memmem(c->buf, head, "content-length:", 15);
    if (cl)
        n = strtol(cl + 15, NULL, 10);
    if (n < 0 || head + (size_t)n > c->len)
        return 0;
    return head + (size_t)n;
}

static int respond(conn *c)
{
    char out[1024];
    int n = snprintf(out, sizeof(out),
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s", sizeof(body) - 1, body);
    size_t off = 0;

    while (off < (size_t)n) {
        ssize_t w = write(c->fd, out + off, (size_t)n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

/* Consume one request if complete and schedule its answer. */
static void take_request(conn *c, double latency)
{
    size_t n = request_len(c);

    if (n == 0 || c->due_ms > 0)
        return;
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
    c->due_ms = now_ms() + latency;
}

int main(int argc, char **argv)
{
    double latency = 0;
    int port = 0, lfd, ep, i, one = 1;
    struct sockaddr_in addr;
    socklen_t alen = sizeof(addr);
    struct epoll_event ev, evs[256];

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--latency-ms") == 0)
            latency = strtod(argv[i + 1], NULL);
        else if (strcmp(argv[i], "--port") == 0)
            port = (int)strtol(argv[i + 1], NULL, 10);
    }
    for (i = 0; i < MAX_CONN; i++)
        conns[i].fd = -1;
    if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((unsigned short)port);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 1024) < 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) {
        perror("bench_fakeserver");
        return 1;
    }
    printf("%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    if ((ep = epoll_create1(0)) < 0)
        return 1;
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        double t = now_ms(), next = -1;
        int n;
        for (i = 0; i < MAX_CONN; i++) {
            conn *c = &conns[i];
            if (c->fd < 0 || c->due_ms <= 0)
                continue;
            if (c->due_ms <= t) {
                c->due_ms = 0;
                if (respond(c) < 0) {
                    drop(ep, c);
                    continue;
                }
                take_request(c, latency);   /* a pipelined next request */
            }
            if (c->due_ms > 0 && (next < 0 || c->due_ms < next))
                next = c->due_ms;
        }
        {
            /* wait exactly until the next answer is due (epoll_wait's
             * millisecond timeout would add up to 1 ms to each answer) */
            double wait_ms = next < 0 ? 1000 : next - now_ms();
            struct timespec ts;
            if (wait_ms < 0)
                wait_ms = 0;
            ts.tv_sec = (time_t)(wait_ms / 1000);
            ts.tv_nsec = (long)((wait_ms - (double)ts.tv_sec * 1000) * 1e6);
            n = epoll_pwait2(ep, evs, 256, &ts, NULL);
        }
        for (i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (c == NULL) {
                int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK), k;
                if (fd < 0)
                    continue;
                for (k = 0; k < MAX_CONN && conns[k].fd >= 0; k++)
                    ;
                if (k == MAX_CONN || (conns[k].buf = malloc(BUF_MAX)) == NULL) {
                    close(fd);
                    continue;
                }
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                conns[k].fd = fd;
                conns[k].len = 0;
                conns[k].due_ms = 0;
                ev.events = EPOLLIN;
                ev.data.ptr = &conns[k];
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                continue;
            }
            for (;;) {
                ssize_t r;
                if (c->len == BUF_MAX) {
                    drop(ep, c);
                    break;
                }
                r = read(c->fd, c->buf + c->len, BUF_MAX - c->len);
                if (r > 0) {
                    c->len += (size_t)r;
                    continue;
                }
                if (r == 0 || (errno != EAGAIN && errno != EINTR))
                    drop(ep, c);
                else if (errno == EAGAIN)
                    take_request(c, latency);
                break;
            }
        }
    }
}
