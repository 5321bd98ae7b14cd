// Starting and stopping spicecapd and spicecap-extcap for a benchmark.
#include "pipeline.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "client/control_client.hpp"

namespace spicecap::bench {
namespace {

bool accepts_connections(const std::string& socket) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
}

std::vector<std::string> extcap_capture_arguments(const BenchPrograms& programs, const DaemonUnderTest& daemon,
                                                  const std::string& fifo, const std::string& format = "pcapng") {
    return {programs.extcap, "--capture", "--extcap-interface", "spice", "--fifo", fifo, "--socket", daemon.socket(),
            "--format", format};
}

}  // namespace

std::string make_fifo(const std::filesystem::path& dir, const std::string& name) {
    static int made = 0;
    const auto path = (dir / (name + "-" + std::to_string(++made) + ".fifo")).string();
    if (::mkfifo(path.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + path + ": " + std::strerror(errno));
    return path;
}

DaemonUnderTest::DaemonUnderTest(const BenchPrograms& programs, const std::filesystem::path& dir,
                                 const std::string& name, const std::vector<std::string>& extra_arguments)
    : socket_((dir / (name + ".sock")).string()) {
    std::vector<std::string> argv{programs.spicecapd, "--socket", socket_};
    argv.insert(argv.end(), extra_arguments.begin(), extra_arguments.end());
    process_ = std::make_unique<ChildProcess>(argv, dir / (name + ".log"));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!accepts_connections(socket_)) {
        if (!process_->running()) throw std::runtime_error("spicecapd exited at start; see " + (dir / (name + ".log")).string());
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("spicecapd did not start listening");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

DaemonUnderTest::~DaemonUnderTest() { process_->stop(); }

nlohmann::json DaemonUnderTest::status() const {
    ControlClient client;
    if (auto connected = client.connect(socket_); !connected) throw std::runtime_error(connected.error());
    auto reply = client.request({{"command", "status"}});
    if (!reply) throw std::runtime_error("status: " + reply.error());
    return (*reply)["status"];
}

void DaemonUnderTest::wait_for_subscribers(std::size_t count) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (status()["subscribers"].size() < count) {
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("the extcap did not subscribe within 10 s");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

ExtcapCapture::ExtcapCapture(const BenchPrograms& programs, const DaemonUnderTest& daemon,
                             const std::filesystem::path& dir, const std::string& name, bool measure_latency,
                             const std::string& format) {
    const auto fifo = make_fifo(dir, name);
    reader_ = std::make_unique<PcapStreamReader>(fifo, measure_latency);
    const std::size_t before = daemon.status()["subscribers"].size();
    extcap_ = std::make_unique<ChildProcess>(extcap_capture_arguments(programs, daemon, fifo, format),
                                             dir / (name + ".log"));
    daemon.wait_for_subscribers(before + 1);
}

ExtcapCapture::~ExtcapCapture() { extcap_->stop(); }

PcapStreamTotals ExtcapCapture::stop() {
    extcap_->stop();
    return reader_->finish(std::chrono::seconds(5));
}

StalledCapture::StalledCapture(const BenchPrograms& programs, const DaemonUnderTest& daemon,
                               const std::filesystem::path& dir, const std::string& name) {
    const auto fifo = make_fifo(dir, name);
    // A reader must exist for the extcap's open() to return; this one never reads.
    fifo_fd_ = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fifo_fd_ < 0) throw std::runtime_error("cannot open " + fifo + ": " + std::strerror(errno));
    const std::size_t before = daemon.status()["subscribers"].size();
    extcap_ = std::make_unique<ChildProcess>(extcap_capture_arguments(programs, daemon, fifo), dir / (name + ".log"));
    daemon.wait_for_subscribers(before + 1);
}

StalledCapture::~StalledCapture() {
    // Closing the FIFO first gives the extcap its EPIPE, so it stops by itself.
    ::close(fifo_fd_);
    extcap_->stop();
}

}  // namespace spicecap::bench
