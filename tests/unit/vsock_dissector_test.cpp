// packaging/wireshark/usb_vsock.lua, tested the way a user meets it: a capture written with real
// libpcap (nanosecond pcap, LINKTYPE_USER0) holding a whole USB vsock session plus malformed
// transfers, decoded by the real tshark (4.0 here, 4.4 and 4.6 in tests/compat) with the script
// loaded, and the decoded fields, Info column, expert infos and display filters checked. tshark runs
// with a fresh HOME so that a copy of the plugin installed in the personal folder (or personal
// preferences) cannot interfere. What differs by Wireshark version is asked of tshark, not assumed:
// which fields exist (tshark -G fields), how booleans print (1/0, True/False since 4.2), and whether
// `-X lua_script:` is honoured (not for root since 4.2: then the script goes into a private copy of
// the global plugin folder, the only one root's Wireshark reads).
#include "pcap/vsock_frames.hpp"
#include "vsock/vsock_packet.hpp"
#include "temp_dir.hpp"
#include "cli/wireshark_folders.hpp"

#include <doctest/doctest.h>
#include <pcap/pcap.h>

#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace spicecap::vsock;
using spicecap::Direction;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<std::uint8_t>;

std::span<const std::uint8_t> as_bytes(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::string hex(std::span<const std::uint8_t> bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const std::uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

constexpr auto h2d = Direction::host_to_device;
constexpr auto d2h = Direction::device_to_host;

// Collects pcap records in order and remembers which frame number each one gets.
class CaptureBuilder {
public:
    // Appends the records carrying one transfer; returns the frame number of the last one.
    int transfer(Direction direction, const Bytes& bytes, std::optional<std::uint32_t> original_length = {},
                 bool drops_before = false) {
        for (const PcapRecord& part : split_transfer({direction, 0, drops_before, original_length}, bytes)) {
            records_.push_back(build_pcap_record(part));
        }
        return frame();
    }
    // Appends one record exactly as given (for malformed pseudo-headers).
    int raw(Bytes record) {
        records_.push_back(std::move(record));
        return frame();
    }
    int frame() const { return static_cast<int>(records_.size()); }

    void write(const fs::path& path, int linktype) const {
        pcap_t* dead = pcap_open_dead_with_tstamp_precision(linktype, 262144, PCAP_TSTAMP_PRECISION_NANO);
        REQUIRE(dead != nullptr);
        pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
        REQUIRE_MESSAGE(dumper != nullptr, pcap_geterr(dead));
        std::uint64_t ns = 1'700'000'000'000'000'123ull;
        for (const Bytes& record : records_) {
            pcap_pkthdr header{};
            header.ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
            header.ts.tv_usec = static_cast<suseconds_t>(ns % 1'000'000'000);  // nanoseconds in a nano dump
            header.caplen = header.len = static_cast<bpf_u_int32>(record.size());
            pcap_dump(reinterpret_cast<u_char*>(dumper), &header, record.data());
            ns += 1'000'017;
        }
        pcap_dump_close(dumper);
        pcap_close(dead);
    }

private:
    std::vector<Bytes> records_;
};

Bytes packets(std::initializer_list<std::tuple<PacketType, Address, std::string>> list) {
    Bytes transfer;
    for (const auto& [type, address, payload] : list) append_packet(transfer, type, address, as_bytes(payload));
    return transfer;
}

const Address ssh{3, 2, 22, 5001};
const Address web{3, 2, 80, 5002};
const Address late{3, 2, 30, 5003};
const Address stranger{3, 2, 23, 6000};
const Address control{};

// The session every test decodes, with the frame number of each interesting record.
struct Session {
    CaptureBuilder capture;
    int sync_host, sync_device, connect, accept, two_packets, reply, echo, echo_reply, pause_on, pause_off, fifty,
        big_first, big_last, finish, reset, connect_web, accept_web, bad_magic, past_end, short_header,
        unknown_type, never_connected, after_reset, bad_version, too_short, orphan_fragment, truncated,
        sync_not_last, connect_late, accept_and_data_late, after_drops;
    Bytes big_payload;
};

Session make_session() {
    Session s;
    CaptureBuilder& c = s.capture;
    s.sync_host = c.transfer(h2d, packets({{PacketType::sync, control, "vsock:1"}}));
    s.sync_device = c.transfer(d2h, packets({{PacketType::sync, control, "vsock:1"}}));
    s.connect = c.transfer(h2d, packets({{PacketType::connect, ssh, ""}}));
    s.accept = c.transfer(d2h, packets({{PacketType::accept, ssh, ""}}));
    s.two_packets = c.transfer(h2d, packets({{PacketType::data, ssh, "hello, world"}, {PacketType::data, control, "control"}}));
    s.reply = c.transfer(d2h, packets({{PacketType::data, ssh, "SSH-2.0-spicecap\r\n"}}));
    s.echo = c.transfer(h2d, packets({{PacketType::echo, control, "ping"}}));
    s.echo_reply = c.transfer(d2h, packets({{PacketType::echo_reply, control, "ping"}}));
    Bytes pause;
    append_packet(pause, PacketType::pause, control, pause_payload(true));
    s.pause_on = c.transfer(d2h, pause);
    pause.clear();
    append_packet(pause, PacketType::pause, control, pause_payload(false));
    s.pause_off = c.transfer(d2h, pause);

    Bytes fifty;
    for (int i = 0; i < 50; ++i) {
        char text[16];
        std::snprintf(text, sizeof text, "chunk %02d", i);
        append_packet(fifty, PacketType::data, ssh, as_bytes(text));
    }
    s.fifty = c.transfer(h2d, fifty);

    // One transfer of exactly 1 MiB: a single Data packet; it needs 5 records.
    s.big_payload.resize(1024 * 1024 - Header::size);
    for (std::size_t i = 0; i < s.big_payload.size(); ++i) s.big_payload[i] = static_cast<std::uint8_t>(i * 31 + (i >> 12));
    Bytes big;
    append_packet(big, PacketType::data, ssh, s.big_payload);
    s.big_first = c.frame() + 1;
    s.big_last = c.transfer(h2d, big);

    s.finish = c.transfer(h2d, packets({{PacketType::finish, ssh, ""}}));
    s.reset = c.transfer(d2h, packets({{PacketType::reset, ssh, ""}}));
    s.connect_web = c.transfer(h2d, packets({{PacketType::connect, web, ""}}));
    s.accept_web = c.transfer(d2h, packets({{PacketType::accept, web, ""}}));

    // --- malformed transfers; decoding must go on after each of them
    Bytes bad = packets({{PacketType::data, web, "one"}, {PacketType::data, web, "two"}, {PacketType::data, web, "three"}});
    bad[Header::size + 3 + 1] = 'F';  // second packet's magic: "fFx"
    s.bad_magic = c.transfer(h2d, bad);

    Bytes past = packets({{PacketType::data, web, "0123456789"}});
    past[20] = 100;  // payload_len 100, 10 bytes present
    s.past_end = c.transfer(h2d, past);

    Bytes header_only = packets({{PacketType::connect, web, ""}});
    header_only.resize(10);
    s.short_header = c.transfer(h2d, header_only);

    Bytes unknown = packets({{PacketType::data, web, ""}, {PacketType::data, web, "after unknown"}});
    unknown[3] = 'Q';
    s.unknown_type = c.transfer(h2d, unknown);

    s.never_connected = c.transfer(h2d, packets({{PacketType::data, stranger, "who?"}}));
    s.after_reset = c.transfer(h2d, packets({{PacketType::data, ssh, "late"}}));

    Bytes version9 = build_pcap_record(split_transfer({}, packets({{PacketType::data, web, "v9"}})).front());
    version9[0] = 9;
    s.bad_version = c.raw(version9);
    s.too_short = c.raw(Bytes{1, 0, 0, 0, 0});

    PseudoHeader orphan;
    orphan.transfer_length = 1000;
    orphan.fragment_offset = 100;
    s.orphan_fragment = c.raw(build_pcap_record({orphan, Bytes(50, 0xab)}));

    Bytes cut = packets({{PacketType::data, web, std::string(100, 'x')}});
    cut.resize(Header::size + 50);
    s.truncated = c.transfer(h2d, cut, Header::size + 100);

    s.sync_not_last = c.transfer(h2d, packets({{PacketType::sync, control, "vsock:1"}, {PacketType::echo, control, "late"}}));
    s.connect_late = c.transfer(h2d, packets({{PacketType::connect, late, ""}}));
    s.accept_and_data_late =
        c.transfer(d2h, packets({{PacketType::accept, late, ""}, {PacketType::data, late, "still decoding"}}));
    s.after_drops = c.transfer(h2d, packets({{PacketType::data, late, "after a gap"}}), std::nullopt, true);
    return s;
}

struct Tshark {
    int status = -1;
    std::string out;
    std::string err;
};

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// A scratch folder per test process: capture files, tshark output and the empty HOME.
fs::path scratch() {
    static const spicecap::test::TempDir dir("spicecap-vsock-dissector");
    static const bool home_made = fs::create_directories(dir.path() / "home");
    (void)home_made;
    return dir.path();
}

std::string quote(const std::string& arg) {
    std::string q = "'";
    for (const char ch : arg) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    return q + "'";
}

const fs::path kScript = fs::path(SPICECAP_SOURCE_DIR) / "packaging" / "wireshark" / "usb_vsock.lua";

// The output of a shell command (stdout only).
std::string output_of(const std::string& command) {
    std::string text;
    if (FILE* out = ::popen(command.c_str(), "r")) {
        char buf[65536];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, out)) > 0;) text.append(buf, n);
        ::pclose(out);
    }
    return text;
}

