#include "test_certs.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

namespace signald::test {
namespace {

struct FreeKey
{
    void operator()(EVP_PKEY* key) const { ::EVP_PKEY_free(key); }
};
struct FreeCert
{
    void operator()(X509* cert) const { ::X509_free(cert); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, FreeKey>;
using CertPtr = std::unique_ptr<X509, FreeCert>;

[[noreturn]] void fail(const std::string& what)
{
    char text[256] = "no OpenSSL error";
    if (const unsigned long code = ::ERR_get_error(); code != 0)
        ::ERR_error_string_n(code, text, sizeof text);
    ::ERR_clear_error();
    throw std::runtime_error("test certificates: " + what + ": " + text);
}

KeyPtr make_key()
{
    KeyPtr key(::EVP_EC_gen("P-256"));
    if (!key)
        fail("EVP_EC_gen");
    return key;
}

// A certificate for key, named cn, signed by issuer (itself when issuer is null), valid from an
// hour ago for a day. extensions: (NID, value in openssl.cnf syntax).
CertPtr make_cert(const char* cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, long serial,
                  const std::vector<std::pair<int, std::string>>& extensions)
{
    CertPtr cert(::X509_new());
    if (!cert)
        fail("X509_new");
    ::X509_set_version(cert.get(), 2);
    ::ASN1_INTEGER_set(::X509_get_serialNumber(cert.get()), serial);
    ::X509_gmtime_adj(::X509_getm_notBefore(cert.get()), -60L * 60);
    ::X509_gmtime_adj(::X509_getm_notAfter(cert.get()), 24L * 60 * 60);
    ::X509_set_pubkey(cert.get(), key);
    X509_NAME* name = ::X509_get_subject_name(cert.get());
    ::X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509* signer = issuer != nullptr ? issuer : cert.get();
    ::X509_set_issuer_name(cert.get(), ::X509_get_subject_name(signer));
    for (const auto& [nid, value] : extensions) {
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, signer, cert.get(), nullptr, nullptr, 0);
        X509_EXTENSION* extension = ::X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
        if (extension == nullptr || ::X509_add_ext(cert.get(), extension, -1) != 1)
            fail("extension " + value);
        ::X509_EXTENSION_free(extension);
    }
    if (::X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0)
        fail("X509_sign");
    return cert;
}

template <class Write>
void write_pem(const std::filesystem::path& file, Write write)
{
    BIO* bio = ::BIO_new_file(file.c_str(), "w");
    if (bio == nullptr)
        fail("cannot create " + file.string());
    const bool ok = write(bio) == 1;
    ::BIO_free(bio);
    if (!ok)
        fail("cannot write " + file.string());
}

void write_cert(const std::filesystem::path& file, X509* cert)
{
    write_pem(file, [&](BIO* bio) { return ::PEM_write_bio_X509(bio, cert); });
}

// With a passphrase, the key is written encrypted (AES-256-CBC).
void write_key(const std::filesystem::path& file, EVP_PKEY* key, std::string passphrase = {})
{
    write_pem(file, [&](BIO* bio) {
        if (passphrase.empty())
            return ::PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
        return ::PEM_write_bio_PrivateKey(bio, key, EVP_aes_256_cbc(),
                                          reinterpret_cast<unsigned char*>(passphrase.data()),
                                          static_cast<int>(passphrase.size()), nullptr, nullptr);
    });
}

} // namespace

std::string sha256_fingerprint(X509* cert)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (::X509_digest(cert, EVP_sha256(), digest, &length) != 1)
        fail("X509_digest");
    std::string text;
    for (unsigned int i = 0; i < length; ++i) {
        char byte[4];
        std::snprintf(byte, sizeof byte, i == 0 ? "%02X" : ":%02X", digest[i]);
        text += byte;
    }
    return text;
}

TestCerts::TestCerts(const std::vector<std::string>& extra_alt_names)
    : ca_cert_(dir_.path() / "ca.pem"), server_cert_(dir_.path() / "server.pem"),
      server_key_(dir_.path() / "server.key"), other_key_(dir_.path() / "other.key"),
      encrypted_key_(dir_.path() / "encrypted.key")
{
    const KeyPtr ca_key = make_key();
    const CertPtr ca = make_cert("signald test CA", ca_key.get(), nullptr, nullptr, 1,
                                 {{NID_basic_constraints, "critical,CA:TRUE"},
                                  {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                  {NID_subject_key_identifier, "hash"}});
    const KeyPtr server_key = make_key();
    std::string alt_names = "DNS:localhost,IP:127.0.0.1,IP:::1";
    for (const auto& name : extra_alt_names)
        alt_names += "," + name;
    const CertPtr server = make_cert("localhost", server_key.get(), ca.get(), ca_key.get(), 2,
                                     {{NID_subject_alt_name, alt_names},
                                      {NID_basic_constraints, "critical,CA:FALSE"},
                                      {NID_key_usage, "critical,digitalSignature"},
                                      {NID_ext_key_usage, "serverAuth"},
                                      {NID_authority_key_identifier, "keyid"}});
    write_cert(ca_cert_, ca.get());
    write_cert(server_cert_, server.get());
    write_key(server_key_, server_key.get());
    write_key(other_key_, make_key().get());
    write_key(encrypted_key_, server_key.get(), "passphrase");
    server_fingerprint_ = sha256_fingerprint(server.get());
}

std::filesystem::path TestCerts::write(const std::string& name, std::string_view content)
{
    return dir_.write(name, content);
}

} // namespace signald::test
