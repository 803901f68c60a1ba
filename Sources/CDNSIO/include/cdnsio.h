// CDNSIO: what Glibc hides from Swift (struct mmsghdr, recvmmsg, sendmmsg) plus socket setup.
#ifndef CDNSIO_H
#define CDNSIO_H

#include <stddef.h>
#include <stdint.h>

/// A batch of datagram slots owned by one UDP worker: receive buffers, response buffers,
/// peer addresses and the mmsghdr/iovec arrays, all allocated once.
typedef struct cdnsio_batch cdnsio_batch;

/// Allocates `capacity` slots with `rx_size`-byte receive and `tx_size`-byte response buffers.
/// Returns NULL when out of memory.
cdnsio_batch *cdnsio_batch_create(unsigned capacity, size_t rx_size, size_t tx_size);
void cdnsio_batch_destroy(cdnsio_batch *batch);

/// Waits for at least one datagram on `fd`, then takes up to `capacity` of those waiting
/// (MSG_WAITFORONE). Returns the count, 0 when the socket's receive timeout passed or it was shut
/// down, or -errno. Datagrams longer than rx_size are reported with length 0.
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
/// Queues the response of length `length` in slot `i`'s response buffer to slot `i`'s peer.
void cdnsio_tx_queue(cdnsio_batch *batch, unsigned i, size_t length);
/// Sends every queued response with sendmmsg, skipping a datagram the kernel rejects, and
/// empties the queue. Returns the number sent.
int cdnsio_send(cdnsio_batch *batch, int fd);

/// Creates a socket bound to `address` (IPv4 dotted quad or IPv6 text) and `port` with
/// SO_REUSEPORT (and IPV6_V6ONLY for IPv6); a stream socket (not yet listening) when `stream` is
/// nonzero (non-blocking, for NIO), a blocking datagram socket with a 250 ms receive timeout
/// otherwise. Close-on-exec. Returns the descriptor or -errno
/// (-EINVAL for an unparseable address).
int cdnsio_bound_socket(const char *address, uint16_t port, int stream);

/// Returns the heap memory freed after a load (the records read from zone files) to the
/// system: glibc keeps freed pages otherwise. Call off the query path.
void cdnsio_release_free_memory(void);

#endif
