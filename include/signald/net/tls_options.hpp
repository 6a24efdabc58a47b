#pragma once
// TlsOptions: where the served certificate comes from, as the config sets it. Plain data, so the
// config and ServerOptions carry it without compiling OpenSSL or Asio; make_tls_context (tls.hpp)
// is the one reader that turns it into a live context.

#include <filesystem>
#include <string>
#include <vector>

namespace signald {

struct TlsOptions
{
    std::filesystem::path cert_file; // PEM: the certificate, then any intermediates
    std::filesystem::path key_file;  // PEM: its private key
    bool self_signed = false;
    // Names the self-signed certificate is made for (besides localhost and 127.0.0.1/::1).
    std::vector<std::string> self_signed_names;

    bool enabled() const { return self_signed || !cert_file.empty(); }
};

} // namespace signald
