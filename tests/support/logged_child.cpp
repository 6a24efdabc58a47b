#include "logged_child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <stdexcept>

namespace signald::test {

pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log_path)
{
    // Built before the fork: the child only calls what is safe between fork and exec.
    std::vector<char*> args;
    for (const std::string& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid > 0)
        return pid;
    const int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (out >= 0) {
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
    }
    // Nothing of the test's: a client socket the server inherited would stay open when the test
    // closes its own copy, and the server on the other end would never see it end.
    if (::close_range(3, ~0U, 0) != 0)
        for (int fd = 3; fd < 65536; ++fd)
            ::close(fd);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL); // dies with the test, whatever happens to it
    ::execvp(args[0], args.data());
    ::_exit(127);
}

} // namespace signald::test