// Whether this tshark loads a script named by `-X lua_script:` (not as root since Wireshark 4.2). Asked
// once: a filter on a usbvsock field compiles only when the script was loaded.
bool lua_script_option_works() {
    static const bool works = [] {
        const fs::path empty = scratch() / "empty.pcap";
        pcap_t* dead = pcap_open_dead(default_linktype, 65535);
        pcap_dumper_t* dumper = pcap_dump_open(dead, empty.c_str());
        pcap_dump_close(dumper);
        pcap_close(dead);
        const std::string command = "env HOME=" + quote(scratch() / "home") + " tshark -X lua_script:" + quote(kScript) +
                                    " -r " + quote(empty) + " -Y usbvsock.type >/dev/null 2>&1";
        return std::system(command.c_str()) == 0;
    }();
    return works;
}

// For a tshark that ignores `-X lua_script:` (root, 4.2+): a command prefix that runs it in a mount
// namespace of its own where the global Lua plugin folder is a private one holding links to what the real
// one holds plus `scripts`, in load order (Wireshark loads a folder's scripts by name). Nothing outside
// that process sees it.
std::string private_global_lua_prefix(const std::vector<fs::path>& scripts) {
    static int made = 0;
    const std::string version_text = output_of("tshark --version 2>/dev/null");
    const auto version = spicecap::cli::WiresharkVersion::parse(version_text);
    REQUIRE(version.has_value());
    const auto folders = spicecap::cli::folders_from(
        spicecap::cli::parse_folders_text(output_of("tshark -G folders 2>/dev/null")), *version);
    REQUIRE_MESSAGE(folders.has_value(), folders.error());
    REQUIRE(folders->has_lua());
    const fs::path private_dir = scratch() / ("global-lua-" + std::to_string(++made));
    fs::create_directories(private_dir);
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(folders->global_lua, ec))
        fs::create_symlink(entry.path(), private_dir / entry.path().filename());
    for (std::size_t i = 0; i < scripts.size(); ++i) {
        const std::string order = std::string(i < 10 ? "0" : "").append(std::to_string(i)).append("-");
        fs::create_symlink(scripts[i], private_dir / (order + scripts[i].filename().string()));
    }
    return "unshare --mount --propagation private sh -c 'mount --bind \"$0\" \"$1\" && shift && exec \"$@\"' " +
           quote(private_dir) + " " + quote(folders->global_lua) + " ";
}

