#define _GNU_SOURCE
#include "cdnsio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Control buffer per received datagram: room for one in6_pktinfo (the larger of the two packet
   information messages; the socket asks for nothing else) with a spare header, so a future
   option cannot make the kernel cut the one we need (it would set MSG_CTRUNC). */
#define RX_CONTROL_SIZE (CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(0))
/* Control buffer per response: exactly one in_pktinfo or in6_pktinfo. */
#define TX_CONTROL_SIZE CMSG_SPACE(sizeof(struct in6_pktinfo))

struct cdnsio_batch {
    unsigned capacity, queued;
    size_t rx_size, tx_size;
    uint8_t *rx, *tx;
    struct sockaddr_storage *peers;
    struct iovec *rx_iov, *tx_iov;
    struct mmsghdr *rx_msgs, *tx_msgs;
    /* NULL unless the batch was created with packet_info. */
    uint8_t *rx_control, *tx_control;
};

cdnsio_batch *cdnsio_batch_create(unsigned capacity, size_t rx_size, size_t tx_size, int packet_info) {
    cdnsio_batch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->capacity = capacity;
    b->rx_size = rx_size;
    b->tx_size = tx_size;
    b->rx = malloc(capacity * rx_size);
    b->tx = malloc(capacity * tx_size);
    b->peers = calloc(capacity, sizeof *b->peers);
    b->rx_iov = calloc(capacity, sizeof *b->rx_iov);
    b->tx_iov = calloc(capacity, sizeof *b->tx_iov);
    b->rx_msgs = calloc(capacity, sizeof *b->rx_msgs);
    b->tx_msgs = calloc(capacity, sizeof *b->tx_msgs);
    if (packet_info) {
        /* calloc: CMSG_NXTHDR reads the header after the last one only when it fits, but keep
           the unused tail defined anyway. */
        b->rx_control = calloc(capacity, RX_CONTROL_SIZE);
        b->tx_control = calloc(capacity, TX_CONTROL_SIZE);
    }
    if (!b->rx || !b->tx || !b->peers || !b->rx_iov || !b->tx_iov || !b->rx_msgs || !b->tx_msgs
        || (packet_info && (!b->rx_control || !b->tx_control))) {
        cdnsio_batch_destroy(b);
        return NULL;
    }
    return b;
}

void cdnsio_batch_destroy(cdnsio_batch *b) {
    if (!b) return;
    free(b->rx); free(b->tx); free(b->peers);
    free(b->rx_iov); free(b->tx_iov); free(b->rx_msgs); free(b->tx_msgs);
    free(b->rx_control); free(b->tx_control);
    free(b);
}

int cdnsio_recv(cdnsio_batch *b, int fd) {
    for (unsigned i = 0; i < b->capacity; i++) {
        b->rx_iov[i] = (struct iovec){ b->rx + i * b->rx_size, b->rx_size };
        b->rx_msgs[i].msg_hdr = (struct msghdr){
            .msg_name = &b->peers[i], .msg_namelen = sizeof b->peers[i],
            .msg_iov = &b->rx_iov[i], .msg_iovlen = 1,
        };
        if (b->rx_control) {
            b->rx_msgs[i].msg_hdr.msg_control = b->rx_control + i * RX_CONTROL_SIZE;
            b->rx_msgs[i].msg_hdr.msg_controllen = RX_CONTROL_SIZE;
        }
    }
    b->queued = 0;
    int n = recvmmsg(fd, b->rx_msgs, b->capacity, MSG_WAITFORONE, NULL);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        /* A socket shut down for reading reads as an empty message with no sender (every real
           datagram, even an empty one, has one): the wake-up, not a query. It and anything after
           it are dropped. */
        if (b->rx_msgs[i].msg_hdr.msg_namelen == 0) return i;
        if (b->rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) b->rx_msgs[i].msg_len = 0;
    }
    return n;
}

const uint8_t *cdnsio_rx_data(const cdnsio_batch *b, unsigned i) { return b->rx + i * b->rx_size; }
size_t cdnsio_rx_length(const cdnsio_batch *b, unsigned i) { return b->rx_msgs[i].msg_len; }

int cdnsio_address_words(const void *sockaddr, uint64_t out[2]) {
    out[0] = out[1] = 0;
    const struct sockaddr_storage *ss = sockaddr;
    if (ss->ss_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
        return 4;
    }
    if (ss->ss_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
        return 6;
    }
    return 0;
}

int cdnsio_rx_peer(const cdnsio_batch *b, unsigned i, uint64_t out[2]) {
    return cdnsio_address_words(&b->peers[i], out);
}

uint8_t *cdnsio_tx_buffer(cdnsio_batch *b, unsigned i) { return b->tx + i * b->tx_size; }

/* Writes into `out` (TX_CONTROL_SIZE bytes) the control message that sends a response from the
   address the query in `rx` was sent to; returns its length, 0 when `rx` carries no (whole)
   packet information. IPv4: ipi_spec_dst as received, which for a unicast query is the header's
   destination address (for a broadcast one, the address of the interface it came in on) and no
   interface, so routing picks it as for any other packet. IPv6: the destination address and the
   interface it came in on (a link-local address means nothing without it). */
