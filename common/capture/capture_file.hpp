// One capture stream being written in the capture's format (a FIFO, stdout, or a file): classic pcap, or
// pcapng with the writer and interface up front, each frame's comment and drop count, and the interface's
// statistics at the end (docs/formats.md). The outputs of the front ends are made of these: one for the
// extcap and `spicecap stream`, one per channel for `spicecap record`.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <variant>

#include "base/expected.hpp"
#include "capture/capture_options.hpp"
#include "pcap/frame_sink.hpp"
#include "pcap/pcap_writer.hpp"
#include "pcap/pcapng_writer.hpp"

namespace spicecap::capture {

/// How the file describes its one interface (pcapng if_name and if_description).
struct FileInterface {
    std::string name;
    std::string description;
};

/// What a file's interface statistics say at its end (pcapng only).
struct FileStatistics {
    /// Frames the capture made for this file, before the capture filter.
    std::uint64_t received = 0;
    /// Records spicecapd dropped for the capture, of this file's streams.
    std::uint64_t dropped = 0;
    /// Frames the capture filter let through (the frames in the file).
    std::uint64_t filter_accepted = 0;
    /// A sentence with the same numbers and their units, for people.
    std::string comment;
};

class CaptureFile {
public:
    /// Takes ownership of `fd` and writes the file's header at once (a reader sees a valid stream first).
    static Expected<CaptureFile, std::string> open_fd(int fd, const CaptureOptions& options,
                                                      const FileInterface& interface);
    /// Creates (truncates) `path` and writes its header.
    static Expected<CaptureFile, std::string> open_path(const std::string& path, const CaptureOptions& options,
                                                        const FileInterface& interface);

    /// The interface description of a whole capture ("spice": "SPICE capture (spicecap) ...").
    static FileInterface interface_of(const CaptureOptions& options);

    /// Appends one frame (buffered); in pcapng with its comment and drop count.
    Expected<Ok, std::string> write(const FrameMeta& meta, std::span<const std::uint8_t> frame);
    /// Pushes what is buffered to the reader.
    Expected<Ok, std::string> flush();
    /// Ends the file (pcapng: with an interface statistics block from the open to now) and closes it.
    Expected<Ok, std::string> close(const FileStatistics& statistics);

    /// Frames and their bytes written so far.
    std::uint64_t frames() const noexcept { return frames_; }
    std::uint64_t bytes() const noexcept { return bytes_; }

private:
    using Writer = std::variant<PcapWriter, PcapngWriter>;
    CaptureFile(Writer writer, std::uint64_t opened_ns) : writer_(std::move(writer)), opened_ns_(opened_ns) {}
    static Expected<CaptureFile, std::string> open(int fd, const CaptureOptions& options,
                                                   const FileInterface& interface);

    Writer writer_;
    std::uint64_t opened_ns_ = 0;
    std::uint64_t frames_ = 0;
    std::uint64_t bytes_ = 0;
};

}  // namespace spicecap::capture
