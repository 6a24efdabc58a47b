#pragma once
// TlsChannel: one TLS connection's OpenSSL state once its handshake is done, driven without
// buffers of its own. Its BIO hands OpenSSL ciphertext straight from the caller's span (the
// host's one shared read buffer) and appends what OpenSSL writes to the caller's string, so an
// idle connection holds only the SSL object and its keys: SSL_MODE_RELEASE_BUFFERS frees
// OpenSSL's record buffers whenever they are empty. (Asio's ssl::stream keeps two 17 KiB buffers
// and a 2 x 17 KiB BIO pair per connection for its whole life: 70 KB per idle wss:// socket.)
// Socket-free, like ws_frames, so it is unit-tested without a network.

#include <openssl/ssl.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace signald {

class TlsChannel
{
public:
    // Takes over one reference to ssl, whose handshake is done, and replaces its BIOs. Whatever
    // its old BIOs still held must have been read first (take_over_from_stream does that).
    explicit TlsChannel(SSL* ssl);
    ~TlsChannel();
    TlsChannel(const TlsChannel&) = delete;
    TlsChannel& operator=(const TlsChannel&) = delete;

    enum class Status
    {
        open,   // all of the input was taken; more is welcome
        closed, // the peer's close_notify arrived: nothing more will
        failed, // a broken record, a bad MAC, an alert: error() says which
    };

    // Hands OpenSSL ciphertext to decrypt: it reads from this span (no copy) during the
    // decrypt() calls that follow, until they have used it all or drop_input().
    void feed(std::span<const char> ciphertext) { in_ = ciphertext; }
    // Forgets what is left of the fed ciphertext (the connection stopped reading).
    void drop_input() { in_ = {}; }
    struct Piece
    {
        Status status;
        std::size_t bytes; // plaintext put at the front of scratch; 0 when status says why not
    };
    // The next piece of plaintext from the fed ciphertext, into scratch. {open, 0}: all of it is
    // used (a record cut off at its end waits inside OpenSSL for the next feed). Bytes OpenSSL
    // must send meanwhile (the answer to a TLS 1.3 KeyUpdate) are appended to out.
    Piece decrypt(std::span<char> scratch, std::string& out);
    // Encrypts a prefix of plain (at most one record) onto the end of out. Returns how many bytes
    // of plain it took, 0 on failure (error() says why); plain must not be empty.
    std::size_t write(std::string_view plain, std::string& out);
    // Appends our close_notify to out.
    void close_notify(std::string& out);
    const std::string& error() const { return error_; }

private:
    friend struct TlsChannelBio;
    // Records why OpenSSL failed (its error queue, emptied) for error().
    void failed(int ssl_error);

    SSL* ssl_;
    // What the BIO reads from and writes to, set only for the duration of a call.
    std::span<const char> in_;
    std::string* out_ = nullptr;
    std::string error_;
};

} // namespace signald
