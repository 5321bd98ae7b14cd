/* The spicecap producer library, C API: a program that sends and receives SPICE messages (or USB vsock
 * transfers) reports each one here, and the library forwards it to spicecapd, which hands it to Wireshark.
 *
 *     spicecap_producer *p = spicecap_producer_new("ryll", "vm1", NULL, 0);
 *     spicecap_channel_opened(p, SPICECAP_CHANNEL_DISPLAY, 0, SPICECAP_HEADER_MINI);
 *     spicecap_packet_sent(p, SPICECAP_CHANNEL_DISPLAY, 0, data, size, 0);
 *     ...
 *     spicecap_producer_free(p);
 *
 * Reporting calls never block on the daemon: they copy the message into a bounded buffer that one
 * background thread writes to the daemon's socket; when the buffer is full the message is dropped and
 * counted. While no daemon runs (the thread retries with backoff) or capture is turned off, a call does
 * nothing and is not counted. Every function accepts a NULL producer and then does nothing, so a program
 * can run without capture by keeping NULL. All functions are thread-safe except spicecap_producer_free.
 *
 * Build with `pkg-config --cflags --libs spicecap`. docs/producer-library.md has the details; the C++ API
 * is spicecap/producer.hpp (the two are independent: use either).
 */
#ifndef SPICECAP_PRODUCER_H
#define SPICECAP_PRODUCER_H

#include <stddef.h>
#include <stdint.h>

/* Symbols of the shared library that programs may use (everything else in it is hidden). */
#ifndef SPICECAP_API
#define SPICECAP_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* SPICE channel types (spice-protocol's SPICE_CHANNEL_*). Messages on other types are dropped and counted
 * in invalid_records (the daemon would refuse them). */
enum {
    SPICECAP_CHANNEL_MAIN = 1,
    SPICECAP_CHANNEL_DISPLAY = 2,
    SPICECAP_CHANNEL_INPUTS = 3,
    SPICECAP_CHANNEL_CURSOR = 4,
    SPICECAP_CHANNEL_PLAYBACK = 5,
    SPICECAP_CHANNEL_RECORD = 6,
    SPICECAP_CHANNEL_TUNNEL = 7,
    SPICECAP_CHANNEL_SMARTCARD = 8,
    SPICECAP_CHANNEL_USBREDIR = 9,
    SPICECAP_CHANNEL_PORT = 10,
    SPICECAP_CHANNEL_WEBDAV = 11
};

/* Which SPICE data header a channel uses after its link stage (Wireshark needs it to decode a channel
 * whose link stage it did not see). */
typedef enum spicecap_header_mode {
    SPICECAP_HEADER_MINI = 0, /* 6-byte mini headers: what current SPICE clients and servers negotiate */
    SPICECAP_HEADER_FULL = 1  /* 18-byte full headers */
} spicecap_header_mode;

/* A producer: one session as seen by the daemon. Opaque. */
typedef struct spicecap_producer spicecap_producer;

/* Counters since the producer was created. Once everything is flushed (spicecap_producer_flush returned
 * 1): accepted_records == delivered_records + dropped_records, and the same for bytes. */
typedef struct spicecap_producer_stats {
    uint64_t accepted_records;  /* messages reported while capture was on */
    uint64_t accepted_bytes;    /* their payload bytes */
    uint64_t delivered_records; /* messages written completely to the daemon's socket */
    uint64_t delivered_bytes;
    uint64_t dropped_records;   /* buffer full, too large, invalid channel type, or lost with the connection */
    uint64_t dropped_bytes;
    uint64_t invalid_records;   /* the part of dropped_records with an invalid SPICE channel type */
    uint64_t dropped_events;    /* channel opened/closed notices that did not fit in the buffer */
    uint64_t connections;       /* connections established (HELLO accepted) */
    uint32_t session;           /* the daemon's id of the current session, 0 while not connected */
    int connected;              /* 1 while connected to a daemon, else 0 */
} spicecap_producer_stats;