// "True"/"False" (Wireshark 4.2 and later) or "1"/"0" (4.0) as "1"/"0": a boolean field's value.
std::string boolean_text(const std::string& printed) {
    if (printed == "True") return "1";
    if (printed == "False") return "0";
    return printed;
}

// Those of `names` that this tshark knows (tshark -G fields): some change between versions, e.g.
// _ws.malformed.dissector_bug is gone in 4.4.
std::set<std::string> known_fields(const std::set<std::string>& names) {
    static const std::string fields = output_of("tshark -G fields 2>/dev/null");
    std::set<std::string> known;
    for (const std::string& name : names) {
        if (fields.find("\t" + name + "\t") != std::string::npos) known.insert(name);
    }
    return known;
}

// Runs tshark with the dissector script (and any extra scripts) on `capture` plus `args`; stdout
// and stderr kept apart.
Tshark run_tshark(const fs::path& capture, const std::vector<std::string>& args,
                  const std::vector<fs::path>& extra_scripts = {}) {
    const fs::path home = scratch() / "home";
    const fs::path out = scratch() / "tshark.out";
    const fs::path err = scratch() / "tshark.err";
    std::string command = "env HOME=" + quote(home) + " XDG_CONFIG_HOME=" + quote(home / ".config") + " ";
    if (lua_script_option_works()) {
        command.append("tshark -X lua_script:").append(quote(kScript));
        for (const fs::path& script : extra_scripts) command.append(" -X lua_script:").append(quote(script));
    } else {
        std::vector<fs::path> scripts{kScript};
        scripts.insert(scripts.end(), extra_scripts.begin(), extra_scripts.end());
        command.append(private_global_lua_prefix(scripts)).append("tshark");
    }
    command.append(" -r ").append(quote(capture));
    for (const std::string& arg : args) command.append(" ").append(quote(arg));
    command.append(" >").append(quote(out)).append(" 2>").append(quote(err));
    Tshark result;
    result.status = std::system(command.c_str());
    result.out = read_file(out);
    result.err = read_file(err);
    return result;
}

