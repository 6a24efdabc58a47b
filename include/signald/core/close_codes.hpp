#pragma once
// WebSocket close codes signald sends (RFC 6455 section 7.4.1), written once for both layers: the
// hub asks for 1008 through Transport::close, the network layer sends them all.

#include <cstdint>

namespace signald::close_code {

inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t too_big = 1009;
// The node serving the connection was declared dead by the cluster: resume on another one.
inline constexpr std::uint16_t service_restart = 1012;
// From the private range (4000-4999): another connection resumed this one's membership.
inline constexpr std::uint16_t resumed_elsewhere = 4001;

} // namespace signald::close_code
