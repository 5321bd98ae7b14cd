// BPF capture filters compiled by libpcap and run with pcap_offline_filter.
#include "pcap/bpf_filter.hpp"

#include <pcap/pcap.h>

#include <algorithm>

namespace spicecap {

struct BpfFilter::Program {
    bpf_program bpf{};
    int snap_length = 0;
    ~Program() { pcap_freecode(&bpf); }
};

BpfFilter::BpfFilter(std::unique_ptr<Program> program) : program_(std::move(program)) {}
BpfFilter::BpfFilter(BpfFilter&&) noexcept = default;
BpfFilter& BpfFilter::operator=(BpfFilter&&) noexcept = default;
BpfFilter::~BpfFilter() = default;

Expected<BpfFilter, std::string> BpfFilter::compile(std::string_view expression, int link_type, int snap_length) {
    if (expression.find_first_not_of(" \t\r\n") == std::string_view::npos) return BpfFilter(nullptr);
    pcap_t* dead = pcap_open_dead(link_type, snap_length);
    if (dead == nullptr) return Unexpected{std::string("libpcap cannot compile filters for this link type")};
    auto program = std::make_unique<Program>();
    program->snap_length = snap_length;
    const std::string text(expression);
    if (pcap_compile(dead, &program->bpf, text.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
        std::string error = pcap_geterr(dead);
        pcap_close(dead);
        program->bpf = bpf_program{};  // nothing to free
        return Unexpected{std::move(error)};
    }
    pcap_close(dead);
    return BpfFilter(std::move(program));
}

bool BpfFilter::matches(std::span<const std::uint8_t> frame) const noexcept {
    if (!program_) return true;
    pcap_pkthdr header{};
    header.len = static_cast<bpf_u_int32>(frame.size());
    header.caplen = static_cast<bpf_u_int32>(std::min<std::size_t>(frame.size(), program_->snap_length));
    return pcap_offline_filter(&program_->bpf, &header, frame.data()) != 0;
}

}  // namespace spicecap
