#pragma once
// TLS: the server's OpenSSL context, from PEM files or a throwaway self-signed certificate made
// in memory at start-up. Everything that can be wrong with the files is found here, before the
// port is bound, and reported as one line.

#include "signald/net/beast.hpp"
#include "signald/net/tls_options.hpp"

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace signald {

struct TlsContext
{
    std::unique_ptr<net::ssl::context> context;
    // SHA-256 of the certificate (DER), as AA:BB:...: what a user compares with the browser's.
    std::string fingerprint;
    // When the certificate stops being valid; /metrics shows it so renewals can be watched.
    std::chrono::sys_seconds not_after{};
    // The names and addresses it is for (certificate_names): a Host naming one is no rebinding.
    std::vector<std::string> names;
};

// Throws std::runtime_error naming the file and what is wrong with it.
TlsContext make_tls_context(const TlsOptions& options);

} // namespace signald
