// The C API (spicecap/producer.h): thin wrappers around spicecap::Producer. Every function tolerates a
// NULL producer and nothing escapes as an exception.
#include "spicecap/producer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>
#include <system_error>

#include "spicecap/producer.hpp"

struct spicecap_producer {
    explicit spicecap_producer(spicecap::ProducerOptions options) : producer(std::move(options)) {}
    spicecap::Producer producer;
};

extern "C" {

spicecap_producer* spicecap_producer_new(const char* name, const char* session_label, const char* socket_path,
                                         size_t buffer_bytes) {
    if (name == nullptr) {
        errno = EINVAL;
        return nullptr;
    }
    try {
        spicecap::ProducerOptions options;
        options.name = name;
        if (session_label != nullptr) options.session_label = session_label;
        if (socket_path != nullptr && *socket_path != '\0') options.socket_path = socket_path;
        if (buffer_bytes != 0) options.buffer_bytes = buffer_bytes;
        return new spicecap_producer(std::move(options));
    } catch (const std::invalid_argument&) {
        errno = EINVAL;
    } catch (const std::bad_alloc&) {
        errno = ENOMEM;
    } catch (const std::system_error& error) {
        errno = error.code().value() != 0 ? error.code().value() : EAGAIN;
    } catch (...) {
        errno = ENOMEM;
    }
    return nullptr;
}

void spicecap_producer_free(spicecap_producer* producer) { delete producer; }

void spicecap_packet_sent(spicecap_producer* producer, uint8_t channel_type, uint8_t channel_id, const void* data,
                          size_t size, uint64_t timestamp_ns) {
    if (producer != nullptr) producer->producer.packet_sent({channel_type, channel_id}, data, size, timestamp_ns);
}

void spicecap_packet_received(spicecap_producer* producer, uint8_t channel_type, uint8_t channel_id, const void* data,
                              size_t size, uint64_t timestamp_ns) {
    if (producer != nullptr) producer->producer.packet_received({channel_type, channel_id}, data, size, timestamp_ns);
}

void spicecap_channel_opened(spicecap_producer* producer, uint8_t channel_type, uint8_t channel_id,
                             spicecap_header_mode header) {
    if (producer == nullptr) return;
    producer->producer.channel_opened({channel_type, channel_id},
                                      header == SPICECAP_HEADER_FULL ? spicecap::HeaderMode::full : spicecap::HeaderMode::mini);
}

void spicecap_channel_closed(spicecap_producer* producer, uint8_t channel_type, uint8_t channel_id) {
    if (producer != nullptr) producer->producer.channel_closed({channel_type, channel_id});
}

void spicecap_usb_transfer_out(spicecap_producer* producer, uint8_t link, const void* data, size_t size,
                               uint64_t timestamp_ns) {
    if (producer != nullptr) producer->producer.usb_transfer_out(link, data, size, timestamp_ns);
}

void spicecap_usb_transfer_in(spicecap_producer* producer, uint8_t link, const void* data, size_t size,
                              uint64_t timestamp_ns) {
    if (producer != nullptr) producer->producer.usb_transfer_in(link, data, size, timestamp_ns);
}

void spicecap_producer_set_enabled(spicecap_producer* producer, int enabled) {
    if (producer != nullptr) producer->producer.set_enabled(enabled != 0);
}

int spicecap_producer_enabled(const spicecap_producer* producer) {
    return producer != nullptr && producer->producer.enabled() ? 1 : 0;
}

int spicecap_producer_capturing(const spicecap_producer* producer) {
    return producer != nullptr && producer->producer.capturing() ? 1 : 0;
}

int spicecap_producer_flush(spicecap_producer* producer, uint32_t timeout_ms) {
    if (producer == nullptr) return 1;
    return producer->producer.flush(std::chrono::milliseconds{timeout_ms}) ? 1 : 0;
}

void spicecap_producer_get_stats(const spicecap_producer* producer, spicecap_producer_stats* stats, size_t stats_size) {
    if (stats == nullptr) return;
    spicecap_producer_stats out{};
    if (producer != nullptr) {
        const spicecap::ProducerStats in = producer->producer.stats();
        out.accepted_records = in.accepted_records;
        out.accepted_bytes = in.accepted_bytes;
        out.delivered_records = in.delivered_records;
        out.delivered_bytes = in.delivered_bytes;
        out.dropped_records = in.dropped_records;
        out.dropped_bytes = in.dropped_bytes;
        out.invalid_records = in.invalid_records;
        out.dropped_events = in.dropped_events;
        out.connections = in.connections;
        out.session = in.session;
        out.connected = in.connected ? 1 : 0;
    }
    // A caller built against an older, smaller struct gets the fields it knows.
    std::memcpy(stats, &out, std::min(stats_size, sizeof out));
}

size_t spicecap_producer_last_error(const spicecap_producer* producer, char* buffer, size_t buffer_size) {
    std::string text;
    if (producer != nullptr) {
        try {
            text = producer->producer.last_error();
        } catch (...) {
        }
    }
    if (buffer != nullptr && buffer_size > 0) {
        const size_t copied = std::min(text.size(), buffer_size - 1);
        std::memcpy(buffer, text.data(), copied);
        buffer[copied] = '\0';
    }
    return text.size();
}

const char* spicecap_version(void) { return SPICECAP_VERSION; }

}  // extern "C"