// stderr minus the line tshark always prints when run as root.
std::string meaningful_stderr(const std::string& err) {
    std::istringstream in(err);
    std::string line, kept;
    while (std::getline(in, line)) {
        if (line.find("Running as user \"root\"") != std::string::npos || line.empty()) continue;
        kept += line + "\n";
    }
    return kept;
}

// `-T fields -e frame.number -e ...` output as frame number -> the other columns.
std::map<int, std::vector<std::string>> fields_by_frame(const Tshark& run) {
    std::map<int, std::vector<std::string>> rows;
    std::istringstream in(run.out);
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> columns;
        std::size_t start = 0;
        while (true) {
            const std::size_t tab = line.find('\t', start);
            columns.push_back(line.substr(start, tab - start));
            if (tab == std::string::npos) break;
            start = tab + 1;
        }
        const int frame = std::stoi(columns.front());
        columns.erase(columns.begin());
        rows[frame] = columns;
    }
    return rows;
}

std::vector<std::string> fields_args(std::initializer_list<std::string> fields) {
    std::vector<std::string> args{"-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-e", "frame.number"};
    for (const std::string& field : fields) {
        args.push_back("-e");
        args.push_back(field);
    }
    return args;
}

// The frames a display filter selects.
std::vector<int> frames_matching(const fs::path& capture, const std::string& filter) {
    const Tshark run = run_tshark(capture, {"-Y", filter, "-T", "fields", "-e", "frame.number"});
    REQUIRE_MESSAGE(run.status == 0, run.err);
    std::vector<int> frames;
    std::istringstream in(run.out);
    for (int frame; in >> frame;) frames.push_back(frame);
    return frames;
}

// Frames where the script raised a Lua error or Wireshark caught an exception (our own expert
// infos of group Malformed also set _ws.malformed, so that alone would not do): of these fields,
// those this Wireshark has.
std::string script_failure_filter() {
    const auto fields = known_fields({"_ws.lua.error", "_ws.malformed.expert", "_ws.malformed.dissector_bug"});
    REQUIRE_MESSAGE(fields.count("_ws.lua.error") == 1, "tshark -G fields has no _ws.lua.error");
    std::string filter;
    for (const std::string& field : fields) filter.append(filter.empty() ? "" : " || ").append(field);
    return filter;
}

struct Fixture {
    Session session = make_session();
    fs::path capture = scratch() / "session.pcap";
    Fixture() { session.capture.write(capture, default_linktype); }
};

}  // namespace

TEST_CASE("vsock dissector: loads without a Lua error and decodes every record of a session") {
    Fixture fx;
    const Tshark run = run_tshark(fx.capture, {"-V"});
    CHECK(run.status == 0);
    CHECK_MESSAGE(meaningful_stderr(run.err).empty(), run.err);
    CHECK(run.out.find("Lua Error") == std::string::npos);
    CHECK(run.out.find("[Malformed Packet") == std::string::npos);
    CHECK(frames_matching(fx.capture, script_failure_filter()).empty());
    const Tshark protocols = run_tshark(fx.capture, fields_args({"frame.protocols"}));
    const auto rows = fields_by_frame(protocols);
    REQUIRE(static_cast<int>(rows.size()) == fx.session.capture.frame());
    for (const auto& [frame, columns] : rows) {
        CAPTURE(frame);
        CHECK(columns.at(0) == "usbvsock");
    }
}

