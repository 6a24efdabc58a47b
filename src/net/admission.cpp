#include "signald/net/admission.hpp"

#include <utility>

namespace signald {

Admission::Admission(std::shared_ptr<ConnectionCounts> counts, std::string address)
    : counts_(std::move(counts)),
      entry_(&*counts_->per_address.try_emplace(std::move(address), 0).first)
{
    ++counts_->total;
    ++entry_->second;
}

Admission& Admission::operator=(Admission&& other) noexcept
{
    if (this != &other) {
        release();
        counts_ = std::move(other.counts_);
        entry_ = std::exchange(other.entry_, nullptr);
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
    if (--entry_->second == 0)
        counts_->per_address.erase(counts_->per_address.find(entry_->first));
    counts_.reset();
    entry_ = nullptr;
}

} // namespace signald
