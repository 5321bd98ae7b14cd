// The far end of every benchmarked pipeline: reads a pcap stream from a FIFO, as Wireshark's dumpcap
// would, and counts what arrived (classic pcap or pcapng). It parses the records itself (no libpcap) so that reading costs as
// little as possible and never becomes the bottleneck it is supposed to measure.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace spicecap::bench {

/// What came out of one capture FIFO.
struct PcapStreamTotals {
    /// The link type in the pcap file header (1 = Ethernet from spicecap, 252 = exported PDUs from udpdump).
    int link_type = -1;
    /// pcap records read, whatever they hold (link-stage frames, segments of large messages, ...).
    std::uint64_t records = 0;
    /// Records whose payload is the start of a benchmark message (BenchPayloadHeader).
    std::uint64_t messages = 0;
    /// TCP (Ethernet) or UDP (exported PDU) payload bytes in all records.
    std::uint64_t payload_bytes = 0;
    /// Benchmark messages whose sequence number was not one more than the previous one's.
    std::uint64_t sequence_breaks = 0;
    /// TCP segments whose sequence number was ahead of the previous segment's end: Wireshark's "previous
    /// segment not captured", i.e. the daemon reported a DROP and the extcap advanced the sequence.
    std::uint64_t tcp_gaps = 0;
    /// The bytes those gaps skipped.
    std::uint64_t tcp_gap_bytes = 0;
    /// Per benchmark message with a send time: CLOCK_REALTIME when it was parsed minus its send time.
    std::vector<std::int64_t> latencies_ns;
    /// CPU seconds the reading thread used.
    double cpu_seconds = 0;
    /// Set if the stream was not a pcap stream or reading failed.
    std::string error;
};

/// Reads and counts a pcap stream in a thread of its own, from when the FIFO's writer opens it until
/// its EOF.
class PcapStreamReader {
public:
    /// Opens `fifo` for reading (without waiting for a writer) and starts the reading thread. With
    /// `measure_latency`, every benchmark message's age is taken as it is parsed.
    PcapStreamReader(const std::string& fifo, bool measure_latency);
    /// Joins the thread: like finish(), only after the writer is gone (or never came).
    ~PcapStreamReader();
    PcapStreamReader(const PcapStreamReader&) = delete;
    PcapStreamReader& operator=(const PcapStreamReader&) = delete;

    /// Benchmark messages parsed so far (for a sender's flow control; updated after each read).
    std::uint64_t messages() const noexcept { return messages_.load(std::memory_order_relaxed); }
    /// True once the pcap file header was read.
    bool header_seen() const noexcept { return header_seen_.load(std::memory_order_relaxed); }
    /// When the latest benchmark message was parsed.
    std::chrono::steady_clock::time_point last_message_time() const noexcept {
        return std::chrono::steady_clock::time_point(
            std::chrono::steady_clock::duration(last_message_ticks_.load(std::memory_order_relaxed)));
    }

    /// Returns the totals once the reading thread has ended: at EOF, when the writer closed the FIFO (stop
    /// the writer first: once it is there, the thread waits in read()), or after `timeout` if no writer
    /// ever opened the FIFO.
    PcapStreamTotals finish(std::chrono::milliseconds timeout);

private:
    void run();
    // Parses the complete records at the front of [data, data + size); returns the bytes consumed.
    std::size_t parse(const std::uint8_t* data, std::size_t size);
    std::size_t parse_pcapng(const std::uint8_t* data, std::size_t size);
    /// Makes the message count and the time of the latest one visible to other threads.
    void publish();
    void count_record(const std::uint8_t* frame, std::size_t caplen);
    void count_payload(const std::uint8_t* payload, std::size_t size);

    int fd_ = -1;
    bool measure_latency_;
    bool byte_swapped_ = false;
    bool pcapng_ = false;
    std::atomic<bool> stop_{false};
    std::atomic<bool> header_seen_{false};
    std::atomic<bool> eof_{false};
    std::atomic<std::uint64_t> messages_{0};
    std::atomic<std::chrono::steady_clock::rep> last_message_ticks_{0};
    std::uint64_t next_sequence_ = 0;

    // Expected next TCP sequence number per synthesized connection and direction.
    struct TcpFlow {
        std::uint64_t key = 0;
        std::uint32_t next_seq = 0;
    };
    std::vector<TcpFlow> flows_;

    PcapStreamTotals totals_;
    std::thread thread_;
};

}  // namespace spicecap::bench
