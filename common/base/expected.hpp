// A value or an error, for parsers and I/O that must report failure instead of trusting their input.
// C++20 has no std::expected; this is the small subset spicecap uses, with the same names.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

namespace spicecap {

/// Wraps an error so that `return Unexpected{err};` converts to any `Expected<T, E>`.
template <class E>
struct Unexpected {
    E error;
};
template <class E>
Unexpected(E) -> Unexpected<E>;

/// Holds either a `T` (success) or an `E` (the reason it failed).
template <class T, class E>
class [[nodiscard]] Expected {
public:
    Expected(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    template <class G>
    Expected(Unexpected<G> err) : state_(std::in_place_index<1>, E(std::move(err.error))) {}

    bool has_value() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & { assert(has_value()); return std::get<0>(state_); }
    const T& value() const& { assert(has_value()); return std::get<0>(state_); }
    T&& value() && { assert(has_value()); return std::get<0>(std::move(state_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const E& error() const& { assert(!has_value()); return std::get<1>(state_); }

private:
    std::variant<T, E> state_;
};

/// Success without a value.
struct Ok {};

}  // namespace spicecap
