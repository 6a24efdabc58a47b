#pragma once
// HttpAnswer: what to answer one HTTP request, as plain data. StaticSite makes them for files;
// HttpSession makes its own for everything else (errors, the https redirect, /healthz, /metrics)
// and is the one place that turns any of them into an HTTP message, adding the headers every
// answer carries (Server, Cache-Control, nosniff) and those a status implies (Allow for 405, the
// Upgrade headers for 426). No Beast here.

#include <string>

namespace signald {

struct HttpAnswer
{
    unsigned status = 200;
    std::string content_type;
    std::string body;
    std::string etag;     // a file's validator: set for 200 and 304 from StaticSite
    std::string location; // set for redirects: 301 (a directory without its slash), 308 (https)
};

} // namespace signald
