// Reading the shared capture options (common/capture/capture_options.hpp) from a spicecap command's
// arguments: `spicecap record` and `spicecap stream` take them the same way, with the same names, defaults
// and errors as the extcap's dialog.
#pragma once

#include <optional>
#include <string_view>

#include "capture/capture_options.hpp"
#include "cli/argument_reader.hpp"

namespace spicecap::cli {

/// What read_capture_argument did with the current argument.
enum class CaptureArgument {
    taken,                 ///< a capture option: read into the options
    not_a_capture_option,  ///< something else: the command handles it
    failed,                ///< a capture option with a bad value: already said why (exit with 2)
};

/// Reads the current argument of `args` into `options` if it is a capture option ("--history 30",
/// "--history=30", "--handshake", "--no-handshake").
CaptureArgument read_capture_argument(ArgumentReader& args, capture::CaptureOptions& options);

}  // namespace spicecap::cli
