#include "signald/net/tls.hpp"

#include "signald/net/certificate_names.hpp"

#include <openssl/err.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <fstream>
#include <stdexcept>

namespace signald {
namespace {

// A self-signed certificate lives for one process; a month is more than any LAN trial.
constexpr long self_signed_days = 30;

std::string openssl_error()
{
    const unsigned long code = ::ERR_get_error();
    ::ERR_clear_error();
    if (code == 0)
        return "unknown OpenSSL error";
    char text[256];
    ::ERR_error_string_n(code, text, sizeof text);
    return text;
}

template <class T, void (*Free)(T*)>
struct Deleter
{
    void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;

std::string fingerprint_of(const X509* cert)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (::X509_digest(cert, EVP_sha256(), digest, &length) != 1)
        throw std::runtime_error("cannot hash the certificate: " + openssl_error());
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        if (i > 0)
            out += ':';
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xF];
    }
    return out;
}

std::chrono::sys_seconds not_after_of(const X509* cert)
{
    std::tm expiry{};
    if (::ASN1_TIME_to_tm(::X509_get0_notAfter(cert), &expiry) != 1)
        throw std::runtime_error("cannot read the certificate's expiry: " + openssl_error());
    return std::chrono::sys_seconds(std::chrono::seconds(::timegm(&expiry)));
}

void require_readable(const std::filesystem::path& file, const char* what)
{
    std::ifstream in(file);
    if (!in)
        throw std::runtime_error("cannot read the TLS " + std::string(what) + " \"" +
                                 file.string() + "\"");
}

// A daemon has nobody to ask for a passphrase: note that one was wanted and refuse.
int refuse_passphrase(char*, int, int, void* asked)
{
    *static_cast<bool*>(asked) = true;
    return -1;
}

PkeyPtr read_key(const std::filesystem::path& file)
{
    const std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>> bio(::BIO_new_file(file.c_str(), "r"));
    if (!bio)
        throw std::runtime_error("cannot read the TLS key \"" + file.string() + "\"");
    bool asked = false;
    PkeyPtr key(::PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, &asked));
    if (!key && asked) {
        ::ERR_clear_error();
        throw std::runtime_error("the key \"" + file.string() +
                                 "\" is encrypted; give signald one without a passphrase");
    }
    if (!key)
        throw std::runtime_error("\"" + file.string() +
                                 "\" is not a PEM private key: " + openssl_error());
    return key;
}

// ECDSA P-256: small, fast, and accepted by every browser.
PkeyPtr make_key()
{
    PkeyPtr key(::EVP_EC_gen("P-256"));
    if (!key)
        throw std::runtime_error("cannot make a key: " + openssl_error());
    return key;
}

X509Ptr make_self_signed(EVP_PKEY* key, const std::vector<std::string>& names)
{
    X509Ptr cert(::X509_new());
    if (!cert)
        throw std::runtime_error("cannot make a certificate: " + openssl_error());
    ::X509_set_version(cert.get(), 2);
    // A random serial: browsers refuse two different certificates with the same issuer and
    // serial, and every start makes a new one.
    unsigned char serial[16];
    if (::RAND_bytes(serial, sizeof serial) != 1)
        throw std::runtime_error("no randomness for the serial: " + openssl_error());
    serial[0] &= 0x7F; // positive
    BIGNUM* serial_number = ::BN_bin2bn(serial, sizeof serial, nullptr);
    ::BN_to_ASN1_INTEGER(serial_number, ::X509_get_serialNumber(cert.get()));
    ::BN_free(serial_number);
    ::X509_gmtime_adj(::X509_getm_notBefore(cert.get()), -60 * 60);
    ::X509_gmtime_adj(::X509_getm_notAfter(cert.get()), self_signed_days * 24 * 60 * 60);
    ::X509_set_pubkey(cert.get(), key);
    X509_NAME* name = ::X509_get_subject_name(cert.get());
    ::X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("signald self-signed"), -1,
                                 -1, 0);
    ::X509_set_issuer_name(cert.get(), name);

    std::string alt = "DNS:localhost,IP:127.0.0.1,IP:::1";
    for (const auto& extra : names) {
        boost::system::error_code ec;
        net::ip::make_address(extra, ec);
        alt += (ec ? ",DNS:" : ",IP:") + extra;
    }
    const std::pair<int, std::string> extensions[] = {
        {NID_subject_alt_name, alt},
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature"},
        {NID_ext_key_usage, "serverAuth"},
    };
    for (const auto& [nid, value] : extensions) {
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
        X509_EXTENSION* extension = ::X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
        if (extension == nullptr)
            throw std::runtime_error("cannot add \"" + value + "\": " + openssl_error());
        ::X509_add_ext(cert.get(), extension, -1);
        ::X509_EXTENSION_free(extension);
    }
    if (::X509_sign(cert.get(), key, EVP_sha256()) == 0)
        throw std::runtime_error("cannot sign the certificate: " + openssl_error());
    return cert;
}

} // namespace

TlsContext make_tls_context(const TlsOptions& options)
{
    TlsContext tls;
    tls.context = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    SSL_CTX* ctx = tls.context->native_handle();
    // TLS 1.2 and 1.3 only: what browsers speak, without the broken older versions.
    ::SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    ::SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);

    if (options.self_signed) {
        const PkeyPtr key = make_key();
        const X509Ptr cert = make_self_signed(key.get(), options.self_signed_names);
        if (::SSL_CTX_use_certificate(ctx, cert.get()) != 1 ||
            ::SSL_CTX_use_PrivateKey(ctx, key.get()) != 1)
            throw std::runtime_error("cannot use the self-signed certificate: " + openssl_error());
        tls.fingerprint = fingerprint_of(cert.get());
        tls.not_after = not_after_of(cert.get());
        tls.names = certificate_names(cert.get());
        return tls;
    }

    require_readable(options.cert_file, "certificate");
    require_readable(options.key_file, "key");
    if (::SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1)
        throw std::runtime_error("\"" + options.cert_file.string() +
                                 "\" is not a PEM certificate: " + openssl_error());
    // Read and compare before handing the key over: SSL_CTX_use_PrivateKey_file refuses a key
    // of the wrong pair as if it were not a key at all, and would prompt for a passphrase.
    const PkeyPtr key = read_key(options.key_file);
    if (::X509_check_private_key(::SSL_CTX_get0_certificate(ctx), key.get()) != 1) {
        ::ERR_clear_error();
        throw std::runtime_error("the key \"" + options.key_file.string() +
                                 "\" does not belong to the certificate \"" +
                                 options.cert_file.string() + "\"");
    }
    if (::SSL_CTX_use_PrivateKey(ctx, key.get()) != 1)
        throw std::runtime_error("cannot use the key \"" + options.key_file.string() +
                                 "\": " + openssl_error());
    tls.fingerprint = fingerprint_of(::SSL_CTX_get0_certificate(ctx));
    tls.not_after = not_after_of(::SSL_CTX_get0_certificate(ctx));
    tls.names = certificate_names(::SSL_CTX_get0_certificate(ctx));
    return tls;
}

} // namespace signald
