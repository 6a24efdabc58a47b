#pragma once
// Starts a server program the way the tests' fixtures need it (redis-server, turnserver): its
// stdout and stderr appended to a log file, none of the test's descriptors inherited, and killed
// with the test whatever happens to it. The fixture waits for it to answer and stops it by PID.

#include <sys/types.h>

#include <string>
#include <vector>

namespace signald::test {

// argv[0] is looked up in PATH. Returns the child's PID; throws std::runtime_error if fork fails.
// A program that cannot be executed exits with 127, which the fixture's start-up wait sees.
pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log_path);

} // namespace signald::test
