#include "signald/net/certificate_names.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

namespace signald {
namespace {

namespace ip = boost::asio::ip;

std::string text_of(const ASN1_STRING* string)
{
    return std::string(reinterpret_cast<const char*>(::ASN1_STRING_get0_data(string)),
                       static_cast<std::size_t>(::ASN1_STRING_length(string)));
}

// An iPAddress entry: 4 bytes for IPv4, 16 for IPv6; anything else names nothing.
std::string address_of(const ASN1_OCTET_STRING* bytes)
{
    const unsigned char* data = ::ASN1_STRING_get0_data(bytes);
    if (::ASN1_STRING_length(bytes) == 4) {
        ip::address_v4::bytes_type v4;
        std::copy_n(data, v4.size(), v4.begin());
        return ip::make_address_v4(v4).to_string();
    }
    if (::ASN1_STRING_length(bytes) == 16) {
        ip::address_v6::bytes_type v6;
        std::copy_n(data, v6.size(), v6.begin());
        return "[" + ip::make_address_v6(v6).to_string() + "]";
    }
    return {};
}

// The subject's CN as UTF-8, or empty.
std::string common_name(const X509* certificate)
{
    const X509_NAME* subject = ::X509_get_subject_name(certificate);
    const int at = ::X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (at < 0)
        return {};
    const ASN1_STRING* value = ::X509_NAME_ENTRY_get_data(::X509_NAME_get_entry(subject, at));
    unsigned char* utf8 = nullptr;
    const int length = ::ASN1_STRING_to_UTF8(&utf8, value);
    if (length < 0)
        return {};
    std::string name(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
    ::OPENSSL_free(utf8);
    return name;
}

struct FreeNames
{
    void operator()(GENERAL_NAMES* names) const { ::GENERAL_NAMES_free(names); }
};

} // namespace

std::vector<std::string> certificate_names(const X509* certificate)
{
    std::vector<std::string> names;
    bool has_dns_name = false;
    const std::unique_ptr<GENERAL_NAMES, FreeNames> alt_names(static_cast<GENERAL_NAMES*>(
        ::X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr)));
    for (int i = 0; alt_names && i < sk_GENERAL_NAME_num(alt_names.get()); ++i) {
        const GENERAL_NAME* entry = sk_GENERAL_NAME_value(alt_names.get(), i);
        std::string name;
        if (entry->type == GEN_DNS) {
            has_dns_name = true;
            name = text_of(entry->d.dNSName);
        } else if (entry->type == GEN_IPADD) {
            name = address_of(entry->d.iPAddress);
        }
        // A NUL inside would make the name end early for some readers and not others.
        if (!name.empty() && name.find('\0') == std::string::npos)
            names.push_back(std::move(name));
    }
    if (!has_dns_name)
        if (std::string cn = common_name(certificate);
            !cn.empty() && cn.find('\0') == std::string::npos)
            names.push_back(std::move(cn));
    return names;
}

} // namespace signald
