// Internal: a visitor made of lambdas, for std::visit over entry bodies and
// commands.
//
//   std::visit(Overloaded{[](const entries::Credited&) {...}, [](const auto&) {...}}, body);
#ifndef LOYALTY_SRC_CORE_OVERLOADED_H_
#define LOYALTY_SRC_CORE_OVERLOADED_H_

namespace loyalty::internal {

template <typename... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
// Needed by clang before 17, which does not deduce aggregates' arguments.
template <typename... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_CORE_OVERLOADED_H_
