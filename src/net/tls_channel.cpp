#include "signald/net/tls_channel.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <new>

namespace signald {

// The BIO under every TlsChannel: reads come from the channel's fed span, writes go onto the end
// of its out string. It never holds a byte itself.
struct TlsChannelBio
{
    static TlsChannel& channel(BIO* bio) { return *static_cast<TlsChannel*>(BIO_get_data(bio)); }

    static int read(BIO* bio, char* data, int length)
    {
        BIO_clear_retry_flags(bio);
        TlsChannel& c = channel(bio);
        if (c.in_.empty() || length <= 0) {
            BIO_set_retry_read(bio); // no more now: SSL_read says SSL_ERROR_WANT_READ
            return -1;
        }
        const std::size_t count = std::min(c.in_.size(), static_cast<std::size_t>(length));
        std::memcpy(data, c.in_.data(), count);
        c.in_ = c.in_.subspan(count);
        return static_cast<int>(count);
    }

    static int write(BIO* bio, const char* data, int length)
    {
        BIO_clear_retry_flags(bio);
        TlsChannel& c = channel(bio);
        if (c.out_ == nullptr) { // outside a call: cannot happen, but never lose bytes silently
            BIO_set_retry_write(bio);
            return -1;
        }
        c.out_->append(data, static_cast<std::size_t>(std::max(length, 0)));
        return length;
    }

    static long control(BIO*, int command, long, void*)
    {
        return command == BIO_CTRL_FLUSH ? 1 : 0; // nothing is ever buffered here
    }

    static int create(BIO* bio)
    {
        BIO_set_init(bio, 1);
        return 1;
    }

    static BIO_METHOD* method()
    {
        static BIO_METHOD* const made = [] {
            BIO_METHOD* m =
                BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "signald TLS channel");
            if (m == nullptr)
                throw std::bad_alloc();
            BIO_meth_set_read(m, &read);
            BIO_meth_set_write(m, &write);
            BIO_meth_set_ctrl(m, &control);
            BIO_meth_set_create(m, &create);
            return m;
        }();
        return made;
    }
};

TlsChannel::TlsChannel(SSL* ssl) : ssl_(ssl)
{
    BIO* bio = BIO_new(TlsChannelBio::method());
    if (bio == nullptr) {
        SSL_free(ssl_);
        throw std::bad_alloc();
    }
    BIO_set_data(bio, this);
    SSL_set_bio(ssl_, bio, bio); // frees the old ones; one reference for both directions
    SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                           SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

TlsChannel::~TlsChannel()
{
    SSL_free(ssl_);
}

TlsChannel::Piece TlsChannel::decrypt(std::span<char> scratch, std::string& out)
{
    out_ = &out;
    ERR_clear_error();
    const int got = SSL_read(ssl_, scratch.data(),
                             static_cast<int>(std::min<std::size_t>(scratch.size(), INT_MAX)));
    out_ = nullptr;
    if (got > 0)
        return {Status::open, static_cast<std::size_t>(got)};
    const int why = SSL_get_error(ssl_, got);
    if (why == SSL_ERROR_WANT_READ)
        return {Status::open, 0};
    in_ = {};
    if (why == SSL_ERROR_ZERO_RETURN)
        return {Status::closed, 0};
    failed(why);
    return {Status::failed, 0};
}

std::size_t TlsChannel::write(std::string_view plain, std::string& out)
{
    // One record at most: the caller decides how much ciphertext it wants to hold.
    constexpr std::size_t record = 16 * 1024;
    out_ = &out;
    ERR_clear_error();
    const int took =
        SSL_write(ssl_, plain.data(), static_cast<int>(std::min(plain.size(), record)));
    out_ = nullptr;
    if (took > 0)
        return static_cast<std::size_t>(took);
    failed(SSL_get_error(ssl_, took));
    return 0;
}

void TlsChannel::close_notify(std::string& out)
{
    out_ = &out;
    ERR_clear_error();
    SSL_shutdown(ssl_); // 0: sent, the peer's not yet seen; we do not wait for it
    ERR_clear_error();
    out_ = nullptr;
}

void TlsChannel::failed(int ssl_error)
{
    const unsigned long code = ERR_get_error();
    if (code != 0) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        error_ = text;
    } else {
        error_ = "TLS error " + std::to_string(ssl_error);
    }
    ERR_clear_error();
}

} // namespace signald
