// spicecap::Producer and the C API without a daemon, and the C API end to end against a real Unix socket:
// option checks, the socket path rule, NULL safety, and that stopping is quick whatever the daemon does.
#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "producer_listener.hpp"
#include "spicecap/producer.h"
#include "spicecap/producer.hpp"

using namespace spicecap;
using namespace std::chrono_literals;
using test::ProtocolListener;
using test::ReceivedConnection;
using test::TempSocketPath;

namespace {

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value) {
            ::setenv(name, value, 1);
        } else {
            ::unsetenv(name);
        }
    }
    ~ScopedEnv() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }

private:
    const char* name_;
    std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("producer: without a daemon construction and destruction are quick and nothing is counted") {
    TempSocketPath socket;
    ProducerOptions options;
    options.name = "no-daemon";
    options.socket_path = socket.path();
    const auto start = std::chrono::steady_clock::now();
    {
        Producer producer(options);
        CHECK(producer.enabled());
        CHECK_FALSE(producer.capturing());
        CHECK(producer.last_error() == "cannot connect to " + socket.path() + ": No such file or directory");
        const std::uint8_t bytes[4] = {1, 2, 3, 4};
        producer.channel_opened({spice_channel::main, 0});
        producer.packet_sent({spice_channel::main, 0}, bytes);
        producer.usb_transfer_out(0, bytes);
        CHECK(producer.flush(1s));
        const auto stats = producer.stats();
        CHECK(stats.accepted_records == 0);
        CHECK(stats.dropped_records == 0);
        CHECK(stats.connections == 0);
        CHECK_FALSE(stats.connected);
    }
    CHECK(std::chrono::steady_clock::now() - start < 100ms);
}

TEST_CASE("producer: the name and session label limits of the protocol are enforced") {
    ProducerOptions options;
    options.socket_path = "/nonexistent/spicecapd.sock";
    CHECK_THROWS_AS(Producer{options}, std::invalid_argument);  // empty name
    options.name = std::string(129, 'n');
    CHECK_THROWS_AS(Producer{options}, std::invalid_argument);
    options.name = std::string(128, 'n');
    options.session_label = std::string(257, 's');
    CHECK_THROWS_AS(Producer{options}, std::invalid_argument);
    options.session_label = std::string(256, 's');
    CHECK_NOTHROW(Producer{options});
}

TEST_CASE("producer: the socket path comes from the option then SPICECAP_SOCKET then the default rule") {
    ProducerOptions options;
    options.name = "paths";
    {
        ScopedEnv env("SPICECAP_SOCKET", "/nonexistent/from-env.sock");
        CHECK(Producer{options}.socket_path() == "/nonexistent/from-env.sock");
        options.socket_path = "/nonexistent/explicit.sock";
        CHECK(Producer{options}.socket_path() == "/nonexistent/explicit.sock");
        options.socket_path = "";  // empty counts as absent
        CHECK(Producer{options}.socket_path() == "/nonexistent/from-env.sock");
    }
    ScopedEnv no_env("SPICECAP_SOCKET", nullptr);
    ScopedEnv runtime("XDG_RUNTIME_DIR", "/nonexistent/run");
    options.socket_path.reset();
    CHECK(Producer{options}.socket_path() == "/nonexistent/run/spicecap/spicecapd.sock");
}

TEST_CASE("producer C API: NULL producers are ignored and bad arguments set errno") {
    errno = 0;
    CHECK(spicecap_producer_new(nullptr, "x", nullptr, 0) == nullptr);
    CHECK(errno == EINVAL);
    errno = 0;
    CHECK(spicecap_producer_new("", nullptr, nullptr, 0) == nullptr);
    CHECK(errno == EINVAL);
    const std::string long_label(257, 'l');
    errno = 0;
    CHECK(spicecap_producer_new("ok", long_label.c_str(), nullptr, 0) == nullptr);
    CHECK(errno == EINVAL);

    const char bytes[3] = {1, 2, 3};
    spicecap_packet_sent(nullptr, SPICECAP_CHANNEL_MAIN, 0, bytes, 3, 0);
    spicecap_packet_received(nullptr, SPICECAP_CHANNEL_MAIN, 0, bytes, 3, 0);
    spicecap_usb_transfer_out(nullptr, 0, bytes, 3, 0);
    spicecap_usb_transfer_in(nullptr, 0, bytes, 3, 0);
    spicecap_channel_opened(nullptr, SPICECAP_CHANNEL_MAIN, 0, SPICECAP_HEADER_MINI);
    spicecap_channel_closed(nullptr, SPICECAP_CHANNEL_MAIN, 0);
    spicecap_producer_set_enabled(nullptr, 1);
    CHECK(spicecap_producer_enabled(nullptr) == 0);
    CHECK(spicecap_producer_capturing(nullptr) == 0);
    CHECK(spicecap_producer_flush(nullptr, 10) == 1);
    spicecap_producer_stats stats;
    stats.accepted_records = 99;
    spicecap_producer_get_stats(nullptr, &stats, sizeof stats);
    CHECK(stats.accepted_records == 0);
    char text[8] = "junk";
    CHECK(spicecap_producer_last_error(nullptr, text, sizeof text) == 0);
    CHECK(std::string(text).empty());
    spicecap_producer_free(nullptr);
    CHECK(std::string(spicecap_version()) == SPICECAP_VERSION);
}