TEST_CASE("vsock dissector: header fields and payloads and Sync version and Pause flag decode as written") {
    Fixture fx;
    const Session& s = fx.session;
    const Tshark run = run_tshark(
        fx.capture, fields_args({"usbvsock.version", "usbvsock.direction", "usbvsock.flags", "usbvsock.type",
                                 "usbvsock.type_name", "usbvsock.device_cid", "usbvsock.host_cid",
                                 "usbvsock.device_port", "usbvsock.host_port", "usbvsock.payload_len",
                                 "usbvsock.payload", "usbvsock.sync_version", "usbvsock.pause", "usbvsock.packet_count"}));
    REQUIRE_MESSAGE(run.status == 0, run.err);
    auto rows = fields_by_frame(run);
    for (auto& [frame, columns] : rows) columns.at(12) = boolean_text(columns.at(12));  // usbvsock.pause
    struct Expect {
        int frame;
        std::vector<std::string> columns;
    };
    const std::string hello = hex(as_bytes("hello, world")) + "," + hex(as_bytes("control"));
    const Expect expected[] = {
        {s.sync_host, {"1", "0", "0x0000", "S", "Sync", "0", "0", "0", "0", "7", hex(as_bytes("vsock:1")), "vsock:1", "", "1"}},
        {s.sync_device, {"1", "1", "0x0000", "S", "Sync", "0", "0", "0", "0", "7", hex(as_bytes("vsock:1")), "vsock:1", "", "1"}},
        {s.connect, {"1", "0", "0x0000", "C", "Connect", "3", "2", "22", "5001", "0", "", "", "", "1"}},
        {s.accept, {"1", "1", "0x0000", "A", "Accept", "3", "2", "22", "5001", "0", "", "", "", "1"}},
        {s.two_packets, {"1", "0", "0x0000", "D,D", "Data,Data", "3,0", "2,0", "22,0", "5001,0", "12,7", hello, "", "", "2"}},
        {s.echo, {"1", "0", "0x0000", "E", "Echo", "0", "0", "0", "0", "4", hex(as_bytes("ping")), "", "", "1"}},
        {s.echo_reply, {"1", "1", "0x0000", "e", "EchoReply", "0", "0", "0", "0", "4", hex(as_bytes("ping")), "", "", "1"}},
        {s.pause_on, {"1", "1", "0x0000", "X", "Pause", "0", "0", "0", "0", "1", "01", "", "1", "1"}},
        {s.pause_off, {"1", "1", "0x0000", "X", "Pause", "0", "0", "0", "0", "1", "00", "", "0", "1"}},
        {s.finish, {"1", "0", "0x0000", "F", "Finish", "3", "2", "22", "5001", "0", "", "", "", "1"}},
        {s.reset, {"1", "1", "0x0000", "R", "Reset", "3", "2", "22", "5001", "0", "", "", "", "1"}},
    };
    for (const Expect& e : expected) {
        CAPTURE(e.frame);
        REQUIRE(rows.count(e.frame) == 1);
        CHECK(rows.at(e.frame) == e.columns);
    }

    // 50 packets in one transfer: all decoded, in order.
    const auto& fifty = rows.at(s.fifty);
    CHECK(fifty.at(13) == "50");
    std::string types, payloads;
    for (int i = 0; i < 50; ++i) {
        char text[16];
        std::snprintf(text, sizeof text, "chunk %02d", i);
        types += i ? ",D" : "D";
        payloads.append(i ? "," : "").append(hex(as_bytes(text)));
    }
    CHECK(fifty.at(3) == types);
    CHECK(fifty.at(10) == payloads);

    // The 1 MiB transfer: fragments carry no vsock packet; the last record has it reassembled whole.
    for (int frame = s.big_first; frame < s.big_last; ++frame) {
        CAPTURE(frame);
        CHECK(rows.at(frame).at(2) == "0x0001");  // more fragments
        CHECK(rows.at(frame).at(3).empty());
    }
    CHECK(s.big_last - s.big_first + 1 == 5);
    const auto& big = rows.at(s.big_last);
    CHECK(big.at(3) == "D");
    CHECK(big.at(7) == "22");
    CHECK(big.at(9) == std::to_string(1024 * 1024 - Header::size));
    CHECK(big.at(10) == hex(s.big_payload));
}

TEST_CASE("vsock dissector: Info column names each packet with its endpoints sender first") {
    Fixture fx;
    const Session& s = fx.session;
    const Tshark run = run_tshark(fx.capture, fields_args({"_ws.col.Info"}));
    REQUIRE_MESSAGE(run.status == 0, run.err);
    const auto rows = fields_by_frame(run);
    const std::map<int, std::string> expected{
        {s.sync_host, "Sync vsock:1"},
        {s.sync_device, "Sync vsock:1"},
        {s.connect, "Connect 2:5001 → 3:22"},
        {s.accept, "Accept 3:22 → 2:5001"},
        {s.two_packets, "Data 2:5001 → 3:22 len=12, Data control len=7"},
        {s.reply, "Data 3:22 → 2:5001 len=18"},
        {s.echo, "Echo len=4"},
        {s.echo_reply, "EchoReply len=4"},
        {s.pause_on, "Pause on"},
        {s.pause_off, "Pause off"},
        {s.big_first, "Fragment of a 1048576-byte transfer (offset 0, 262128 bytes)"},
        {s.big_last, "Data 2:5001 → 3:22 len=1048552 [reassembled from 5 records]"},
        {s.finish, "Finish 2:5001 → 3:22"},
        {s.reset, "Reset 3:22 → 2:5001"},
        {s.bad_magic, "Data 2:5002 → 3:80 len=3, [bad magic]"},
        {s.past_end, "Data 2:5002 → 3:80 len=100 [past end]"},
        {s.short_header, "[truncated header]"},
        {s.unknown_type, "Unknown(0x51) 2:5002 → 3:80 len=0, Data 2:5002 → 3:80 len=13"},
        {s.never_connected, "Data 2:6000 → 3:23 len=4"},
        {s.after_reset, "Data 2:5001 → 3:22 len=4"},
        {s.bad_version, "[Unsupported record version 9]"},
        {s.too_short, "[Malformed record: 5 bytes]"},
        {s.orphan_fragment, "Fragment of a 1000-byte transfer (offset 100, 50 bytes)"},
        {s.truncated, "Data 2:5002 → 3:80 len=100 [cut]"},
        {s.sync_not_last, "Sync vsock:1, Echo len=4"},
        {s.connect_late, "Connect 2:5003 → 3:30"},
        {s.accept_and_data_late, "Accept 3:30 → 2:5003, Data 3:30 → 2:5003 len=14"},
    };
    for (const auto& [frame, info] : expected) {
        CAPTURE(frame);
        REQUIRE(rows.count(frame) == 1);
        CHECK(rows.at(frame).at(0) == info);
    }
    std::string fifty;
    for (int i = 0; i < 50; ++i) fifty += std::string(i ? ", " : "") + "Data 2:5001 → 3:22 len=8";
    CHECK(rows.at(s.fifty).at(0) == fifty);

    // Source and Destination: the sender's and receiver's cid:port, or the USB sides when no
    // packet of the transfer names a connection.
    const Tshark columns = run_tshark(fx.capture, fields_args({"_ws.col.Source", "_ws.col.Destination"}));
    const auto ends = fields_by_frame(columns);
    CHECK(ends.at(s.connect) == std::vector<std::string>{"2:5001", "3:22"});
    CHECK(ends.at(s.reply) == std::vector<std::string>{"3:22", "2:5001"});
    CHECK(ends.at(s.sync_host) == std::vector<std::string>{"host", "device"});
    CHECK(ends.at(s.pause_on) == std::vector<std::string>{"device", "host"});
}

