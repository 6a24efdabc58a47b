// TlsChannel against a real OpenSSL client, no sockets: the two ends are joined by hand, so every
// test decides exactly which bytes reach the server's channel and in what pieces.

#include "signald/net/tls_channel.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

namespace signald {
namespace tls_channel_test {

struct SslCtxFree
{
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree
{
    void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

// A server context with a throwaway self-signed P-256 certificate.
CtxPtr server_context()
{
    CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    SSL_CTX_use_certificate(ctx.get(), cert);
    SSL_CTX_use_PrivateKey(ctx.get(), key);
    X509_free(cert);
    EVP_PKEY_free(key);
    return ctx;
}

// Everything the BIO holds, taken out.
std::string drain(BIO* bio)
{
    std::string bytes;
    char piece[4096];
    int got = 0;
    while ((got = BIO_read(bio, piece, sizeof piece)) > 0)
        bytes.append(piece, static_cast<std::size_t>(got));
    return bytes;
}

// A client and a server that have finished their handshake through memory BIOs; then the server's
// SSL goes to a TlsChannel, as WsTlsSession takes it over from Asio.
class TlsChannelTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        server_ctx_ = server_context();
        client_ctx_.reset(SSL_CTX_new(TLS_client_method()));
        client_.reset(SSL_new(client_ctx_.get()));
        SSL* server = SSL_new(server_ctx_.get());
        client_in_ = BIO_new(BIO_s_mem());
        client_out_ = BIO_new(BIO_s_mem());
        SSL_set_bio(client_.get(), client_in_, client_out_);
        BIO* server_in = BIO_new(BIO_s_mem());
        BIO* server_out = BIO_new(BIO_s_mem());
        SSL_set_bio(server, server_in, server_out);
        SSL_set_connect_state(client_.get());
        SSL_set_accept_state(server);
        for (int round = 0; round < 10; ++round) {
            SSL_do_handshake(client_.get());
            const std::string to_server = drain(client_out_);
            BIO_write(server_in, to_server.data(), static_cast<int>(to_server.size()));
            SSL_do_handshake(server);
            const std::string to_client = drain(server_out);
            BIO_write(client_in_, to_client.data(), static_cast<int>(to_client.size()));
            if (SSL_is_init_finished(client_.get()) && SSL_is_init_finished(server))
                break;
        }
        ASSERT_TRUE(SSL_is_init_finished(server));
        // The client reads the server's session tickets now, so later reads see only records.
        char none[1];
        ASSERT_LE(SSL_read(client_.get(), none, 1), 0);
        ASSERT_EQ(BIO_ctrl_pending(server_in), 0U);
        channel_ = std::make_unique<TlsChannel>(server);
    }

    // What the client sends for plain, as records.
    std::string client_sends(const std::string& plain)
    {
        EXPECT_EQ(SSL_write(client_.get(), plain.data(), static_cast<int>(plain.size())),
                  static_cast<int>(plain.size()));
        return drain(client_out_);
    }

    // Feeds ciphertext to the channel in pieces of at most piece bytes; returns the plaintext.
    std::string server_reads(const std::string& ciphertext, std::size_t piece,
                             TlsChannel::Status expected_end = TlsChannel::Status::open)
    {
        std::string plain;
        std::vector<char> scratch(1000);
        TlsChannel::Status last = TlsChannel::Status::open;
        for (std::size_t at = 0; at < ciphertext.size() && last == TlsChannel::Status::open;
             at += piece) {
            const std::string part = ciphertext.substr(at, piece);
            channel_->feed(part);
            for (;;) {
                const auto [status, bytes] = channel_->decrypt(scratch, server_out_);
                last = status;
                if (bytes == 0)
                    break;
                plain.append(scratch.data(), bytes);
            }
        }
        EXPECT_EQ(last, expected_end) << channel_->error();
        return plain;
    }

    // Hands the server's records to the client and returns what it reads.
    std::string client_reads(const std::string& records)
    {
        BIO_write(client_in_, records.data(), static_cast<int>(records.size()));
        std::string plain;
        char piece[4096];
        int got = 0;
        while ((got = SSL_read(client_.get(), piece, sizeof piece)) > 0)
            plain.append(piece, static_cast<std::size_t>(got));
        return plain;
    }

