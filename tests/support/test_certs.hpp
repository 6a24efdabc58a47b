#pragma once
// TestCerts: a throwaway PKI for the TLS tests, made with the OpenSSL API in a scratch directory
// it owns: a CA, a server certificate it signed (SAN DNS:localhost, IP:127.0.0.1, IP:::1, and any
// extra names a test asks for) with its key, the same key encrypted with a passphrase, and one
// more key that belongs to nothing (for the mismatched-pair test). All PEM files.
// Clients trust ca_cert() and nothing else, so a passing test proves the server presented the
// chain it was given.

#include "signald_process.hpp"

#include <openssl/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace signald::test {

class TestCerts
{
public:
    // ECDSA P-256 throughout: generating it all takes milliseconds. extra_alt_names: more
    // subjectAltName entries for the server certificate, as openssl.cnf writes them
    // ("DNS:signal.test", "IP:192.0.2.7").
    explicit TestCerts(const std::vector<std::string>& extra_alt_names = {});
    const std::filesystem::path& ca_cert() const { return ca_cert_; }
    const std::filesystem::path& server_cert() const { return server_cert_; }
    const std::filesystem::path& server_key() const { return server_key_; }
    const std::filesystem::path& other_key() const { return other_key_; }
    const std::filesystem::path& encrypted_server_key() const { return encrypted_key_; }
    // SHA-256 of the server certificate (DER) as AA:BB:..., as signald prints fingerprints.
    const std::string& server_fingerprint() const { return server_fingerprint_; }
    // Writes content to a file in the same directory (broken inputs for start-up tests).
    std::filesystem::path write(const std::string& name, std::string_view content);

private:
    TempDir dir_;
    std::filesystem::path ca_cert_;
    std::filesystem::path server_cert_;
    std::filesystem::path server_key_;
    std::filesystem::path other_key_;
    std::filesystem::path encrypted_key_;
    std::string server_fingerprint_;
};

// SHA-256 of cert (DER) as AA:BB:...
std::string sha256_fingerprint(X509* cert);

} // namespace signald::test