TEST_CASE("vsock dissector: malformed transfers raise expert infos exactly where they are") {
    Fixture fx;
    const Session& s = fx.session;
    struct Expect {
        std::string expert;
        std::vector<int> frames;
    };
    const Expect expected[] = {
        {"usbvsock.bad_magic", {s.bad_magic}},
        {"usbvsock.payload_past_end", {s.past_end}},
        {"usbvsock.truncated_header", {s.short_header}},
        {"usbvsock.unknown_type", {s.unknown_type}},
        {"usbvsock.sync_not_last", {s.sync_not_last}},
        {"usbvsock.not_connected", {s.never_connected, s.after_reset}},
        {"usbvsock.bad_record", {s.bad_version, s.too_short}},
        {"usbvsock.missing_fragment", {s.orphan_fragment}},
        {"usbvsock.payload_cut", {s.truncated}},
        {"usbvsock.drops", {s.after_drops}},
        {"usbvsock.flags.drops_before == 1", {s.after_drops}},
    };
    for (const Expect& e : expected) {
        CAPTURE(e.expert);
        CHECK(frames_matching(fx.capture, e.expert) == e.frames);
    }
    // Severity as Wireshark colours it: the malformations are errors.
    CHECK(frames_matching(fx.capture, "_ws.expert.severity == error") ==
          std::vector<int>{s.bad_magic, s.past_end, s.short_header, s.unknown_type, s.bad_version, s.too_short});

    // The messages say what and where.
    const Tshark run = run_tshark(fx.capture, fields_args({"_ws.expert.message"}));
    const auto rows = fields_by_frame(run);
    CHECK(rows.at(s.bad_magic).at(0) == "Bad magic at offset 27 (expected \"ffx\")");
    CHECK(rows.at(s.past_end).at(0) ==
          "payload_len 100 runs past the end of the transfer (10 bytes after the header at offset 0)");
    CHECK(rows.at(s.short_header).at(0) == "Truncated vsock header at offset 0: 10 of 24 bytes");
    CHECK(rows.at(s.sync_not_last).at(0) == "Sync is followed by more packets in the same transfer");

    // Good records around the bad ones carry no expert info at all.
    CHECK(frames_matching(fx.capture, "_ws.expert && frame.number <= " + std::to_string(s.accept_web)).empty());
    CHECK(frames_matching(fx.capture, "_ws.expert && frame.number >= " + std::to_string(s.connect_late)) ==
          std::vector<int>{s.after_drops});
}

