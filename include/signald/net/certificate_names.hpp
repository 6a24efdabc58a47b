#pragma once
// certificate_names: the host names and addresses a certificate is for. A browser that accepted
// the certificate reached the server by one of them, so HostPolicy allows them in Host. Pure: it
// reads an X509 in memory, never a file or a socket; make_tls_context calls it on the served
// certificate.

#include <openssl/types.h>

#include <string>
#include <vector>

namespace signald {

// The subjectAltName DNS names (wildcards as written, *.example.org) and IP addresses (IPv6 in
// brackets), in the certificate's order; and its subject's CN when no DNS name is among them, as
// browsers read certificates before subjectAltName was required.
std::vector<std::string> certificate_names(const X509* certificate);

} // namespace signald