    CtxPtr server_ctx_;
    CtxPtr client_ctx_;
    SslPtr client_;
    BIO* client_in_ = nullptr;  // owned by client_
    BIO* client_out_ = nullptr; // owned by client_
    std::unique_ptr<TlsChannel> channel_;
    std::string server_out_; // what the channel wrote
};

TEST_F(TlsChannelTest, RecordsFedWholeOrAByteAtATimeGiveTheSamePlaintext)
{
    const std::string small = R"({"action":"join","roomId":"r"})";
    EXPECT_EQ(server_reads(client_sends(small), 1 << 20), small);
    EXPECT_EQ(server_reads(client_sends(small), 1), small);
    // 40 KB: three records, each cut anywhere; the scratch (1,000 bytes) is smaller than one.
    std::string big(40'000, 'x');
    for (std::size_t i = 0; i < big.size(); i += 7)
        big[i] = static_cast<char>('a' + i % 26);
    EXPECT_EQ(server_reads(client_sends(big), 1), big);
    EXPECT_EQ(server_reads(client_sends(big), 4097), big);
    EXPECT_TRUE(server_out_.empty()); // reading sends nothing
}

TEST_F(TlsChannelTest, WritesAtMostOneRecordAndTheClientReadsItAll)
{
    const std::string big(40'000, 'y');
    std::size_t taken = 0;
    int calls = 0;
    while (taken < big.size()) {
        const std::size_t took = channel_->write(std::string_view(big).substr(taken), server_out_);
        ASSERT_GT(took, 0U) << channel_->error();
        EXPECT_LE(took, 16U * 1024);
        taken += took;
        ++calls;
    }
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(client_reads(server_out_), big);
}

TEST_F(TlsChannelTest, TheClientsCloseNotifyEndsTheStreamCleanly)
{
    SSL_shutdown(client_.get());
    EXPECT_EQ(server_reads(drain(client_out_), 1 << 20, TlsChannel::Status::closed), "");
    // And it stays ended: more input changes nothing.
    EXPECT_EQ(server_reads("x", 1, TlsChannel::Status::closed), "");
}

TEST_F(TlsChannelTest, DataThenCloseNotifyInOneReadGivesTheDataThenClosed)
{
    std::string records = client_sends("bye");
    SSL_shutdown(client_.get());
    records += drain(client_out_);
    EXPECT_EQ(server_reads(records, 1 << 20, TlsChannel::Status::closed), "bye");
}

TEST_F(TlsChannelTest, ATamperedRecordFailsWithOpenSslsReason)
{
    std::string records = client_sends("hello");
    records[records.size() - 3] ^= 0x01; // inside the AEAD tag
    EXPECT_EQ(server_reads(records, 1 << 20, TlsChannel::Status::failed), "");
    EXPECT_FALSE(channel_->error().empty());
}

TEST_F(TlsChannelTest, GarbageInsteadOfARecordFails)
{
    EXPECT_EQ(server_reads("GET / HTTP/1.1\r\n\r\n", 1 << 20, TlsChannel::Status::failed), "");
    EXPECT_FALSE(channel_->error().empty());
}

TEST_F(TlsChannelTest, OurCloseNotifyReachesTheClient)
{
    channel_->close_notify(server_out_);
    ASSERT_FALSE(server_out_.empty());
    EXPECT_EQ(client_reads(server_out_), "");
    EXPECT_EQ(SSL_get_error(client_.get(), 0), SSL_ERROR_ZERO_RETURN);
}

TEST_F(TlsChannelTest, AKeyUpdateIsAnsweredAndTrafficGoesOnBothWays)
{
    ASSERT_EQ(SSL_version(client_.get()), TLS1_3_VERSION);
    ASSERT_EQ(SSL_key_update(client_.get(), SSL_KEY_UPDATE_REQUESTED), 1);
    EXPECT_EQ(server_reads(client_sends("after"), 1 << 20), "after");
    // OpenSSL sends its own KeyUpdate in front of its next record; the client, reading with its
    // new keys, gets the record.
    ASSERT_EQ(channel_->write("reply", server_out_), 5U) << channel_->error();
    EXPECT_EQ(client_reads(server_out_), "reply");
    EXPECT_EQ(server_reads(client_sends("more"), 3), "more");
}

} // namespace tls_channel_test
} // namespace signald