TEST_CASE("vsock dissector: display filters select exactly the expected packets") {
    Fixture fx;
    const Session& s = fx.session;
    CHECK(frames_matching(fx.capture, "usbvsock.type == \"D\" && usbvsock.device_port == 22") ==
          std::vector<int>{s.two_packets, s.reply, s.fifty, s.big_last, s.after_reset});
    CHECK(frames_matching(fx.capture, "usbvsock.type == \"S\"") ==
          std::vector<int>{s.sync_host, s.sync_device, s.sync_not_last});
    CHECK(frames_matching(fx.capture, "usbvsock.sync_version == \"vsock:1\" && usbvsock.direction == 1") ==
          std::vector<int>{s.sync_device});
    CHECK(frames_matching(fx.capture, "usbvsock.pause == 1") == std::vector<int>{s.pause_on});
    CHECK(frames_matching(fx.capture, "usbvsock.control") == std::vector<int>{s.two_packets});
    CHECK(frames_matching(fx.capture, "usbvsock.payload contains \"SSH-2.0\"") == std::vector<int>{s.reply});
}

TEST_CASE("vsock dissector: each address pair's connection is one stream") {
    Fixture fx;
    const Session& s = fx.session;
    const Tshark run = run_tshark(fx.capture, fields_args({"usbvsock.stream"}));
    const auto rows = fields_by_frame(run);
    // ssh is stream 0 from Connect to Reset; the control stream is its own; Data after the Reset
    // starts a new stream, as a reused TCP port pair does.
    CHECK(rows.at(s.connect).at(0) == "0");
    CHECK(rows.at(s.accept).at(0) == "0");
    CHECK(rows.at(s.reply).at(0) == "0");
    CHECK(rows.at(s.finish).at(0) == "0");
    CHECK(rows.at(s.reset).at(0) == "0");
    CHECK(rows.at(s.two_packets).at(0) == "0,1");
    CHECK(rows.at(s.echo).at(0).empty());
    const std::string web_stream = rows.at(s.connect_web).at(0);
    CHECK(web_stream == "2");
    CHECK(rows.at(s.accept_web).at(0) == web_stream);
    CHECK(rows.at(s.past_end).at(0) == web_stream);
    CHECK(rows.at(s.after_reset).at(0) != "0");
    CHECK(frames_matching(fx.capture, "usbvsock.stream == 0") ==
          std::vector<int>{s.connect, s.accept, s.two_packets, s.reply, s.fifty, s.big_last, s.finish, s.reset});
}

TEST_CASE("vsock dissector: the link type follows the usbvsock.linktype preference") {
    Fixture fx;
    const fs::path user3 = scratch() / "user3.pcap";
    fx.session.capture.write(user3, 150);
    // Not ours by default: USER3 stays with Wireshark's DLT_USER handling.
    CHECK(frames_matching(user3, "usbvsock").empty());
    const Tshark run = run_tshark(user3, {"-o", "usbvsock.linktype:150", "-Y", "usbvsock.type == \"C\"", "-T",
                                          "fields", "-e", "frame.number"});
    CHECK_MESSAGE(meaningful_stderr(run.err).empty(), run.err);
    CHECK(run.out == std::to_string(fx.session.connect) + "\n" + std::to_string(fx.session.connect_web) + "\n" +
                         std::to_string(fx.session.connect_late) + "\n");
    // And USER0 is then given back.
    const Tshark user0 = run_tshark(fx.capture, {"-o", "usbvsock.linktype:150", "-Y", "usbvsock", "-T", "fields",
                                                 "-e", "frame.number"});
    CHECK(user0.out.empty());
}

TEST_CASE("vsock dissector: Data payloads go to the dissector registered for their port") {
    Fixture fx;
    const Session& s = fx.session;
    // A stand-in for a real protocol on port 22: it claims the payload and says so in Info.
    const fs::path probe = scratch() / "port22_probe.lua";
    std::ofstream(probe) << R"(
local p = Proto("port22probe", "Port 22 probe")
local f_len = ProtoField.uint32("port22probe.len", "Payload bytes seen")
p.fields = { f_len }
function p.dissector(tvb, pinfo, tree)
    tree:add(p, tvb()):add(f_len, tvb:len())
    pinfo.cols.info = "probe saw " .. tvb:len()
    return tvb:len()
end
DissectorTable.get("usbvsock.port"):add(22, p)
)";
    const Tshark run = run_tshark(fx.capture, fields_args({"port22probe.len", "_ws.col.Info"}), {probe});
    CHECK_MESSAGE(meaningful_stderr(run.err).empty(), run.err);
    const auto rows = fields_by_frame(run);
    // The ssh connection's device port is 22, so its Data in both directions reaches the probe;
    // the control-stream packet of the same transfer does not.
    CHECK(rows.at(s.two_packets).at(0) == "12");
    CHECK(rows.at(s.two_packets).at(1) == "Data 2:5001 → 3:22 len=12, Data control len=7 | probe saw 12");
    CHECK(rows.at(s.reply).at(0) == "18");
    CHECK(rows.at(s.big_last).at(0) == std::to_string(s.big_payload.size()));
    CHECK(rows.at(s.connect).at(0).empty());  // no payload, nothing handed over
    CHECK(rows.at(s.past_end).at(0).empty());  // port 80: shown as usbvsock.payload only
}

