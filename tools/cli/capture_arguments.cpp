// Capture options on a spicecap command line (see capture_arguments.hpp).
#include "cli/capture_arguments.hpp"

#include <string>

namespace spicecap::cli {

CaptureArgument read_capture_argument(ArgumentReader& args, capture::CaptureOptions& options) {
    const std::string_view arg = args.arg();
    if (!arg.starts_with("--")) return CaptureArgument::not_a_capture_option;
    std::string_view name = arg.substr(2);
    bool negated = false;
    const capture::CaptureOption* option = capture::find_capture_option(name);
    if (option == nullptr && name.starts_with("no-")) {
        option = capture::find_capture_option(name.substr(3));
        if (option == nullptr || option->kind != capture::ValueKind::flag) return CaptureArgument::not_a_capture_option;
        negated = true;
    }
    if (option == nullptr) return CaptureArgument::not_a_capture_option;

    std::string value;
    if (negated) {
        value = "false";
    } else if (option->kind == capture::ValueKind::flag) {
        value = std::string(args.attached_value().value_or(""));
    } else {
        const auto given = args.value();
        if (!given) {
            args.fail(std::string(arg) + " needs " +
                      (option->value_name.empty() ? std::string("a value") : std::string(option->value_name)));
            return CaptureArgument::failed;
        }
        value = std::string(*given);
    }
    if (auto applied = capture::apply_capture_option(options, *option, value); !applied) {
        args.fail(applied.error());
        return CaptureArgument::failed;
    }
    return CaptureArgument::taken;
}

}  // namespace spicecap::cli
