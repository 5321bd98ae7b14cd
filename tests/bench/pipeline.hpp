// The spicecap pipeline under test, in real processes: a spicecapd on a socket of its own, and
// spicecap-extcap captures writing pcap into FIFOs exactly as Wireshark runs them.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "pcap_stream_reader.hpp"

namespace spicecap::bench {

/// Where the programs under test are.
struct BenchPrograms {
    std::string spicecapd;
    std::string extcap;
    /// Empty if it was not built (Google Benchmark missing).
    std::string producer_bench;
    /// Empty if Wireshark's udpdump is not installed.
    std::string udpdump;
};

/// A new FIFO in `dir` whose name starts with `name` (numbered: every run gets its own).
std::string make_fifo(const std::filesystem::path& dir, const std::string& name);

/// A spicecapd started for the benchmark, stopped (SIGTERM) when destroyed.
class DaemonUnderTest {
public:
    /// Starts it with `--socket DIR/NAME.sock` and `extra_arguments`; returns once it accepts connections.
    DaemonUnderTest(const BenchPrograms& programs, const std::filesystem::path& dir, const std::string& name,
                    const std::vector<std::string>& extra_arguments = {});
    ~DaemonUnderTest();

    const std::string& socket() const noexcept { return socket_; }
    pid_t pid() const noexcept { return process_->pid(); }
    /// CPU seconds the daemon used so far.
    double cpu_seconds() const { return process_cpu_seconds(pid()).value_or(0); }
    /// The daemon's status object (docs/protocol.md §9). Throws if it does not answer.
    nlohmann::json status() const;
    /// Waits until `count` subscribers are connected (they subscribed); throws after 10 s.
    void wait_for_subscribers(std::size_t count) const;

private:
    std::string socket_;
    std::unique_ptr<ChildProcess> process_;
};

/// `spicecap-extcap --capture --extcap-interface spice --fifo F --format FORMAT` with a PcapStreamReader
/// reading F.
class ExtcapCapture {
public:
    /// Starts the capture and returns once the daemon has it as a subscriber. `format`: "pcapng" (the
    /// extcap's default) or "pcap".
    ExtcapCapture(const BenchPrograms& programs, const DaemonUnderTest& daemon, const std::filesystem::path& dir,
                  const std::string& name, bool measure_latency, const std::string& format = "pcapng");
    ~ExtcapCapture();

    PcapStreamReader& reader() noexcept { return *reader_; }
    /// CPU seconds the extcap used so far.
    double cpu_seconds() const { return process_cpu_seconds(extcap_->pid()).value_or(0); }
    /// Stops the extcap with SIGTERM (as Wireshark does), reads what it flushed, returns the totals.
    PcapStreamTotals stop();

private:
    std::unique_ptr<PcapStreamReader> reader_;
    std::unique_ptr<ChildProcess> extcap_;
};

/// An extcap capture nobody reads: its FIFO is open for reading (so the extcap starts) but never read, so
/// the extcap blocks on its first full pipe and stops reading from the daemon.
class StalledCapture {
public:
    StalledCapture(const BenchPrograms& programs, const DaemonUnderTest& daemon, const std::filesystem::path& dir,
                   const std::string& name);
    ~StalledCapture();

private:
    int fifo_fd_ = -1;
    std::unique_ptr<ChildProcess> extcap_;
};

}  // namespace spicecap::bench
