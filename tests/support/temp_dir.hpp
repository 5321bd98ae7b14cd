// A fresh folder for one test or benchmark: sockets, logs and captures go in it, never in the user's
// folders, and it is removed with everything in it at the end of the scope. Shared by the unit tests,
// the spicecapd end-to-end tests and the benchmarks.
#pragma once

#include <filesystem>
#include <string_view>

namespace spicecap::test {

class TempDir {
public:
    /// Makes $TMPDIR/<prefix>-XXXXXX (/tmp without TMPDIR); throws std::runtime_error if it cannot.
    explicit TempDir(std::string_view prefix = "spicecap-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace spicecap::test
