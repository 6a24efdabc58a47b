#include "signald/net/admission.hpp"

namespace signald {

Admission::Admission(std::shared_ptr<ConnectionCounts> counts, std::string address)
    : counts_(std::move(counts)), address_(std::move(address))
{
    ++counts_->total;
    ++counts_->per_address[address_];
}

Admission& Admission::operator=(Admission&& other) noexcept
{
    if (this != &other) {
        release();
        counts_ = std::move(other.counts_);
        address_ = std::move(other.address_);
    }
    return *this;
}

Admission::~Admission()
{
    release();
}

void Admission::release()
{
    if (!counts_)
        return;
    --counts_->total;
    const auto entry = counts_->per_address.find(address_);
    if (entry != counts_->per_address.end() && --entry->second == 0)
        counts_->per_address.erase(entry);
    counts_.reset();
}

} // namespace signald
