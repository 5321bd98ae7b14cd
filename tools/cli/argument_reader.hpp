// Walks a subcommand's arguments: options with values, numbers within bounds, and one way of saying
// what is wrong ("spicecap record: --history takes seconds, 0 to 86400 (see spicecap record --help)").
#pragma once

#include <charconv>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace spicecap::cli {

class ArgumentReader {
public:
    /// `argv[0]` is the subcommand's name.
    ArgumentReader(int argc, char** argv) : argc_(argc), argv_(argv) {}

    /// Moves to the next argument; false when there is none. "--option=value" is split into the option
    /// and a value that value() returns.
    bool next() {
        inline_value_.reset();
        if (++at_ >= argc_) return false;
        arg_ = argv_[at_];
        if (const auto eq = arg_.find('='); arg_.starts_with("--") && eq != std::string_view::npos) {
            inline_value_ = arg_.substr(eq + 1);
            arg_ = arg_.substr(0, eq);
        }
        return true;
    }
    /// Answers the options every command has, for the current argument: --help/-h prints `usage` on
    /// stdout, --version the version; either way the exit code (0). Nothing for any other argument.
    std::optional<int> help_or_version(std::string_view usage) const {
        if (arg_ == "--help" || arg_ == "-h") {
            std::fwrite(usage.data(), 1, usage.size(), stdout);
            return 0;
        }
        if (arg_ == "--version") {
            std::printf("spicecap %s %s\n", argv_[0], SPICECAP_VERSION);
            return 0;
        }
        return std::nullopt;
    }
    /// The current argument (without "=value").
    std::string_view arg() const { return arg_; }
    /// Takes the current option's value: after '=', else the next argument.
    std::optional<std::string_view> value() {
        if (inline_value_) return std::exchange(inline_value_, std::nullopt);
        if (at_ + 1 >= argc_) return std::nullopt;
        return std::string_view(argv_[++at_]);
    }
    /// Takes a value given with '=' ("--handshake=false"), if any, without looking at the next argument:
    /// for flags, which take no value of their own.
    std::optional<std::string_view> attached_value() { return std::exchange(inline_value_, std::nullopt); }
    /// Takes the argument after the current option as its text into `target`. When there is none, says
    /// "<option> needs <what>" and returns the usage exit code (2); nothing when the value was taken:
    ///     if (const auto failed = args.text(o.socket, "a path")) return *failed;
    std::optional<int> text(std::string& target, std::string_view what) {
        const std::string option(arg());
        const auto v = value();
        if (!v) return fail(option + " needs " + std::string(what));
        target = std::string(*v);
        return std::nullopt;
    }
    /// Takes the next argument as a whole number in [min, max].
    template <class Int>
    std::optional<Int> integer(long long min, long long max) {
        const auto text = value();
        if (!text) return std::nullopt;
        long long v = 0;
        const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
        if (ec != std::errc{} || end != text->data() + text->size() || v < min || v > max) return std::nullopt;
        return static_cast<Int>(v);
    }
    /// Takes the next argument as a number >= min.
    std::optional<double> number(double min) {
        const auto text = value();
        if (!text) return std::nullopt;
        double v = 0;
        const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
        if (ec != std::errc{} || end != text->data() + text->size() || !(v >= min)) return std::nullopt;
        return v;
    }
    /// Prints why the arguments are wrong and returns the exit code for usage errors (2).
    int fail(const std::string& why) const {
        std::fprintf(stderr, "spicecap %s: %s (see spicecap %s --help)\n", argv_[0], why.c_str(), argv_[0]);
        return 2;
    }

private:
    int argc_;
    char** argv_;
    int at_ = 0;
    std::string_view arg_;
    std::optional<std::string_view> inline_value_;
};

}  // namespace spicecap::cli
