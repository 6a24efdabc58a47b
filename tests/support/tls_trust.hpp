#pragma once
// TlsTrust: what a TLS test client believes about the server, as a browser would. The HTTPS and
// WSS clients (tls_client.hpp) take one; it holds no OpenSSL state, so headers that only need to
// name it stay free of the TLS libraries.

#include <filesystem>
#include <string>

namespace signald::test {

struct TlsTrust
{
    std::filesystem::path ca_file;  // empty: no verification at all
    std::string host = "localhost"; // a name or an IP address the certificate must cover
};

} // namespace signald::test
