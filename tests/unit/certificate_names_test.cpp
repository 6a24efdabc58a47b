// certificate_names: a certificate's subjectAltName DNS names and addresses, in order, and its CN
// only when no DNS name is among them. The certificates are made in memory and never signed: only
// their names are read.

#include "signald/net/certificate_names.hpp"

#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace signald {
namespace certificate_names_test {

struct FreeCert
{
    void operator()(X509* cert) const { ::X509_free(cert); }
};
using CertPtr = std::unique_ptr<X509, FreeCert>;

// A certificate with this CN (none when empty) and subjectAltName (none when empty), in
// openssl.cnf syntax: "DNS:a.example,IP:192.0.2.1".
CertPtr cert_with(const std::string& cn, const std::string& alt_names)
{
    CertPtr cert(::X509_new());
    if (!cn.empty())
        ::X509_NAME_add_entry_by_txt(::X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    if (!alt_names.empty()) {
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
        X509_EXTENSION* extension =
            ::X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, alt_names.c_str());
        if (extension == nullptr)
            throw std::runtime_error("bad subjectAltName " + alt_names);
        ::X509_add_ext(cert.get(), extension, -1);
        ::X509_EXTENSION_free(extension);
    }
    return cert;
}

using Names = std::vector<std::string>;

TEST(CertificateNames, SubjectAltNameDnsNamesAndAddressesComeInOrder)
{
    const auto cert =
        cert_with("ignored.example", "DNS:call.example.org,IP:192.0.2.7,DNS:*.rooms.example.org,"
                                     "IP:2001:db8:0:0::1,IP:::1");
    EXPECT_EQ(
        certificate_names(cert.get()),
        (Names{"call.example.org", "192.0.2.7", "*.rooms.example.org", "[2001:db8::1]", "[::1]"}));
}

TEST(CertificateNames, OtherKindsOfAltNameAreLeftOut)
{
    const auto cert = cert_with("", "email:ops@example.org,URI:https://example.org/,"
                                    "DNS:call.example.org");
    EXPECT_EQ(certificate_names(cert.get()), Names{"call.example.org"});
}

TEST(CertificateNames, TheCommonNameCountsOnlyWithoutDnsAltNames)
{
    EXPECT_EQ(certificate_names(cert_with("call.example.org", "").get()),
              Names{"call.example.org"});
    EXPECT_EQ(certificate_names(cert_with("call.example.org", "IP:192.0.2.7").get()),
              (Names{"192.0.2.7", "call.example.org"}));
    EXPECT_EQ(certificate_names(cert_with("call.example.org", "DNS:other.example.org").get()),
              Names{"other.example.org"});
}

TEST(CertificateNames, ACertificateWithoutNamesHasNone)
{
    EXPECT_EQ(certificate_names(cert_with("", "").get()), Names{});
}

} // namespace certificate_names_test
} // namespace signald
