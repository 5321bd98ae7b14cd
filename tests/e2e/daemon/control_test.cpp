// Control requests (status, sessions), `spicecap status`, what subscribers get besides SPICE records
// (USB vsock selection, session filter, forwarded events) and daemon timestamps.
#include <doctest/doctest.h>

#include <csignal>
#include <thread>

#include "harness.hpp"

using namespace spicecap;
using namespace spicecap::test;

namespace {

nlohmann::json request(Client& control, const std::string& command) {
    REQUIRE(control.send_json(FrameType::request, {{"command", command}}));
    auto reply = control.read_frame();
    REQUIRE(reply);
    REQUIRE(reply->type == FrameType::reply);
    return reply->json();
}

// Polls status until `records` records arrived.
nlohmann::json status_after(Client& control, std::uint64_t records) {
    for (int i = 0; i < 300; ++i) {
        auto status = request(control, "status")["status"];
        if (status["totals"]["records"] == records) return status;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("the daemon never counted " << records << " records");
    return {};
}

}  // namespace

TEST_CASE("spicecapd: status and sessions describe producers channels subscribers and counters") {
    TempDir dir;
    const auto socket = dir.path() / "d.sock";
    auto daemon = DaemonProcess::start(socket, {"--history-seconds", "60"}, dir.path() / "spicecapd.log");

    Client subscriber(socket);
    REQUIRE(subscriber.hello(subscriber_hello("spice", 0, {"display", "cursor"}))["ok"] == true);
    Client producer(socket);
    const auto session = producer.hello(producer_hello("ryll", "vm1"))["session"].get<std::uint32_t>();
    REQUIRE(producer.send_json(FrameType::event,
                               {{"event", "channel_opened"}, {"kind", "spice"}, {"channel_type", 2}, {"channel_id", 0}, {"header", "full"}}));
    Bytes b;
    append_record(b, StreamKind::spice, Direction::client_to_server, 2, 0, bytes_of("REDQ...."));
    for (int i = 0; i < 9; ++i) append_record(b, StreamKind::spice, Direction::server_to_client, 2, 0, Bytes(100, 1));
    append_record(b, StreamKind::usb_vsock, Direction::host_to_device, 0, 1, Bytes(24, 2));
    REQUIRE(producer.send(b));
    REQUIRE(producer.send_json(FrameType::event, {{"event", "producer_stats"}, {"dropped_records", 3}, {"dropped_bytes", 300}}));
    REQUIRE(producer.send_json(FrameType::event, {{"event", "from_the_future"}, {"x", 1}}));

    Client control(socket);
    REQUIRE(control.hello({{"version", 1}, {"role", "control"}})["ok"] == true);
    const auto status = status_after(control, 11);
    CHECK(status["producers"] == 1);
    CHECK(status["totals"]["bytes"] == 8 + 900 + 24);
    CHECK(status["daemon"]["socket"] == socket.string());
    CHECK(status["daemon"]["pid"] == daemon->pid());
    CHECK(status["daemon"]["limits"]["history_seconds"] == 60.0);
    REQUIRE(status["sessions"].size() == 1);
    const auto& s = status["sessions"][0];
    CHECK(s["id"] == session);
    CHECK(s["label"] == "vm1");
    CHECK(s["name"] == "ryll");
    CHECK(s["active"] == true);
    CHECK(s["records"] == 11);
    REQUIRE(s["channels"].size() == 2);
    CHECK(s["channels"][0]["channel"] == "display");
    CHECK(s["channels"][0]["header"] == "full");
    CHECK(s["channels"][0]["link_stage"] == "complete");  // REDQ and two server records
    CHECK(s["channels"][0]["records"] == 10);
    CHECK(s["channels"][1]["kind"] == "usbvsock");
    CHECK(s["channels"][1]["channel_id"] == 1);
    REQUIRE(status["subscribers"].size() == 1);
    CHECK(status["subscribers"][0]["channels"] == nlohmann::json({"display", "cursor"}));
    CHECK(status["subscribers"][0]["kind"] == "spice");

    // producer_stats arrives in status right after the records.
    for (int i = 0; i < 100 && request(control, "status")["status"]["totals"]["producer_dropped_records"] != 3; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(request(control, "status")["status"]["totals"]["producer_dropped_records"] == 3);
    CHECK(daemon->wait_log("ignoring unknown event \"from_the_future\"", std::chrono::seconds(5)));

    // An unknown command is answered and the connection stays usable.
    auto unknown = request(control, "reboot");
    CHECK(unknown["ok"] == false);
    CHECK(unknown["error"] == "unknown command \"reboot\"");
    auto sessions = request(control, "sessions");
    CHECK(sessions["ok"] == true);
    REQUIRE(sessions["sessions"].size() == 1);
    CHECK(sessions["sessions"][0]["label"] == "vm1");

    // The subscriber got the display records and the forwarded events, not the vsock record.
    int records = 0, stats_events = 0, opened_events = 0;
    while (auto f = subscriber.read_frame(std::chrono::milliseconds(300))) {
        if (f->type == FrameType::record) {
            auto r = Record::parse(f->body);
            REQUIRE(r);
            CHECK(r->header.kind == StreamKind::spice);
            CHECK(r->header.channel_type == 2);
            ++records;
        } else if (f->type == FrameType::event) {
            auto e = f->json();
            CHECK(e["session"] == session);
            CHECK(e["timestamp_ns"].get<std::uint64_t>() > 0);
            if (e["event"] == "producer_stats") ++stats_events;
            if (e["event"] == "channel_opened") ++opened_events;
        }
    }
    CHECK(records == 10);
    CHECK(stats_events == 1);
    CHECK(opened_events == 1);

    // After the producer leaves, its session is listed as ended.
    producer.shutdown_write();
    CHECK(producer.wait_eof(std::chrono::seconds(5)));
    for (int i = 0; i < 100 && request(control, "status")["status"]["producers"] != 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto after = request(control, "sessions")["sessions"];
    REQUIRE(after.size() == 1);
    CHECK(after[0]["active"] == false);
    CHECK(daemon->stop(SIGTERM) == 0);
}

TEST_CASE("spicecapd: usbvsock subscribers and session filters and daemon timestamps") {
    TempDir dir;
    const auto socket = dir.path() / "d.sock";
    auto daemon = DaemonProcess::start(socket, {}, dir.path() / "spicecapd.log");
    Client a(socket), b(socket);
    const auto session_a = a.hello(producer_hello("a", "a"))["session"].get<std::uint32_t>();
    const auto session_b = b.hello(producer_hello("b", "b"))["session"].get<std::uint32_t>();
    Client vsock(socket);
    REQUIRE(vsock.hello(subscriber_hello("usbvsock", 0, nullptr, {session_b}))["ok"] == true);
    Client only_a(socket);
    REQUIRE(only_a.hello(subscriber_hello("spice", 0, nullptr, {session_a}))["ok"] == true);

    const std::uint64_t before = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    for (Client* p : {&a, &b}) {
        Bytes batch;
        append_record(batch, StreamKind::usb_vsock, Direction::device_to_host, 0, 0, bytes_of("ffxD vsock"));
        append_record(batch, StreamKind::spice, Direction::client_to_server, 1, 0, bytes_of("spice"), 1234567890123456789ull);
        append_record(batch, StreamKind::spice, Direction::client_to_server, 1, 0, bytes_of("spice stamped"));
        REQUIRE(p->send(batch));
    }

    auto got = vsock.read_frame();
    REQUIRE(got);
    auto r = Record::parse(got->body);
    REQUIRE(r);
    CHECK(r->header.kind == StreamKind::usb_vsock);
    CHECK(r->header.session == session_b);
    CHECK(r->header.direction == Direction::device_to_host);
    CHECK(r->header.timestamp_ns >= before);  // stamped on arrival
    CHECK_FALSE(vsock.read_frame(std::chrono::milliseconds(300)));

    auto first = only_a.read_frame();
    auto second = only_a.read_frame();
    REQUIRE(first);
    REQUIRE(second);
    auto r1 = Record::parse(first->body);
    auto r2 = Record::parse(second->body);
    CHECK(r1->header.session == session_a);
    CHECK(r1->header.timestamp_ns == 1234567890123456789ull);  // the producer's own timestamp is kept
    CHECK(r2->header.session == session_a);
    CHECK(r2->header.timestamp_ns >= before);
    CHECK_FALSE(only_a.read_frame(std::chrono::milliseconds(300)));
    CHECK(daemon->stop(SIGTERM) == 0);
}

#ifdef SPICECAP_CLI_PATH
TEST_CASE("spicecap status prints a table or the JSON object and explains a missing daemon") {
    TempDir dir;
    const auto socket = dir.path() / "d.sock";
    const std::string cli = std::string(SPICECAP_CLI_PATH) + " status --socket " + socket.string();
    auto [absent_status, absent] = run_command(cli + " 2>&1");
    CHECK(absent_status == 1);
    CHECK(absent.find("no spicecapd is listening on " + socket.string()) != std::string::npos);

    auto daemon = DaemonProcess::start(socket, {}, dir.path() / "spicecapd.log");
    Client producer(socket);
    REQUIRE(producer.hello(producer_hello("ryll", "my-vm"))["ok"] == true);
    Bytes b;
    append_record(b, StreamKind::spice, Direction::server_to_client, 2, 1, Bytes(2048, 0));
    REQUIRE(producer.send(b));
    Client subscriber(socket);
    REQUIRE(subscriber.hello(subscriber_hello("spice", 0, {"display"}))["ok"] == true);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));

    auto [table_status, table] = run_command(cli);
    CHECK(table_status == 0);
    CHECK(table.find("my-vm") != std::string::npos);
    CHECK(table.find("ryll (pid ") != std::string::npos);
    CHECK(table.find("display:1") != std::string::npos);
    CHECK(table.find("2.0 KiB") != std::string::npos);
    CHECK(table.find("SUBSCRIBER") != std::string::npos);

    auto [json_status, text] = run_command(cli + " --json");
    CHECK(json_status == 0);
    auto status = nlohmann::json::parse(text);
    CHECK(status["sessions"][0]["label"] == "my-vm");
    CHECK(status["totals"]["records"] == 1);
    CHECK(status["subscribers"][0]["channels"][0] == "display");

    // SPICECAP_SOCKET is honoured without --socket.
    auto [env_status, env_text] = run_command("SPICECAP_SOCKET=" + socket.string() + " " + SPICECAP_CLI_PATH + " status --json");
    CHECK(env_status == 0);
    CHECK(nlohmann::json::parse(env_text)["daemon"]["socket"] == socket.string());
    CHECK(daemon->stop(SIGTERM) == 0);
}
#endif