TEST_CASE("producer C API: messages and channel events reach the daemon") {
    TempSocketPath socket;
    ProtocolListener listener(socket.path());
    spicecap_producer* producer = spicecap_producer_new("c-api", "vm2", socket.path().c_str(), 0);
    REQUIRE(producer != nullptr);
    CHECK(spicecap_producer_capturing(producer) == 1);
    CHECK(spicecap_producer_enabled(producer) == 1);

    const unsigned char message[5] = {'h', 'e', 'l', 'l', 'o'};
    spicecap_channel_opened(producer, SPICECAP_CHANNEL_DISPLAY, 0, SPICECAP_HEADER_FULL);
    spicecap_packet_sent(producer, SPICECAP_CHANNEL_DISPLAY, 0, message, sizeof message, 11);
    spicecap_packet_received(producer, SPICECAP_CHANNEL_DISPLAY, 0, message, 2, 12);
    spicecap_usb_transfer_out(producer, 1, message, 3, 13);
    spicecap_usb_transfer_in(producer, 1, message, 4, 14);
    spicecap_channel_closed(producer, SPICECAP_CHANNEL_DISPLAY, 0);
    spicecap_producer_set_enabled(producer, 0);
    CHECK(spicecap_producer_capturing(producer) == 0);
    spicecap_packet_sent(producer, SPICECAP_CHANNEL_DISPLAY, 0, message, sizeof message, 15);  // not counted
    CHECK(spicecap_producer_flush(producer, 2000) == 1);

    spicecap_producer_stats stats;
    spicecap_producer_get_stats(producer, &stats, sizeof stats);
    CHECK(stats.accepted_records == 4);
    CHECK(stats.delivered_records == 4);
    CHECK(stats.delivered_bytes == 5 + 2 + 3 + 4);
    CHECK(stats.dropped_records == 0);
    CHECK(stats.connections == 1);
    CHECK(stats.session == 7);
    CHECK(stats.connected == 1);
    // An older caller with a smaller struct gets only the fields it knows.
    spicecap_producer_stats partial{};
    partial.delivered_records = 12345;
    spicecap_producer_get_stats(producer, &partial, sizeof(std::uint64_t) * 2);
    CHECK(partial.accepted_records == 4);
    CHECK(partial.delivered_records == 12345);
    spicecap_producer_free(producer);

    REQUIRE(listener.wait_until([](const std::vector<ReceivedConnection>& c) { return c.size() == 1 && c[0].closed; }, 10s));
    const auto c = listener.connections()[0];
    CHECK(nlohmann::json::parse(c.hello)["session"] == "vm2");
    REQUIRE(c.frames.size() == 6);
    CHECK(c.frames[0].first == FrameType::event);
    CHECK(c.frames[5].first == FrameType::event);
    REQUIRE(c.records.size() == 4);
    CHECK(c.records[0].header.flags == kRecordFlagFullHeader);
    CHECK(c.records[0].header.timestamp_ns == 11);
    CHECK(c.records[0].payload == std::vector<std::uint8_t>(message, message + 5));
    CHECK(c.records[1].header.direction == Direction::server_to_client);
    CHECK(c.records[2].header.kind == StreamKind::usb_vsock);
    CHECK(c.records[2].header.direction == Direction::host_to_device);
    CHECK(c.records[2].header.channel_id == 1);
    CHECK(c.records[3].header.direction == Direction::device_to_host);
    CHECK(c.records[3].header.timestamp_ns == 14);
}

TEST_CASE("producer C API: last_error explains a missing daemon") {
    TempSocketPath socket;
    spicecap_producer* producer = spicecap_producer_new("c-api", nullptr, socket.path().c_str(), 4096);
    REQUIRE(producer != nullptr);
    const std::string expected = "cannot connect to " + socket.path() + ": No such file or directory";
    CHECK(spicecap_producer_last_error(producer, nullptr, 0) == expected.size());
    char small[10];
    CHECK(spicecap_producer_last_error(producer, small, sizeof small) == expected.size());
    CHECK(std::string(small) == expected.substr(0, 9));
    spicecap_producer_free(producer);
}