/* Creates a producer and starts its sender thread, which connects to the daemon in the background.
 *   name:          who reports (e.g. "ryll"), 1..128 bytes, required.
 *   session_label: a label for this session (e.g. the VM name), at most 256 bytes; NULL = "".
 *   socket_path:   the daemon's socket; NULL or "" = $SPICECAP_SOCKET, else
 *                  $XDG_RUNTIME_DIR/spicecap/spicecapd.sock, else /tmp/spicecap-$UID/spicecapd.sock.
 *   buffer_bytes:  the most bytes of messages waiting to be sent (each costs its size + 25); 0 = 8 MiB.
 * Returns NULL with errno EINVAL (bad name or label) or ENOMEM / EAGAIN (no memory / thread). */
SPICECAP_API spicecap_producer *spicecap_producer_new(const char *name, const char *session_label,
                                                      const char *socket_path, size_t buffer_bytes);

/* Waits up to 200 ms for buffered messages to be written, then stops the sender thread and frees the
 * producer (bounded time, even with a daemon that stopped reading). No call may run concurrently. */
SPICECAP_API void spicecap_producer_free(spicecap_producer *producer);

/* A SPICE message this program sent (client -> server) on channel (channel_type, channel_id), exactly as
 * sent. timestamp_ns: when, in nanoseconds since the Unix epoch; 0 = now (CLOCK_REALTIME, read here). */
SPICECAP_API void spicecap_packet_sent(spicecap_producer *producer, uint8_t channel_type, uint8_t channel_id,
                                       const void *data, size_t size, uint64_t timestamp_ns);
/* A SPICE message this program received (server -> client). */
SPICECAP_API void spicecap_packet_received(spicecap_producer *producer, uint8_t channel_type, uint8_t channel_id,
                                           const void *data, size_t size, uint64_t timestamp_ns);

/* A SPICE channel was opened / closed. Remembered until closed: the daemon is told now if connected and
 * again on every later (re)connection; sent whether capture is on or off. */
SPICECAP_API void spicecap_channel_opened(spicecap_producer *producer, uint8_t channel_type, uint8_t channel_id,
                                          spicecap_header_mode header);
SPICECAP_API void spicecap_channel_closed(spicecap_producer *producer, uint8_t channel_type, uint8_t channel_id);

/* A whole USB OUT transfer (host -> device) / IN transfer (device -> host) of the usb_vsock protocol on
 * USB link `link` (0 with one device). */
SPICECAP_API void spicecap_usb_transfer_out(spicecap_producer *producer, uint8_t link, const void *data, size_t size,
                                            uint64_t timestamp_ns);
SPICECAP_API void spicecap_usb_transfer_in(spicecap_producer *producer, uint8_t link, const void *data, size_t size,
                                           uint64_t timestamp_ns);

/* Turns capture on (enabled != 0) or off. Off, calls do nothing and are not counted. */
SPICECAP_API void spicecap_producer_set_enabled(spicecap_producer *producer, int enabled);
/* 1 if capture is turned on (connected or not), else 0. */
SPICECAP_API int spicecap_producer_enabled(const spicecap_producer *producer);
/* 1 if calls are being recorded right now (enabled and connected to a daemon), else 0. */
SPICECAP_API int spicecap_producer_capturing(const spicecap_producer *producer);

/* Waits until every message accepted before this call was written to the daemon's socket or counted as
 * dropped. Returns 1 when done, 0 if timeout_ms passed first. */
SPICECAP_API int spicecap_producer_flush(spicecap_producer *producer, uint32_t timeout_ms);

/* Copies the counters into *stats. stats_size must be sizeof(spicecap_producer_stats) of the caller's
 * header (fields a newer library adds are not written to an older caller's smaller struct). */
SPICECAP_API void spicecap_producer_get_stats(const spicecap_producer *producer, spicecap_producer_stats *stats,
                                              size_t stats_size);

/* Writes why the last connection attempt failed or the last connection ended (NUL-terminated, truncated
 * to buffer_size) and returns its full length; 0 (and "") if nothing failed yet. */
SPICECAP_API size_t spicecap_producer_last_error(const spicecap_producer *producer, char *buffer, size_t buffer_size);

/* The library version, e.g. "0.1.0". */
SPICECAP_API const char *spicecap_version(void);

#ifdef __cplusplus
}
#endif

#endif /* SPICECAP_PRODUCER_H */