TEST_CASE("vsock dissector: random and mangled records never make the script fail") {
    std::mt19937 rng(4242);  // fixed seed: a failure is reproducible
    Bytes valid;
    append_packet(valid, PacketType::connect, ssh);
    append_packet(valid, PacketType::data, ssh, as_bytes("hello, world"));
    append_packet(valid, PacketType::pause, control, pause_payload(true));
    append_packet(valid, PacketType::sync, control, as_bytes("vsock:2:abc"));

    CaptureBuilder capture;
    const int records = 3000;
    for (int i = 0; i < records; ++i) {
        Bytes transfer = valid;
        switch (rng() % 3) {
            case 0:  // flip bits, then cut anywhere
                for (int flips = 1 + rng() % 4; flips > 0; --flips) transfer[rng() % transfer.size()] ^= 1u << (rng() % 8);
                transfer.resize(rng() % (transfer.size() + 1));
                break;
            case 1:  // a plausible header with random fields and random bytes after it
                transfer.assign(Header::size + rng() % 64, 0);
                for (auto& b : transfer) b = static_cast<std::uint8_t>(rng());
                std::memcpy(transfer.data(), "ffx", 3);
                transfer[3] = static_cast<std::uint8_t>("SCAFRDEeXQ\x00\xff"[rng() % 12]);
                break;
            default:  // pure noise
                transfer.assign(rng() % 80, 0);
                for (auto& b : transfer) b = static_cast<std::uint8_t>(rng());
        }
        PseudoHeader header;
        header.direction = static_cast<Direction>(rng() % 3 == 0 ? rng() % 256 : rng() % 2);
        header.flags = static_cast<std::uint16_t>(rng() % 4 == 0 ? rng() : 0);
        header.link = rng() % 3;
        header.transfer_length = static_cast<std::uint32_t>(transfer.size() + (rng() % 4 == 0 ? rng() % 100 : 0));
        header.fragment_offset = rng() % 5 == 0 ? rng() % 100 : 0;
        if (rng() % 20 == 0) header.version = static_cast<std::uint8_t>(rng());
        Bytes record = build_pcap_record({header, transfer});
        if (rng() % 20 == 0) record.resize(rng() % PseudoHeader::size);
        capture.raw(record);
    }
    const fs::path path = scratch() / "mangled.pcap";
    capture.write(path, default_linktype);

    const Tshark run = run_tshark(path, fields_args({"frame.protocols", "frame.len"}));
    CHECK_MESSAGE(meaningful_stderr(run.err).empty(), run.err);
    const auto rows = fields_by_frame(run);
    CHECK(static_cast<int>(rows.size()) == records);
    for (const auto& [frame, columns] : rows) {
        // Wireshark lists no protocol for an empty frame, though our dissector still flags it.
        const std::string expected = columns.at(1) == "0" ? "" : "usbvsock";
        if (columns.at(0) != expected) FAIL_CHECK("frame " << frame << " decoded as " << columns.at(0));
    }
    CHECK(frames_matching(path, script_failure_filter()).empty());
    CHECK_FALSE(frames_matching(path, "usbvsock.bad_record && frame.len == 0").empty());
}

TEST_CASE("vsock dissector: on a second pass the fragments point to the record that completes them") {
    Fixture fx;
    const Session& s = fx.session;
    const Tshark run = run_tshark(fx.capture, [] {
        auto args = fields_args({"usbvsock.reassembled_in", "usbvsock.fragment_frames", "_ws.col.Info"});
        args.insert(args.begin(), "-2");
        return args;
    }());
    REQUIRE_MESSAGE(run.status == 0, run.err);
    const auto rows = fields_by_frame(run);
    std::string fragment_frames;
    for (int frame = s.big_first; frame <= s.big_last; ++frame) {
        fragment_frames.append(frame == s.big_first ? "" : ",").append(std::to_string(frame));
        if (frame < s.big_last) CHECK(rows.at(frame).at(0) == std::to_string(s.big_last));
    }
    CHECK(rows.at(s.big_last).at(1) == fragment_frames);
    // A second pass shows what the first did: connection tracking is not run twice.
    CHECK(rows.at(s.after_reset).at(2) == "Data 2:5001 → 3:22 len=4");
    CHECK(frames_matching(fx.capture, "usbvsock.not_connected") == std::vector<int>{s.never_connected, s.after_reset});
    const Tshark two_pass = run_tshark(fx.capture, {"-2", "-Y", "usbvsock.not_connected", "-T", "fields", "-e", "frame.number"});
    CHECK(two_pass.out == std::to_string(s.never_connected) + "\n" + std::to_string(s.after_reset) + "\n");
}
