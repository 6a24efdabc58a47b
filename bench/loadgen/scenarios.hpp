#pragma once
// The five scenarios. Each runs to completion on its own io_context, prints its one JSON line
// on stdout and returns the process exit status: 0 clean, 1 violations, 2 could not run.

namespace bench {

struct Options;

int run_fanout(const Options& options);
int run_latency(const Options& options);
int run_idle(const Options& options);
int run_churn(const Options& options);
int run_handshake(const Options& options);

} // namespace bench
