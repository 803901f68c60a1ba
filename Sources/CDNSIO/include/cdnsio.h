// CDNSIO: what Glibc hides from Swift (struct mmsghdr, recvmmsg, sendmmsg, control messages) plus
// socket setup.
#ifndef CDNSIO_H
#define CDNSIO_H

#include <stddef.h>
#include <stdint.h>

/// A batch of datagram slots owned by one UDP worker: receive buffers, response buffers,
/// peer addresses and the mmsghdr/iovec arrays, all allocated once; with packet information,
/// also one control buffer per slot in each direction.
typedef struct cdnsio_batch cdnsio_batch;

/// Allocates `capacity` slots with `rx_size`-byte receive and `tx_size`-byte response buffers.
/// With `packet_info` nonzero (a socket bound to a wildcard address, see
/// cdnsio_enable_packet_info), each datagram's destination address is received and its response
/// sent from that address; with 0 no control message is read or written.
/// Returns NULL when out of memory.
cdnsio_batch *cdnsio_batch_create(unsigned capacity, size_t rx_size, size_t tx_size, int packet_info);
void cdnsio_batch_destroy(cdnsio_batch *batch);

/// Waits for at least one datagram on `fd`, then takes up to `capacity` of those waiting
/// (MSG_WAITFORONE). Returns the count, 0 when the socket's receive timeout passed or it was shut
/// down (the wake-up of shutdown(2) is not a datagram: it has no peer, and is not counted), or
/// -errno. Datagrams longer than rx_size are reported with length 0.
int cdnsio_recv(cdnsio_batch *batch, int fd);

/// Slot `i` after cdnsio_recv: the datagram and its length.
const uint8_t *cdnsio_rx_data(const cdnsio_batch *batch, unsigned i);
size_t cdnsio_rx_length(const cdnsio_batch *batch, unsigned i);
/// The peer of slot `i` as raw network-order address bytes in `out` (4 or 16 bytes, the rest
/// zeroed). Returns 4 for IPv4, 6 for IPv6, 0 for another family.
int cdnsio_rx_peer(const cdnsio_batch *batch, unsigned i, uint64_t out[2]);

/// The address of a struct sockaddr as in cdnsio_rx_peer.
int cdnsio_address_words(const void *sockaddr, uint64_t out[2]);

/// The response buffer of slot `i`, tx_size bytes.
uint8_t *cdnsio_tx_buffer(cdnsio_batch *batch, unsigned i);
/// Queues the response of length `length` in slot `i`'s response buffer to slot `i`'s peer (from
/// the address the query was sent to, when the batch has packet information).
void cdnsio_tx_queue(cdnsio_batch *batch, unsigned i, size_t length);
/// Sends every queued response with sendmmsg, skipping a datagram the kernel rejects, and
/// empties the queue. Returns the number sent.
int cdnsio_send(cdnsio_batch *batch, int fd);

/// Creates a socket bound to `address` (IPv4 dotted quad or IPv6 text) and `port` (IPV6_V6ONLY
/// for IPv6), with SO_REUSEPORT when `reuse_port` is nonzero; a stream socket (not yet
/// listening) when `stream` is nonzero (non-blocking, for NIO; SO_REUSEADDR), a blocking
/// datagram socket with a 250 ms receive timeout otherwise. Close-on-exec. Returns the
/// descriptor or -errno (-EINVAL for an unparseable address).
int cdnsio_bound_socket(const char *address, uint16_t port, int stream, int reuse_port);

/// Sets the receive (`send` = 0) or send buffer of `fd` to `bytes`: SO_RCVBUFFORCE /
/// SO_SNDBUFFORCE, which only CAP_NET_ADMIN may use and which net.core.rmem_max / wmem_max do not
/// cap, else SO_RCVBUF / SO_SNDBUF, which they cap. Returns the size granted (what getsockopt
/// reports, halved: the kernel doubles the value it is given to cover its bookkeeping) or -errno.
/// `forced` is set to 1 when the privileged option was used.
int cdnsio_set_buffer(int fd, int send, int bytes, int *forced);

/// Asks for each datagram's destination address (IP_PKTINFO / IPV6_RECVPKTINFO) when the
/// datagram socket `fd` is bound to the wildcard address (0.0.0.0 or ::), so that responses can
/// leave from the address each query was sent to. Returns 1 when enabled, 0 when `fd` is bound to
/// a specific address (the kernel then picks that address itself), or -errno.
int cdnsio_enable_packet_info(int fd);

/// Returns the heap memory freed after a load (the records read from zone files) to the
/// system: glibc keeps freed pages otherwise. Call off the query path.
void cdnsio_release_free_memory(void);

#endif