static size_t reply_control(const struct msghdr *rx, uint8_t *out) {
    if (rx->msg_flags & MSG_CTRUNC) return 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(rx); c; c = CMSG_NXTHDR((struct msghdr *)rx, c)) {
        struct msghdr tx = { .msg_control = out, .msg_controllen = TX_CONTROL_SIZE };
        struct cmsghdr *o = CMSG_FIRSTHDR(&tx);
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO
            && c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
            struct in_pktinfo in, reply = {0};
            memcpy(&in, CMSG_DATA(c), sizeof in);
            reply.ipi_spec_dst = in.ipi_spec_dst;
            o->cmsg_level = IPPROTO_IP;
            o->cmsg_type = IP_PKTINFO;
            o->cmsg_len = CMSG_LEN(sizeof reply);
            memcpy(CMSG_DATA(o), &reply, sizeof reply);
            return CMSG_SPACE(sizeof reply);
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO
            && c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
            struct in6_pktinfo in;
            memcpy(&in, CMSG_DATA(c), sizeof in);
            o->cmsg_level = IPPROTO_IPV6;
            o->cmsg_type = IPV6_PKTINFO;
            o->cmsg_len = CMSG_LEN(sizeof in);
            memcpy(CMSG_DATA(o), &in, sizeof in);
            return CMSG_SPACE(sizeof in);
        }
    }
    return 0;
}

void cdnsio_tx_queue(cdnsio_batch *b, unsigned i, size_t length) {
    unsigned q = b->queued++;
    b->tx_iov[q] = (struct iovec){ cdnsio_tx_buffer(b, i), length };
    b->tx_msgs[q].msg_hdr = (struct msghdr){
        .msg_name = &b->peers[i], .msg_namelen = b->rx_msgs[i].msg_hdr.msg_namelen,
        .msg_iov = &b->tx_iov[q], .msg_iovlen = 1,
    };
    if (b->tx_control) {
        uint8_t *control = b->tx_control + q * TX_CONTROL_SIZE;
        size_t n = reply_control(&b->rx_msgs[i].msg_hdr, control);
        if (n) {
            b->tx_msgs[q].msg_hdr.msg_control = control;
            b->tx_msgs[q].msg_hdr.msg_controllen = n;
        }
    }
}

int cdnsio_send(cdnsio_batch *b, int fd) {
    unsigned done = 0, sent = 0;
    while (done < b->queued) {
        int n = sendmmsg(fd, b->tx_msgs + done, b->queued - done, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { done++; continue; }  // the datagram at `done` failed: skip it
        done += n;
        sent += n;
    }
    b->queued = 0;
    return (int)sent;
}

int cdnsio_bound_socket(const char *address, uint16_t port, int stream, int reuse_port) {
    struct sockaddr_storage ss = {0};
    socklen_t len;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        len = sizeof *sin;
    } else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        len = sizeof *sin6;
    } else {
        return -EINVAL;
    }
    int type = stream ? (SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC) : (SOCK_DGRAM | SOCK_CLOEXEC);
    int fd = socket(ss.ss_family, type, 0);
    if (fd < 0) return -errno;
    int on = 1;
    /* A UDP worker blocks in recvmmsg; the timeout bounds how long it takes to notice shutdown
       should the wake-up by shutdown(2) be missed. 250 ms is invisible to an operator. */
    struct timeval wake = { .tv_sec = 0, .tv_usec = 250000 };
    if ((reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0)
        || (stream && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
        || (!stream && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wake, sizeof wake) < 0)
        || (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) < 0)
        || bind(fd, (struct sockaddr *)&ss, len) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int cdnsio_set_buffer(int fd, int send, int bytes, int *forced) {
    *forced = 1;
    if (setsockopt(fd, SOL_SOCKET, send ? SO_SNDBUFFORCE : SO_RCVBUFFORCE, &bytes, sizeof bytes) < 0) {
        if (errno != EPERM) return -errno;
        *forced = 0;
        if (setsockopt(fd, SOL_SOCKET, send ? SO_SNDBUF : SO_RCVBUF, &bytes, sizeof bytes) < 0) return -errno;
    }
    int granted = 0;
    socklen_t len = sizeof granted;
    if (getsockopt(fd, SOL_SOCKET, send ? SO_SNDBUF : SO_RCVBUF, &granted, &len) < 0) return -errno;
    return granted / 2;
}

int cdnsio_enable_packet_info(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return -errno;
    int on = 1;
    if (ss.ss_family == AF_INET) {
        if (((struct sockaddr_in *)&ss)->sin_addr.s_addr != htonl(INADDR_ANY)) return 0;
        return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) < 0 ? -errno : 1;
    }
    if (ss.ss_family == AF_INET6) {
        if (!IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr)) return 0;
        return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) < 0 ? -errno : 1;
    }
    return 0;
}

void cdnsio_release_free_memory(void) {
    malloc_trim(0);
}
